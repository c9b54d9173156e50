package dataset

import (
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of JPEG files
	_ "image/png"  // and of PNG files
	"os"
	"runtime"
	"sync"

	"github.com/tgan-dev/tgan/internal/fileio/imageio"
)

// MaxInMemory bounds the bytes a folder dataset decodes up front
// (n x 3 x S x S); larger folders are decoded image by image on Read.
var MaxInMemory int64 = 1 << 30

// Lazy is a folder of image files decoded on demand: Read decodes and
// resizes one file, so folders of any size (30000 CelebA-HQ 1024x1024
// files, 126227 LSUN church images) cost no memory. Open checked every
// file's header, so Read failures are rare; the first one is reported by
// Err, which the Loader checks after every batch.
type Lazy struct {
	name   string
	files  []string
	size   int
	decode func(path string, size int) ([]uint8, error)

	mu  sync.Mutex
	err error
}

// LoadImages opens the PNG and JPEG files under dir (ImageFiles) as Kind
// Images: each image is resized to size x size, squashing non-square ones,
// with PIL's bilinear filter, as torchvision's Resize((S, S)) does in the
// official CelebA-HQ and LSUN pipelines. Nothing is decoded up front but
// every file's header, which must describe an image at least size/2 pixels
// on its shorter side.
func LoadImages(dir string, size int) (*Lazy, error) {
	files, err := ImageFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("images: %w", trimPrefix(err, "folder: "))
	}
	if err := checkHeaders(files, size); err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	return &Lazy{name: string(Images), files: files, size: size, decode: decodeSquash}, nil
}

// checkHeaders reads every file's header, using all CPUs, and reports the
// first file (in order) that is not an image or is too small.
func checkHeaders(files []string, size int) error {
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = checkHeader(files[i], size)
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkHeader(path string, size int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return fmt.Errorf("%s: not a PNG or JPEG image: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > imageio.MaxPixels/cfg.Height {
		return fmt.Errorf("%s: %dx%d pixels: empty or larger than %d pixels", path, cfg.Width, cfg.Height, imageio.MaxPixels)
	}
	if err := checkEnlarge(min(cfg.Width, cfg.Height), size); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// decodeSquash decodes one file into size x size RGB planes, squashed.
func decodeSquash(path string, size int) ([]uint8, error) {
	img, err := imageio.LoadImage(path)
	if err != nil {
		return nil, err
	}
	pix, w, h := imageio.Planar(img)
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("%s: empty image", path)
	}
	return pilResize(pix, 3, h, w, size, size), nil
}

// Len is the number of images.
func (l *Lazy) Len() int { return len(l.files) }

// ImageSize is the side of every image Read returns.
func (l *Lazy) ImageSize() int { return l.size }

// Files lists the image files in index order.
func (l *Lazy) Files() []string { return l.files }

// String describes the dataset, e.g. "images: 30000 files read as 256x256 RGB".
func (l *Lazy) String() string {
	return fmt.Sprintf("%s: %d files read as %dx%d RGB", l.name, len(l.files), l.size, l.size)
}

// Channels is 3.
func (l *Lazy) Channels() int { return 3 }

// Pixels decodes file i into CHW uint8 planes of the dataset's size. A
// failure returns zeros and is reported by Err.
func (l *Lazy) Pixels(i int) []uint8 {
	pix, err := l.decode(l.files[i], l.size)
	if err != nil {
		l.mu.Lock()
		if l.err == nil {
			l.err = fmt.Errorf("%s: %w", l.name, err)
		}
		l.mu.Unlock()
		return make([]uint8, 3*l.size*l.size)
	}
	return pix
}

// Read implements Source: it decodes file i. A failure gives a black image
// and is reported by Err.
func (l *Lazy) Read(i int, flip bool, dst []float32) {
	planesToFloat(l.Pixels(i), l.size, flip, dst)
}

// Err is the first read failure, if any.
func (l *Lazy) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// trimPrefix drops ImageFiles' "folder: " prefix from err's message.
func trimPrefix(err error, prefix string) error {
	if s := err.Error(); len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return fmt.Errorf("%s", s[len(prefix):])
	}
	return err
}
