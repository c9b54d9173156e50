//go:build !noblas

package gmodel

// The two elementwise kernels that dominate attention and MLP time outside
// BLAS, in C so that gcc vectorises them with glibc's libmvec (expf, erff
// on 8 lanes with AVX2; target_clones keeps a plain-x86-64 fallback picked
// at run time). The pure-Go build (-tags noblas) uses kernels_go.go.

/*
#cgo CFLAGS: -O3 -ffast-math
#cgo LDFLAGS: -lmvec -lm
#include <math.h>

__attribute__((target_clones("avx2", "default")))
static void tgan_softmax_rows(float *restrict dst, const float *restrict x, long rows, long n) {
	for (long r = 0; r < rows; r++) {
		const float *xr = x + r * n;
		float *d = dst + r * n;
		float m = xr[0];
		for (long i = 1; i < n; i++) m = xr[i] > m ? xr[i] : m;
		float s = 0;
		for (long i = 0; i < n; i++) { float e = expf(xr[i] - m); d[i] = e; s += e; }
		float inv = 1.0f / s;
		for (long i = 0; i < n; i++) d[i] *= inv;
	}
}

// order 0: gelu(x); 1: g*gelu'(x); 2: g*gelu''(x).
__attribute__((target_clones("avx2", "default")))
static void tgan_gelu(float *restrict dst, const float *restrict x, const float *restrict g, long n, int order) {
	const float r2 = 0.70710678118654752f, rpi = 0.39894228040143268f;
	if (order == 0) {
		for (long i = 0; i < n; i++) dst[i] = 0.5f * x[i] * (1.0f + erff(x[i] * r2));
	} else if (order == 1) {
		for (long i = 0; i < n; i++) {
			float v = x[i];
			dst[i] = g[i] * (0.5f * (1.0f + erff(v * r2)) + v * rpi * expf(-0.5f * v * v));
		}
	} else {
		for (long i = 0; i < n; i++) {
			float v = x[i];
			dst[i] = g[i] * rpi * expf(-0.5f * v * v) * (2.0f - v * v);
		}
	}
}
*/
import "C"

import "unsafe"

// softmaxRows writes the softmax of every n-long row of x into dst.
func softmaxRows(dst, x []float32, n int) {
	rows := len(x) / n
	parallelRows(rows, n, func(lo, hi int) {
		C.tgan_softmax_rows((*C.float)(unsafe.Pointer(&dst[lo*n])), (*C.float)(unsafe.Pointer(&x[lo*n])), C.long(hi-lo), C.long(n))
	})
}

// geluKernel writes gelu(x) (order 0) or g times its order-th derivative.
func geluKernel(dst, x, g []float32, order int) {
	parallelRows(len(x), 8, func(lo, hi int) {
		gp := (*C.float)(nil)
		if g != nil {
			gp = (*C.float)(unsafe.Pointer(&g[lo]))
		}
		C.tgan_gelu((*C.float)(unsafe.Pointer(&dst[lo])), (*C.float)(unsafe.Pointer(&x[lo])), gp, C.long(hi-lo), C.int(order))
	})
}
