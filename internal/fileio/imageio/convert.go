package imageio

import (
	"fmt"
	"image"
	"image/draw"
)

// ToUint8 converts one value of a generated image to a pixel the way the
// official evaluation does: uint8(clamp(x*127.5+127.5, 0, 255)), truncating
// toward zero (no rounding). The multiply and the add are rounded separately
// in float32, as PyTorch does. NaN maps to 0.
func ToUint8(x float32) uint8 {
	v := float32(x*127.5) + 127.5 // explicit conversion: no fused multiply-add
	switch {
	case v != v: // NaN
		return 0
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}

// ToFloat converts a pixel to the training range [-1, 1] exactly as
// torchvision's ToTensor followed by Normalize(0.5, 0.5) does in float32:
// (p/255 - 0.5) / 0.5, which equals p/127.5 - 1 to within one ulp.
func ToFloat(p uint8) float32 {
	return float32(float32(p)/255-0.5) / 0.5
}

// checkShape reports whether len(x) == n*c*h*w with c in {1, 3}.
func checkShape(x []float32, n, c, h, w int) error {
	if n < 0 || h <= 0 || w <= 0 {
		return fmt.Errorf("imageio: bad shape [%d %d %d %d]", n, c, h, w)
	}
	if c != 1 && c != 3 {
		return fmt.Errorf("imageio: %d channels (want 1 or 3)", c)
	}
	if len(x) != n*c*h*w {
		return fmt.Errorf("imageio: %d values for shape [%d %d %d %d] (want %d)", len(x), n, c, h, w, n*c*h*w)
	}
	return nil
}

// ToImage converts one CHW float32 image (c = 1 or 3) to an opaque NRGBA
// image using ToUint8. A single channel is replicated to gray.
func ToImage(x []float32, c, h, w int) (*image.NRGBA, error) {
	if err := checkShape(x, 1, c, h, w); err != nil {
		return nil, err
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for xx := 0; xx < w; xx++ {
			i := y*w + xx
			r := ToUint8(x[i])
			g, b := r, r
			if c == 3 {
				g, b = ToUint8(x[plane+i]), ToUint8(x[2*plane+i])
			}
			row[4*xx], row[4*xx+1], row[4*xx+2], row[4*xx+3] = r, g, b, 255
		}
	}
	return img, nil
}

// Images converts an NCHW float32 batch to n images (see ToImage).
func Images(batch []float32, n, c, h, w int) ([]*image.NRGBA, error) {
	if err := checkShape(batch, n, c, h, w); err != nil {
		return nil, err
	}
	size := c * h * w
	out := make([]*image.NRGBA, n)
	for i := range out {
		img, err := ToImage(batch[i*size:(i+1)*size], c, h, w)
		if err != nil {
			return nil, err
		}
		out[i] = img
	}
	return out, nil
}

// Planar returns the RGB pixels of img as three planes (CHW order: all R,
// then all G, then all B), with the image's width and height. Alpha is
// dropped without compositing (as PIL's convert("RGB") does); images that
// are neither NRGBA nor RGBA are converted with image/draw first.
func Planar(img image.Image) (pix []uint8, w, h int) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	rgba, ok := img.(*image.NRGBA)
	if !ok {
		if r, isRGBA := img.(*image.RGBA); isRGBA {
			rgba = &image.NRGBA{Pix: r.Pix, Stride: r.Stride, Rect: r.Rect}
		} else {
			dst := image.NewRGBA(image.Rect(0, 0, w, h))
			draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
			rgba = &image.NRGBA{Pix: dst.Pix, Stride: dst.Stride, Rect: dst.Rect}
		}
	}
	pix = make([]uint8, 3*w*h)
	plane := w * h
	o := rgba.Rect.Min
	for y := 0; y < h; y++ {
		row := rgba.Pix[rgba.PixOffset(o.X, o.Y+y):]
		for x := 0; x < w; x++ {
			i := y*w + x
			pix[i], pix[plane+i], pix[2*plane+i] = row[4*x], row[4*x+1], row[4*x+2]
		}
	}
	return pix, w, h
}

// ToTensor converts img to a CHW float32 RGB image in [-1, 1] (ToFloat per
// pixel), the input format of the discriminator.
func ToTensor(img image.Image) (x []float32, w, h int) {
	pix, w, h := Planar(img)
	x = make([]float32, len(pix))
	for i, p := range pix {
		x[i] = ToFloat(p)
	}
	return x, w, h
}
