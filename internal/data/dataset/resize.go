package dataset

import "math"

// cropSquare returns the central side x side square of a CHW image, side =
// min(h, w), with torchvision's CenterCrop offset round((h - side)/2)
// (half to even). A square image is returned as is.
func cropSquare(pix []uint8, c, h, w int) ([]uint8, int) {
	if h == w {
		return pix, h
	}
	side := min(h, w)
	top := int(math.RoundToEven(float64(h-side) / 2))
	left := int(math.RoundToEven(float64(w-side) / 2))
	out := make([]uint8, 0, c*side*side)
	for ch := 0; ch < c; ch++ {
		for y := top; y < top+side; y++ {
			row := (ch*h + y) * w
			out = append(out, pix[row+left:row+left+side]...)
		}
	}
	return out, side
}

// taps are the input indices and weights that make one output sample.
type taps struct {
	idx []int
	w   []float32
}

// axisTaps returns the resampling taps of one axis from in to out samples:
// bilinear with pixel centres at i+0.5 and clamped edges when enlarging (as
// PIL and torch's align_corners=False), exact area coverage when shrinking.
func axisTaps(in, out int) []taps {
	t := make([]taps, out)
	scale := float64(in) / float64(out)
	for o := range t {
		if out > in {
			c := (float64(o)+0.5)*scale - 0.5
			i0 := int(math.Floor(c))
			f := float32(c - float64(i0))
			t[o] = taps{[]int{max(i0, 0), min(i0+1, in-1)}, []float32{1 - f, f}}
			continue
		}
		lo, hi := float64(o)*scale, float64(o+1)*scale
		for j := int(lo); j < int(math.Ceil(hi)) && j < in; j++ {
			cover := math.Min(hi, float64(j+1)) - math.Max(lo, float64(j))
			if cover > 1e-9 {
				t[o].idx = append(t[o].idx, j)
				t[o].w = append(t[o].w, float32(cover/scale))
			}
		}
	}
	return t
}

// resize scales c square planes of side in to side out (rows first, then
// columns), rounding to the nearest uint8.
func resize(pix []uint8, c, in, out int) []uint8 {
	if in == out {
		return pix
	}
	tx := axisTaps(in, out)
	rows := make([]float32, c*in*out) // [c, in, out]: columns resampled
	for r := 0; r < c*in; r++ {
		src, dst := pix[r*in:(r+1)*in], rows[r*out:(r+1)*out]
		for o, t := range tx {
			var v float32
			for k, j := range t.idx {
				v += t.w[k] * float32(src[j])
			}
			dst[o] = v
		}
	}
	res := make([]uint8, c*out*out)
	for ch := 0; ch < c; ch++ {
		plane := rows[ch*in*out:]
		for o, t := range tx { // output row o
			dst := res[(ch*out+o)*out : (ch*out+o+1)*out]
			for x := range dst {
				var v float32
				for k, j := range t.idx {
					v += t.w[k] * plane[j*out+x]
				}
				dst[x] = uint8(min(255, max(0, v+0.5)))
			}
		}
	}
	return res
}
