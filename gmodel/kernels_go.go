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
