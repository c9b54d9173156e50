package imageio

import (
	"image"
	"math"
)

// GridOptions lays out a sample grid. The zero value gives a square-ish grid
// with 1-pixel black padding at scale 1.
type GridOptions struct {
	// Cols is the number of tiles per row; 0 means ceil(sqrt(n)).
	Cols int
	// Pad is the padding in pixels between and around tiles; 0 means 1 and
	// a negative value means none.
	Pad int
	// Scale enlarges every image pixel to Scale x Scale output pixels
	// (nearest neighbour) so that tiny samples stay visible; 0 means 1.
	Scale int
}

// layout returns the effective columns, rows, padding and scale for n tiles.
func (o GridOptions) layout(n int) (cols, rows, pad, scale int) {
	cols = o.Cols
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = max(1, min(cols, n))
	rows = (n + cols - 1) / cols
	pad = o.Pad
	switch {
	case pad == 0:
		pad = 1
	case pad < 0:
		pad = 0
	}
	scale = max(1, o.Scale)
	return cols, rows, pad, scale
}

// Grid tiles an NCHW float32 batch (c = 1 or 3, values in about [-1, 1])
// into one image, row-major, converting pixels with ToUint8. Padding is
// opaque black, as torchvision's make_grid with pad_value 0.
func Grid(images []float32, n, c, h, w int, opt GridOptions) (*image.NRGBA, error) {
	tiles, err := Images(images, n, c, h, w)
	if err != nil {
		return nil, err
	}
	cols, rows, pad, s := opt.layout(max(n, 1))
	tw, th := w*s+pad, h*s+pad
	out := image.NewNRGBA(image.Rect(0, 0, cols*tw+pad, rows*th+pad))
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 255
	}
	for i, t := range tiles {
		x0, y0 := pad+(i%cols)*tw, pad+(i/cols)*th
		blit(out, t, x0, y0, s)
	}
	return out, nil
}

// blit copies src into dst at (x0, y0), each pixel enlarged to s x s.
func blit(dst, src *image.NRGBA, x0, y0, s int) {
	b := src.Rect
	for y := 0; y < b.Dy()*s; y++ {
		d := dst.Pix[dst.PixOffset(x0, y0+y):]
		sr := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y/s):]
		for x := 0; x < b.Dx()*s; x++ {
			copy(d[4*x:4*x+4], sr[4*(x/s):4*(x/s)+4])
		}
	}
}
