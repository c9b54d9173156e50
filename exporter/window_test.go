package exporter

import (
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// bicubicPhases are PyTorch's bicubic x2 weights (align_corners=False,
// a = -0.75) for out[2i] (taps i-2..i+1) and out[2i+1] (taps i-1..i+2),
// SPEC-hires 0.5.
var bicubicPhases = [2][4]float64{
	{-0.03515625, 0.26171875, 0.87890625, -0.10546875},
	{-0.10546875, 0.87890625, 0.26171875, -0.03515625},
}

// refUpsample1D is the x2 bicubic of one line with clamped taps.
func refUpsample1D(in []float64) []float64 {
	n := len(in)
	out := make([]float64, 2*n)
	for o := range out {
		i, p := o/2, o%2
		for k, w := range bicubicPhases[p] {
			j := min(max(i-2+p+k, 0), n-1)
			out[o] += w * in[j]
		}
	}
	return out
}

// refFilter1D is updown's 5-tap filter of one line with clamped taps.
func refFilter1D(in []float64) []float64 {
	n := len(in)
	out := make([]float64, n)
	for i := range out {
		for k, w := range UpDownTaps {
			out[i] += float64(w) * in[min(max(i+k-2, 0), n-1)]
		}
	}
	return out
}

// separable applies f along W then H of every channel of tokens [N, C]
// (one image, side x side), returning tokens of the new side.
func separable(tok []float32, side, c int, f func([]float64) []float64) ([]float32, int) {
	var rows [][]float64 // [ch*side + y] -> filtered along x
	for ch := 0; ch < c; ch++ {
		for y := 0; y < side; y++ {
			line := make([]float64, side)
			for x := range line {
				line[x] = float64(tok[(y*side+x)*c+ch])
			}
			rows = append(rows, f(line))
		}
	}
	out := len(rows[0])
	res := make([]float32, out*out*c)
	for ch := 0; ch < c; ch++ {
		for x := 0; x < out; x++ {
			col := make([]float64, side)
			for y := range col {
				col[y] = rows[ch*side+y][x]
			}
			for y, v := range f(col) {
				res[(y*out+x)*c+ch] = float32(v)
			}
		}
	}
	return res, out
}

// TestResampling checks the exported bicubic x2 (ONNX Resize) and updown
// (edge Pad + depthwise convolutions) against SPEC-hires 0.5's fixed
// filters with clamped taps, borders included, at the sides the zoo uses
// (2 exercises a tap clamped twice).
func TestResampling(t *testing.T) {
	env := openEnv(t, 1)
	const c = 3
	for _, side := range []int{2, 4, 8} {
		for _, op := range []string{"bicubic", "updown"} {
			b := newBuilder("resample", model.Weights{})
			n := int64(side * side)
			x := b.g.Input("x", onnx.Batch, n, c)
			var y string
			out, f := int64(4*n), refUpsample1D
			if op == "bicubic" {
				y = b.bicubicUpsample(x, c, side)
			} else {
				y, out, f = b.updown(x, c, side), n, refFilter1D
			}
			b.g.Output(y, "y", onnx.Batch, out, c)
			in := randn(2*int(n)*c, int64(side))
			got, _ := runFile(t, env, &onnx.Model{Graph: b.g}, "r.onnx", in, []int64{2, n, c})
			for img := 0; img < 2; img++ {
				want, _ := separable(in[img*int(n)*c:(img+1)*int(n)*c], side, c, f)
				if e := testkit.RelErr(got[img*len(want):(img+1)*len(want)], want); e > 1e-6 {
					t.Errorf("%s side %d image %d: max rel err %.3g > 1e-6", op, side, img, e)
				}
			}
		}
	}
}
