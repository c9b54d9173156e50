//go:build noblas

package gmodel

import "math"

// Pure-Go versions of kernels_c.go for the build without cgo libraries.

// softmaxRows writes the softmax of every n-long row of x into dst.
func softmaxRows(dst, x []float32, n int) {
	parallelRows(len(x)/n, n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			softmaxRow(dst[r*n:(r+1)*n], x[r*n:(r+1)*n])
		}
	})
}

// geluKernel writes gelu(x) (order 0) or g times its order-th derivative.
func geluKernel(dst, x, g []float32, order int) {
	parallelRows(len(x), 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			switch order {
			case 0:
				dst[i] = float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
			case 1:
				d1, _ := geluDeriv(v)
				dst[i] = float32(d1) * g[i]
			default:
				_, d2 := geluDeriv(v)
				dst[i] = float32(d2) * g[i]
			}
		}
	})
}

// softmaxRow is the softmax of one row, with a float32 exp.
func softmaxRow(dst, x []float32) {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := expNeg(v - m)
		dst[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range dst {
		dst[i] *= inv
	}
}

// expNeg is exp(x) for x <= 0 in float32 (softmax after subtracting the row
// maximum), about 2 ulp accurate: x = n*ln2 + r with |r| <= ln2/2, e^r by a
// degree-6 Taylor polynomial, 2^n by exponent bits. Four times faster than
// math.Exp on float64, and softmax is the largest non-BLAS cost of attention.
func expNeg(x float32) float32 {
	if x < -87 {
		return 0
	}
	t := x*1.44269504088896341 + 0.5
	n := float32(int32(t)) // truncation; floor for negative t below
	if n > t {
		n--
	}
	r := x - n*0.693359375 + n*2.12194440e-4 // ln2 split in two for accuracy
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// geluDeriv returns gelu'(v) and gelu”(v).
func geluDeriv(v float64) (d1, d2 float64) {
	pdf := math.Exp(-0.5*v*v) / math.Sqrt(2*math.Pi)
	return 0.5*(1+math.Erf(v/math.Sqrt2)) + v*pdf, pdf * (2 - v*v)
}
