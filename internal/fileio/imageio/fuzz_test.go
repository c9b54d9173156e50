package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadImage feeds arbitrary bytes to LoadImage (the image-folder
// decoder): errors are fine, panics and huge allocations from a forged
// header are not.
func FuzzLoadImage(f *testing.F) {
	img := image.NewNRGBA(image.Rect(0, 0, 6, 4))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 5)
	}
	img.Set(0, 0, color.NRGBA{R: 255, A: 128})
	var p, j bytes.Buffer
	png.Encode(&p, img)
	jpeg.Encode(&j, img, nil)
	f.Add(p.Bytes())
	f.Add(j.Bytes())
	f.Add(p.Bytes()[:p.Len()/2])
	f.Add(j.Bytes()[:j.Len()/2])
	dir := f.TempDir() // one file per worker process, rewritten per input
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.png")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		im, err := LoadImage(path)
		if err != nil {
			return
		}
		pix, w, h := Planar(im)
		if len(pix) != 3*w*h {
			t.Fatalf("Planar: %d bytes for %dx%d", len(pix), w, h)
		}
	})
}
