package model

// FilterBank is Celeba256_dis's buffer Hz_fbank [4, 43] (row-major): the
// four wavelet bands of the "filter" augmentation ported from StyleGAN2-ADA
// (SPEC-hires 5.5). Row 0 is a low-pass filter, rows 1-3 band-passes of
// rising frequency. It is a fixed function of the sym2 wavelet, so tgan
// computes it instead of trusting a file: pth import compares a file's
// buffer with it and export writes it.
func FilterBank() []float32 {
	hLo := []float64{-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025}
	hHi := make([]float64, len(hLo))
	for n, v := range hLo {
		hHi[n] = v
		if n%2 == 1 {
			hHi[n] = -v
		}
	}
	lo2, hi2 := halfAutoConv(hLo), halfAutoConv(hHi)
	rows := [][]float64{{1}, {0}, {0}, {0}}
	for i := 1; i < len(rows); i++ {
		for r, row := range rows {
			rows[r] = convolve(upsampleZeros(row), lo2)
		}
		start := (len(rows[i]) - len(hi2)) / 2
		for k, v := range hi2 {
			rows[i][start+k] += v
		}
	}
	out := make([]float32, 0, len(rows)*len(rows[0]))
	for _, row := range rows {
		for _, v := range row {
			out = append(out, float32(v))
		}
	}
	return out
}

// FilterBankShape is the shape of FilterBank.
var FilterBankShape = []int{4, 43}

// halfAutoConv is (h * reversed h) / 2, full convolution.
func halfAutoConv(h []float64) []float64 {
	rev := make([]float64, len(h))
	for i, v := range h {
		rev[len(h)-1-i] = v
	}
	c := convolve(h, rev)
	for i := range c {
		c[i] /= 2
	}
	return c
}

// convolve is the full 1-D convolution of a and b (length len(a)+len(b)-1).
func convolve(a, b []float64) []float64 {
	out := make([]float64, len(a)+len(b)-1)
	for i, x := range a {
		for j, y := range b {
			out[i+j] += x * y
		}
	}
	return out
}

// upsampleZeros inserts a zero between consecutive taps (L -> 2L-1).
func upsampleZeros(a []float64) []float64 {
	out := make([]float64, 2*len(a)-1)
	for i, v := range a {
		out[2*i] = v
	}
	return out
}
