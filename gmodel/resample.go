package gmodel

import "math"

// Constant matrices of the fixed linear maps of the 256 models (applied
// along one axis at a time with axisMap). Built in float64 from PyTorch's
// definitions, rounded once to float32.

// cubicA is PyTorch's bicubic coefficient (aten UpSample.h).
const cubicA = -0.75

func cubic1(x float64) float64 { return ((cubicA+2)*x-(cubicA+3))*x*x + 1 }
func cubic2(x float64) float64 { return ((cubicA*x-5*cubicA)*x+8*cubicA)*x - 4*cubicA }

// bicubicMatrix is F.interpolate(mode='bicubic', scale_factor=f,
// align_corners=False) along one axis of length n: [f*n, n] in float64.
// Output o reads source s = (o + 0.5)/f - 0.5 with taps floor(s)-1 ...
// floor(s)+2, each index clamped into [0, n-1].
func bicubicMatrix(n, f int) []float64 {
	m := make([]float64, f*n*n)
	for o := 0; o < f*n; o++ {
		s := (float64(o)+0.5)/float64(f) - 0.5
		i0 := math.Floor(s)
		t := s - i0
		w := [4]float64{cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)}
		for k, wk := range w {
			i := min(max(int(i0)+k-1, 0), n-1)
			m[o*n+i] += wk
		}
	}
	return m
}

// bicubic2Matrix is the x2 bicubic upsampling along an axis of length n.
func bicubic2Matrix(n int) []float32 { return to32(bicubicMatrix(n, 2)) }

// updownMatrix is Celeba256_gen's updown along an axis of length n:
// bicubic x4 followed by 4-wide average pooling, folded into one [n, n]
// matrix (SPEC-hires 0.5: a 5-tap filter with edge replication).
func updownMatrix(n int) []float32 {
	up := bicubicMatrix(n, 4)
	m := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < 4; k++ {
			row := up[(4*i+k)*n : (4*i+k+1)*n]
			for j, v := range row {
				m[i*n+j] += v / 4
			}
		}
	}
	return to32(m)
}

// unfoldMatrix is the im2col of a convolution along one axis of length n
// (kernel k, stride s, zero padding pad): [o*k, n] with o output positions;
// row q*k+j selects input q*s+j-pad, or nothing where that is padding.
func unfoldMatrix(n, k, s, pad int) ([]float32, int) {
	o := (n+2*pad-k)/s + 1
	m := make([]float32, o*k*n)
	for q := 0; q < o; q++ {
		for j := 0; j < k; j++ {
			if i := q*s + j - pad; i >= 0 && i < n {
				m[(q*k+j)*n+i] = 1
			}
		}
	}
	return m, o
}

// filled returns n copies of v.
func filled(n int, v float32) []float32 {
	m := make([]float32, n)
	for i := range m {
		m[i] = v
	}
	return m
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
