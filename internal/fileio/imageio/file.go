package imageio

import (
	"fmt"
	"image"
	_ "image/jpeg" // register JPEG for LoadImage
	"image/png"
	"io"
	"os"
	"path/filepath"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
)

// SavePNG encodes img as PNG at path atomically: it writes a temporary file
// in the same directory and renames it over path, so readers never see a
// partial file.
func SavePNG(path string, img image.Image) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	return nil
}

// FileName is the name of the i-th file written by SaveEach: "000042.png".
func FileName(i int) string {
	return fmt.Sprintf("%06d.png", i)
}

// SaveEach writes imgs into dir (created if needed) as FileName(first),
// FileName(first+1), ...; first lets successive batches continue the
// numbering.
func SaveEach(dir string, first int, imgs ...image.Image) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("imageio: %w", err)
	}
	for i, img := range imgs {
		if err := SavePNG(filepath.Join(dir, FileName(first+i)), img); err != nil {
			return err
		}
	}
	return nil
}

// MaxPixels bounds the width x height LoadImage accepts (64 Mpixel), so a
// forged header cannot make the decoder allocate gigabytes.
const MaxPixels = 1 << 26

// LoadImage decodes a PNG or JPEG file of at most MaxPixels pixels.
func LoadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("imageio: decode %s: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPixels/cfg.Height {
		return nil, fmt.Errorf("imageio: decode %s: %dx%d pixels: empty or larger than %d pixels", path, cfg.Width, cfg.Height, MaxPixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("imageio: %w", err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("imageio: decode %s: %w", path, err)
	}
	return img, nil
}
