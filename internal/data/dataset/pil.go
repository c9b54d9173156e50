package dataset

import (
	"fmt"
	"math"
)

// PIL's resampling, as torchvision's Resize runs it on a PIL image
// (Image.resize with BILINEAR, Pillow's Resample.c): a triangle filter
// whose support grows with the downscale factor (antialiasing), weights
// normalised per output sample and rounded to 22-bit fixed point, the
// horizontal pass first into an 8-bit intermediate image, then the
// vertical pass, each rounding half up and clamping to 0..255. The
// official STL-10 (Resize(48)), CelebA-HQ and LSUN (Resize((256, 256)))
// pipelines resize this way; resize (area averaging) serves the older
// kinds and differs from it when shrinking (2:1 weights 1/2, 1/2 there,
// 1/8, 3/8, 3/8, 1/8 here).

// pilPrecision is Pillow's PRECISION_BITS for 8-bit images (32 - 8 - 2).
const pilPrecision = 22

// pilTaps are one output sample's first input index and fixed-point weights.
type pilTaps struct {
	first int
	k     []int32
}

// pilCoeffs follows Pillow's precompute_coeffs and normalize_coeffs_8bpc
// for the bilinear filter (support 1) from in to out samples.
func pilCoeffs(in, out int) []pilTaps {
	scale := float64(in) / float64(out)
	filterScale := math.Max(scale, 1)
	support := filterScale // bilinear support 1, widened when shrinking
	taps := make([]pilTaps, out)
	for o := range taps {
		center := (float64(o) + 0.5) * scale
		lo := max(int(center-support+0.5), 0) // C's (int) truncates like Go's
		hi := min(int(center+support+0.5), in)
		w := make([]float64, hi-lo)
		var sum float64
		for x := range w {
			w[x] = triangle((float64(x+lo) - center + 0.5) / filterScale)
			sum += w[x]
		}
		k := make([]int32, len(w))
		for x, v := range w {
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<pilPrecision))
			} else {
				k[x] = int32(0.5 + v*(1<<pilPrecision))
			}
		}
		taps[o] = pilTaps{lo, k}
	}
	return taps
}

// triangle is Pillow's bilinear_filter.
func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// pilClip is Pillow's clip8 of a fixed-point accumulator.
func pilClip(ss int32) uint8 {
	return uint8(min(255, max(0, ss>>pilPrecision)))
}

// pilResize resizes c planes of h x w pixels to oh x ow as
// PIL.Image.resize((ow, oh), BILINEAR) does.
func pilResize(pix []uint8, c, h, w, oh, ow int) []uint8 {
	if len(pix) != c*h*w {
		panic(fmt.Sprintf("dataset: pilResize of %d bytes as %dx%dx%d", len(pix), c, h, w))
	}
	if ow != w {
		pix, w = pilPass(pix, c*h, w, 1, ow), ow
	}
	if oh != h {
		out := make([]uint8, c*oh*w)
		for ch := 0; ch < c; ch++ {
			copy(out[ch*oh*w:], pilPass(pix[ch*h*w:(ch+1)*h*w], w, h, w, oh))
		}
		pix = out
	}
	return pix
}

// pilPass resamples lines lines of n samples (consecutive samples stride
// apart; a line starts n*stride after the previous when stride is 1, one
// after it otherwise) to out samples each.
func pilPass(src []uint8, lines, n, stride, out int) []uint8 {
	taps := pilCoeffs(n, out)
	dst := make([]uint8, lines*out)
	for l := 0; l < lines; l++ {
		base, dbase, dstride := l*n, l*out, 1
		if stride != 1 { // columns of a plane
			base, dbase, dstride = l, l, lines
		}
		for o, t := range taps {
			ss := int32(1) << (pilPrecision - 1)
			for j, k := range t.k {
				ss += int32(src[base+(t.first+j)*stride]) * k
			}
			dst[dbase+o*dstride] = pilClip(ss)
		}
	}
	return dst
}
