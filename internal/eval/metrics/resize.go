package metrics

import "fmt"

// ResizeBilinear resizes c planes of an h x w image (CHW float32) to
// oh x ow exactly as PyTorch's F.interpolate(mode="bilinear",
// align_corners=False, antialias=False) does on the CPU in float32 (the
// resize inside pytorch-fid's InceptionV3): source coordinate
// (dst+0.5)*in/out-0.5 clamped at 0, the two nearest pixels weighted by
// distance, rows blended after columns. No antialiasing: shrinking
// samples, it does not average areas.
func ResizeBilinear(dst, src []float32, c, h, w, oh, ow int) error {
	if len(src) != c*h*w || len(dst) != c*oh*ow || h <= 0 || w <= 0 || oh <= 0 || ow <= 0 {
		return fmt.Errorf("resize: %d values for %dx%dx%d, %d for %dx%dx%d", len(src), c, h, w, len(dst), c, oh, ow)
	}
	ys := bilinearTaps(h, oh)
	xs := bilinearTaps(w, ow)
	for ch := 0; ch < c; ch++ {
		in := src[ch*h*w : (ch+1)*h*w]
		out := dst[ch*oh*ow : (ch+1)*oh*ow]
		for oy, ty := range ys {
			r0, r1 := in[ty.i0*w:(ty.i0+1)*w], in[ty.i1*w:(ty.i1+1)*w]
			for ox, tx := range xs {
				top := tx.l0*r0[tx.i0] + tx.l1*r0[tx.i1]
				bottom := tx.l0*r1[tx.i0] + tx.l1*r1[tx.i1]
				out[oy*ow+ox] = ty.l0*top + ty.l1*bottom
			}
		}
	}
	return nil
}

// tap is one output coordinate's two source indices and weights.
type tap struct {
	i0, i1 int
	l0, l1 float32
}

// bilinearTaps follows ATen's area_pixel_compute_source_index and
// upsample_bilinear2d (float32 arithmetic).
func bilinearTaps(in, out int) []tap {
	scale := float32(in) / float32(out)
	taps := make([]tap, out)
	for o := range taps {
		src := scale*(float32(o)+0.5) - 0.5
		if src < 0 {
			src = 0
		}
		i0 := int(src)
		step := 0
		if i0 < in-1 {
			step = 1
		}
		l1 := src - float32(i0)
		taps[o] = tap{i0: i0, i1: i0 + step, l0: 1 - l1, l1: l1}
	}
	return taps
}
