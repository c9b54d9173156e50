package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tgan-dev/tgan/internal/fileio/imageio"
)

// Kind names a dataset format accepted by Open.
type Kind string

// The dataset kinds.
const (
	// CIFAR10 is a folder of the official binary batches data_batch_1.bin ..
	// data_batch_5.bin (whichever exist), or one such file.
	CIFAR10 Kind = "cifar10"
	// FashionMNIST is a gzip'd or plain IDX image file (or a folder holding
	// train-images-idx3-ubyte[.gz]).
	FashionMNIST Kind = "fashion-mnist"
	// MNIST is the same format as FashionMNIST.
	MNIST Kind = "mnist"
	// Folder is a directory searched recursively for PNG and JPEG files,
	// each center-cropped to a square and resized (resize); read lazily
	// when the decoded images would exceed MaxInMemory.
	Folder Kind = "folder"
	// Images is a directory of PNG and JPEG files read lazily, each
	// squashed to S x S with PIL's bilinear filter as the official
	// CelebA-HQ and LSUN pipelines do (Resize((S, S))).
	Images Kind = "images"
	// STL10Kind is the binary STL-10 (stl10_binary/train_X.bin and
	// unlabeled_X.bin), read lazily and resized as torchvision's Resize(S).
	// A folder path gives the official split train+unlabeled; a path to
	// train_X.bin or unlabeled_X.bin gives that split alone.
	STL10Kind Kind = "stl10"
)

// Kinds lists the kinds Open accepts.
func Kinds() []Kind { return []Kind{CIFAR10, FashionMNIST, MNIST, Folder, Images, STL10Kind} }

// DefaultFashionMNIST is where Debian's dataset-fashion-mnist package puts
// the training images.
const DefaultFashionMNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

// DefaultPath returns the path Open uses for kind when given none ("" when
// the kind has no default).
func DefaultPath(kind Kind) string {
	if kind == FashionMNIST {
		return DefaultFashionMNIST
	}
	return ""
}

// Source is a dataset of square RGB images of one size.
type Source interface {
	// Len is the number of images.
	Len() int
	// ImageSize is the side S of every image.
	ImageSize() int
	// Read writes image i into dst (len 3*S*S) as float32 CHW in [-1, 1],
	// mirrored left-right when flip is set.
	Read(i int, flip bool, dst []float32)
}

// Open loads the dataset of the given kind at path (DefaultPath(kind) when
// path is empty), with every image brought to imageSize x imageSize.
func Open(kind, path string, imageSize int) (Source, error) {
	if imageSize <= 0 || imageSize > 4096 {
		return nil, fmt.Errorf("dataset: image size %d out of range 1..4096", imageSize)
	}
	k := Kind(kind)
	if !slices.Contains(Kinds(), k) {
		return nil, fmt.Errorf("dataset: unknown kind %q (want one of %v)", kind, Kinds())
	}
	if path == "" {
		path = DefaultPath(k)
	}
	if path == "" {
		return nil, fmt.Errorf("%s: no dataset path given", kind)
	}
	switch k {
	case CIFAR10:
		return source(LoadCIFAR10(path, imageSize))
	case FashionMNIST, MNIST:
		return source(LoadIDX(k, path, imageSize))
	case Images:
		return lazySource(LoadImages(path, imageSize))
	case STL10Kind:
		return openSTL10(path, imageSize)
	default:
		return openFolder(path, imageSize)
	}
}

// lazySource keeps a failed open from becoming a non-nil Source holding nil.
func lazySource(l *Lazy, err error) (Source, error) {
	if err != nil {
		return nil, err
	}
	return l, nil
}

// openSTL10 opens a folder as train+unlabeled, or one _X.bin file as its
// split.
func openSTL10(path string, size int) (Source, error) {
	split := STLTrainUnlabeled
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("stl10: %w", err)
	} else if !st.IsDir() {
		switch filepath.Base(path) {
		case "train_X.bin":
			split = STLTrain
		case "unlabeled_X.bin":
			split = STLUnlabeled
		default:
			return nil, fmt.Errorf("stl10: %s: want the stl10_binary folder, train_X.bin or unlabeled_X.bin", path)
		}
		path = filepath.Dir(path)
	}
	s, err := OpenSTL10(path, split, size)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// source keeps a failed load from becoming a non-nil Source holding nil.
func source(m *Memory, err error) (Source, error) {
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Memory is a Source held in memory as uint8, already cropped and resized.
type Memory struct {
	name     string
	pix      []uint8 // [n, channels, size, size]
	channels int     // 1 (gray, replicated when read) or 3
	size     int
	lut      *[256]float32
}

// NewMemory returns an empty dataset of images with the given number of
// channels (1 or 3) and side; name prefixes error messages and String.
func NewMemory(name string, channels, size int) *Memory {
	if channels != 1 && channels != 3 {
		panic(fmt.Sprintf("dataset: %d channels (want 1 or 3)", channels))
	}
	return &Memory{name: name, channels: channels, size: size, lut: &floatLUT}
}

// Add appends one CHW uint8 image of h x w pixels and the Memory's channel
// count, center-cropping it to a square and resizing it to the Memory's size.
func (m *Memory) Add(pix []uint8, h, w int) error {
	if h <= 0 || w <= 0 || len(pix) != m.channels*h*w {
		return fmt.Errorf("%s: image %d: %d bytes for %dx%dx%d", m.name, m.Len(), len(pix), m.channels, h, w)
	}
	pix, side := cropSquare(pix, m.channels, h, w)
	m.pix = append(m.pix, resize(pix, m.channels, side, m.size)...)
	return nil
}

// Len is the number of images.
func (m *Memory) Len() int { return len(m.pix) / (m.channels * m.size * m.size) }

// ImageSize is the side of every image.
func (m *Memory) ImageSize() int { return m.size }

// Channels is the number of stored channels: 1 for gray datasets, else 3.
func (m *Memory) Channels() int { return m.channels }

// Pixels returns image i as stored (CHW uint8, Channels() planes); it
// aliases the dataset.
func (m *Memory) Pixels(i int) []uint8 {
	n := m.channels * m.size * m.size
	return m.pix[i*n : (i+1)*n : (i+1)*n]
}

// String describes the dataset, e.g. "cifar10: 50000 images 32x32 RGB".
func (m *Memory) String() string {
	color := "RGB"
	if m.channels == 1 {
		color = "gray"
	}
	return fmt.Sprintf("%s: %d images %dx%d %s", m.name, m.Len(), m.size, m.size, color)
}

// Read implements Source. It panics if i is out of range or dst has the
// wrong length.
func (m *Memory) Read(i int, flip bool, dst []float32) {
	s := m.size
	if len(dst) != 3*s*s {
		panic(fmt.Sprintf("dataset: Read into %d values, want %d", len(dst), 3*s*s))
	}
	src := m.Pixels(i)
	for c := 0; c < 3; c++ {
		plane := src[min(c, m.channels-1)*s*s:]
		out := dst[c*s*s : (c+1)*s*s]
		for y := 0; y < s; y++ {
			row, o := plane[y*s:y*s+s], out[y*s:y*s+s]
			if flip {
				for x, p := range row {
					o[s-1-x] = m.lut[p]
				}
				continue
			}
			for x, p := range row {
				o[x] = m.lut[p]
			}
		}
	}
}

// floatLUT maps a pixel to its training value (imageio.ToFloat).
var floatLUT = func() (t [256]float32) {
	for i := range t {
		t[i] = imageio.ToFloat(uint8(i))
	}
	return t
}()
