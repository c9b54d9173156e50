package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// STL-10 binary format (cs.stanford.edu/~acoates/stl10): tightly packed
// uint8 images of 3x96x96, one channel at a time (R, G, B), each channel in
// column-major order: byte c*96*96 + x*96 + y is pixel (row y, column x).
const (
	stlSide   = 96
	stlRecord = 3 * stlSide * stlSide
	// STLDir is the folder torchvision's STL10 extracts into.
	STLDir = "stl10_binary"
)

// STL-10 splits. TransGAN trains on STLTrainUnlabeled (train first, as
// torchvision concatenates them).
const (
	STLTrain          = "train"
	STLUnlabeled      = "unlabeled"
	STLTrainUnlabeled = "train+unlabeled"
)

// stlFiles maps a split to its image files, in torchvision's order.
var stlFiles = map[string][]string{
	STLTrain:          {"train_X.bin"},
	STLUnlabeled:      {"unlabeled_X.bin"},
	STLTrainUnlabeled: {"train_X.bin", "unlabeled_X.bin"},
}

// STL10 is an STL-10 split read from disk on demand: Read fetches one
// 27648-byte record by offset and resizes it as torchvision's Resize(S) does
// on a PIL image (pilResize), so 105000 images cost no memory. Records are
// not cached: the Loader reads each image once per epoch.
type STL10 struct {
	files []*os.File
	names []string
	first []int // index of each file's first image; first[len] = Len
	size  int

	mu  sync.Mutex
	err error // first read failure, reported by Err
}

// OpenSTL10 opens split (STLTrain, STLUnlabeled or STLTrainUnlabeled) of
// the binary STL-10 under path, the stl10_binary folder or the folder that
// holds it, with every image brought to size x size. Each file must hold a
// positive whole number of records.
func OpenSTL10(path, split string, size int) (*STL10, error) {
	names, ok := stlFiles[split]
	if !ok {
		return nil, fmt.Errorf("stl10: unknown split %q (want %s, %s or %s)", split, STLTrain, STLUnlabeled, STLTrainUnlabeled)
	}
	if err := checkEnlarge(stlSide, size); err != nil {
		return nil, fmt.Errorf("stl10: %s: %w", path, err)
	}
	if st, err := os.Stat(filepath.Join(path, STLDir)); err == nil && st.IsDir() {
		path = filepath.Join(path, STLDir)
	}
	s := &STL10{size: size, first: []int{0}}
	for _, name := range names {
		if err := s.add(filepath.Join(path, name)); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// add opens one image file and checks its length.
func (s *STL10) add(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("stl10: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stl10: %w", err)
	}
	n := st.Size()
	if n == 0 || n%stlRecord != 0 {
		f.Close()
		return fmt.Errorf("stl10: %s: %d bytes is not a positive whole number of 3x96x96 images (%d bytes each; truncated or not an STL-10 _X.bin file?)", path, n, stlRecord)
	}
	s.files, s.names = append(s.files, f), append(s.names, path)
	s.first = append(s.first, s.first[len(s.first)-1]+int(n/stlRecord))
	return nil
}

// Close closes the files.
func (s *STL10) Close() error {
	for _, f := range s.files {
		f.Close()
	}
	return nil
}

// Len is the number of images.
func (s *STL10) Len() int { return s.first[len(s.first)-1] }

// ImageSize is the side of every image Read returns.
func (s *STL10) ImageSize() int { return s.size }

// String describes the dataset, e.g. "stl10: 105000 images 96x96 RGB, read as 48x48".
func (s *STL10) String() string {
	return fmt.Sprintf("stl10: %d images %dx%d RGB, read as %dx%d", s.Len(), stlSide, stlSide, s.size, s.size)
}

// Channels is 3.
func (s *STL10) Channels() int { return 3 }

// Pixels returns image i as CHW row-major uint8 planes, resized. A read
// failure returns zeros and is reported by Err.
func (s *STL10) Pixels(i int) []uint8 {
	pix, err := s.load(i)
	if err != nil {
		s.fail(err)
		return make([]uint8, 3*s.size*s.size)
	}
	return pix
}

// load reads and resizes image i.
func (s *STL10) load(i int) ([]uint8, error) {
	if i < 0 || i >= s.Len() {
		panic(fmt.Sprintf("stl10: image %d of %d", i, s.Len()))
	}
	k := 0
	for i >= s.first[k+1] {
		k++
	}
	rec := make([]uint8, stlRecord)
	if _, err := s.files[k].ReadAt(rec, int64(i-s.first[k])*stlRecord); err != nil {
		return nil, fmt.Errorf("stl10: %s: image %d: %w", s.names[k], i-s.first[k], err)
	}
	pix := make([]uint8, stlRecord)
	for c := 0; c < 3; c++ {
		plane, out := rec[c*stlSide*stlSide:], pix[c*stlSide*stlSide:]
		for x := 0; x < stlSide; x++ { // column-major -> row-major
			for y := 0; y < stlSide; y++ {
				out[y*stlSide+x] = plane[x*stlSide+y]
			}
		}
	}
	return pilResize(pix, 3, stlSide, stlSide, s.size, s.size), nil
}

// Read implements Source. A read failure leaves dst zero and is reported
// by Err (the Loader checks it after every batch).
func (s *STL10) Read(i int, flip bool, dst []float32) {
	pix, err := s.load(i)
	if err != nil {
		s.fail(err)
		clear(dst)
		return
	}
	planesToFloat(pix, s.size, flip, dst)
}

// Err is the first read failure, if any.
func (s *STL10) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *STL10) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// planesToFloat writes 3 uint8 planes of side s into dst as training
// values, mirrored left-right when flip is set.
func planesToFloat(pix []uint8, s int, flip bool, dst []float32) {
	if len(dst) != 3*s*s {
		panic(fmt.Sprintf("dataset: Read into %d values, want %d", len(dst), 3*s*s))
	}
	for r := 0; r < 3*s; r++ { // rows of all planes
		row, o := pix[r*s:(r+1)*s], dst[r*s:(r+1)*s]
		for x, p := range row {
			if flip {
				o[s-1-x] = floatLUT[p]
			} else {
				o[x] = floatLUT[p]
			}
		}
	}
}

// MaxEnlarge is how much a dataset's images may be enlarged to the model's
// size: more means the wrong dataset for the model (a 256x256 model on
// 32x32 CIFAR-10 would also hold 10 GB of enlarged images).
const MaxEnlarge = 2

// checkEnlarge refuses to enlarge images of side native to size by more
// than MaxEnlarge.
func checkEnlarge(native, size int) error {
	if size > MaxEnlarge*native {
		return fmt.Errorf("images are %dx%d, too small for a %dx%d model (enlarging more than %dx; use a dataset of at least %dx%d images or a smaller model)",
			native, native, size, size, MaxEnlarge, (size+MaxEnlarge-1)/MaxEnlarge, (size+MaxEnlarge-1)/MaxEnlarge)
	}
	return nil
}
