package augment

import (
	"fmt"
	"math"
	"math/rand"
	"sync"

	"github.com/tgan-dev/tgan/model"
)

// HueProb is the probability that a sample's hue is rotated (ADA hue with
// TransGAN's fixed p).
const HueProb = 0.5

// Hue is the sampled "hue" operation: sample b's RGB vector p (in the
// [-1, 1] data space) becomes R(Theta[b]) p, the rotation by Theta[b] about
// the grey axis (1, 1, 1)/sqrt(3).
type Hue struct {
	Theta []float32 // U(-pi, pi), or 0 for samples left alone
}

// sampleHue draws every sample's angle, then every sample's gate, as ADA
// does.
func sampleHue(b int, rng *rand.Rand) *Hue {
	o := &Hue{Theta: make([]float32, b)}
	for i := range o.Theta {
		o.Theta[i] = float32((rng.Float64()*2 - 1) * math.Pi)
	}
	for i := range o.Theta {
		if rng.Float64() >= HueProb {
			o.Theta[i] = 0
		}
	}
	return o
}

// Operation is OpHue.
func (o *Hue) Operation() Op { return OpHue }

// Matrix returns sample b's 3x3 rotation, row-major: R = cos I +
// (1 - cos) u u^T + sin [u]x with u = (1, 1, 1)/sqrt(3).
func (o *Hue) Matrix(b int) [9]float32 {
	th := float64(o.Theta[b])
	c, s := math.Cos(th), math.Sin(th)
	d := c + (1-c)/3
	m := (1-c)/3 - s/math.Sqrt(3)
	p := (1-c)/3 + s/math.Sqrt(3)
	return [9]float32{
		float32(d), float32(m), float32(p),
		float32(p), float32(d), float32(m),
		float32(m), float32(p), float32(d),
	}
}

func (o *Hue) apply(x, _ []float32, b, c, h, w int, _ bool) {
	rotate(x, o.Matrix(b), c, h*w, false)
}

// transpose: the adjoint of a rotation is its transpose.
func (o *Hue) transpose(g, _ []float32, b, c, h, w int) {
	rotate(g, o.Matrix(b), c, h*w, true)
}

// rotate sets every pixel's channel vector p to m p (m^T p when trans).
func rotate(x []float32, m [9]float32, c, hw int, trans bool) {
	if c != 3 {
		panic(fmt.Sprintf("augment: hue needs 3 channels, got %d", c))
	}
	if trans {
		m = [9]float32{m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]}
	}
	r, g, bl := x[:hw], x[hw:2*hw], x[2*hw:3*hw]
	for i := range r {
		p0, p1, p2 := r[i], g[i], bl[i]
		r[i] = m[0]*p0 + m[1]*p1 + m[2]*p2
		g[i] = m[3]*p0 + m[4]*p1 + m[5]*p2
		bl[i] = m[6]*p0 + m[7]*p1 + m[8]*p2
	}
}

// Filter constants (ADA's image-space filtering with TransGAN's fixed
// probability): each of the 4 bands is rescaled with probability
// FilterProb by 2^N(0, 1); FilterPad pixels are reflected on every side.
const (
	FilterProb = 0.25
	FilterTaps = 43
	FilterPad  = FilterTaps / 2
)

// filterPower is ADA's expected power per band, (10, 1, 1, 1)/13.
var filterPower = [4]float64{10.0 / 13, 1.0 / 13, 1.0 / 13, 1.0 / 13}

// Filter is the sampled "filter" operation: sample b is reflect-padded by
// FilterPad pixels and correlated along W, then along H, with the 43-tap
// kernel Kernel(b) = Gain[b] . model.FilterBank() (rows are symmetric, so
// correlation is convolution).
type Filter struct {
	Gain [][4]float32 // per-sample band gains g
}

// filterBank is model.FilterBank(), computed once.
var filterBank = sync.OnceValue(model.FilterBank)

// sampleFilter draws, for band 0..3 in turn, every sample's 2^N(0,1)
// factor, then every sample's gate, and folds them into the gains as ADA
// does: t = ones with t[i] = factor, t /= sqrt(sum(power t^2)), g *= t.
func sampleFilter(b int, rng *rand.Rand) *Filter {
	g := make([][4]float64, b)
	for i := range g {
		g[i] = [4]float64{1, 1, 1, 1}
	}
	f := make([]float64, b)
	for band := 0; band < 4; band++ {
		for i := range f {
			f[i] = math.Exp2(rng.NormFloat64())
		}
		for i := range f {
			if rng.Float64() >= FilterProb {
				f[i] = 1
			}
		}
		for i := range g {
			t := [4]float64{1, 1, 1, 1}
			t[band] = f[i]
			var pw float64
			for j, v := range t {
				pw += filterPower[j] * v * v
			}
			for j := range t {
				g[i][j] *= t[j] / math.Sqrt(pw)
			}
		}
	}
	o := &Filter{Gain: make([][4]float32, b)}
	for i, gi := range g {
		for j, v := range gi {
			o.Gain[i][j] = float32(v)
		}
	}
	return o
}

// Operation is OpFilter.
func (o *Filter) Operation() Op { return OpFilter }

// Kernel returns sample b's 43 taps: sum over bands of Gain[b][i] times row
// i of model.FilterBank().
func (o *Filter) Kernel(b int) []float32 {
	bank := filterBank()
	k := make([]float32, FilterTaps)
	for j := range k {
		var v float32
		for i := 0; i < 4; i++ {
			v += o.Gain[b][i] * bank[i*FilterTaps+j]
		}
		k[j] = v
	}
	return k
}

// Reflect maps a padded index j (may lie outside [0, n)) to its source
// index under reflection that excludes the edge pixel (torch's "reflect").
func Reflect(j, n int) int {
	if j < 0 {
		j = -j
	}
	if j >= n {
		j = 2*(n-1) - j
	}
	return j
}

func (o *Filter) apply(x, scratch []float32, b, c, h, w int, _ bool) {
	checkFilterSize(h, w)
	k := o.Kernel(b)
	for ch := 0; ch < c; ch++ {
		plane := x[ch*h*w : (ch+1)*h*w]
		filterAxis(plane, scratch, k, h, w, 1, false) // along W
		filterAxis(plane, scratch, k, w, h, w, false) // along H
	}
}

// transpose applies the adjoint passes in reverse order.
func (o *Filter) transpose(g, scratch []float32, b, c, h, w int) {
	checkFilterSize(h, w)
	k := o.Kernel(b)
	for ch := 0; ch < c; ch++ {
		plane := g[ch*h*w : (ch+1)*h*w]
		filterAxis(plane, scratch, k, w, h, w, true)
		filterAxis(plane, scratch, k, h, w, 1, true)
	}
}

// checkFilterSize panics when the image is too small to reflect FilterPad
// pixels (PyTorch refuses the same padding); Policy.Check reports it first.
func checkFilterSize(h, w int) {
	if h <= FilterPad || w <= FilterPad {
		panic(fmt.Sprintf("augment: filter needs images larger than %dx%d, got %dx%d", FilterPad, FilterPad, h, w))
	}
}

// filterAxis runs y[i] = sum_k k[t] x[Reflect(i+t-FilterPad)] along one
// axis of a plane: lines lines of n samples each, consecutive samples
// stride apart, consecutive lines lineStep apart (lineStep = n*stride for
// rows; 1 for columns). adjoint scatters instead of gathering.
func filterAxis(plane, scratch, k []float32, lines, n, stride int, adjoint bool) {
	lineStep := n * stride
	if stride != 1 {
		lineStep = 1
	}
	src := scratch[:len(plane)]
	copy(src, plane)
	if adjoint {
		clear(plane)
	}
	for l := 0; l < lines; l++ {
		base := l * lineStep
		for i := 0; i < n; i++ {
			if adjoint {
				g := src[base+i*stride]
				for t, kt := range k {
					plane[base+Reflect(i+t-FilterPad, n)*stride] += kt * g
				}
				continue
			}
			var v float32
			for t, kt := range k {
				v += kt * src[base+Reflect(i+t-FilterPad, n)*stride]
			}
			plane[base+i*stride] = v
		}
	}
}
