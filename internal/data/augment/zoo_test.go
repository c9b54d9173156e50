package augment

import (
	"math"
	"math/rand"
	"reflect"
	"testing"
)

// The official policies of the STL-10, CelebA-HQ and Church scripts parse
// in order.
func TestParseZooPolicies(t *testing.T) {
	for in, want := range map[string][]Op{
		"translation,stl_erase_ratio,color":          {OpTranslation, OpSTLEraseRatio, OpColor},
		"filter,translation,erase_ratio,color,hue":   {OpFilter, OpTranslation, OpEraseRatio, OpColor, OpHue},
		"translation,erase_ratio,color":              {OpTranslation, OpEraseRatio, OpColor},
		"translation,erase,color":                    {OpTranslation, OpErase, OpColor},
		"translation,erase_ratio,color,hue":          {OpTranslation, OpEraseRatio, OpColor, OpHue},
		" filter , hue ":                             {OpFilter, OpHue},
		"translation,cutout,color,erase_ratio,color": {OpTranslation, OpCutout, OpColor, OpEraseRatio, OpColor},
	} {
		p, err := ParsePolicy(in)
		if err != nil || !reflect.DeepEqual(p.Ops, want) {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %v", in, p.Ops, err, want)
		}
	}
}

func TestPolicyCheckFilterSize(t *testing.T) {
	p, _ := ParsePolicy("filter,translation")
	if err := p.Check(22, 64); err != nil {
		t.Errorf("22x64: %v", err)
	}
	err := p.Check(64, 21)
	if want := `augment: policy "filter,translation": filter needs images larger than 21x21 (it reflects 21 pixels on every side), got 64x21`; err == nil || err.Error() != want {
		t.Errorf("64x21: %v\nwant %s", err, want)
	}
	p, _ = ParsePolicy("translation,erase_ratio,color,hue")
	if err := p.Check(8, 8); err != nil {
		t.Errorf("no filter at 8x8: %v", err)
	}
}

// A rotation by 2*pi/3 about the grey axis permutes the channels
// cyclically: R <- B, G <- R, B <- G; by pi it negates a grey-free vector.
func TestHueRotation(t *testing.T) {
	x := []float32{0.9, -0.2, // R of 2 pixels
		-0.7, 0.4, // G
		0.1, 0.5} // B
	ps := &Params{B: 1, C: 3, H: 1, W: 2, Steps: []Step{&Hue{Theta: []float32{2 * math.Pi / 3}}}}
	want := []float32{0.1, 0.5, 0.9, -0.2, -0.7, 0.4}
	assertClose(t, "2pi/3", Apply(ps, x), want, 1e-6)
	ps.Steps[0] = &Hue{Theta: []float32{-2 * math.Pi / 3}} // the other way
	assertClose(t, "-2pi/3", Apply(ps, x), []float32{-0.7, 0.4, 0.1, 0.5, 0.9, -0.2}, 1e-6)
	grey := []float32{0.5, -1, 0.5, -1, 0.5, -1} // on the axis: fixed
	assertClose(t, "grey", Apply(ps, grey), grey, 1e-6)
	free := []float32{1, 0.5, -0.25, -1, -0.75, 0.5} // channels sum to 0 per pixel
	ps.Steps[0] = &Hue{Theta: []float32{math.Pi}}
	assertClose(t, "pi", Apply(ps, free), []float32{-1, -0.5, 0.25, 1, 0.75, -0.5}, 1e-6)
	ps.Steps[0] = &Hue{Theta: []float32{0}}
	if got := Apply(ps, x); !reflect.DeepEqual(got, x) {
		t.Errorf("theta 0 changed the pixels: %v", got)
	}
	// SPEC-hires 5.5's entries: R_01 = (1-c)/3 - s/sqrt(3), R_02 = (1-c)/3 + s/sqrt(3).
	m := (&Hue{Theta: []float32{0.7}}).Matrix(0)
	c, s := math.Cos(float64(float32(0.7))), math.Sin(float64(float32(0.7)))
	for i, v := range []float64{c + (1-c)/3, (1-c)/3 - s/math.Sqrt(3), (1-c)/3 + s/math.Sqrt(3)} {
		if math.Abs(float64(m[i])-v) > 1e-7 || m[3+(i+1)%3] != m[i] || m[6+(i+2)%3] != m[i] {
			t.Errorf("matrix %v: entry %d want %v (circulant)", m, i, v)
		}
	}
}

func TestHueSampling(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	p, _ := ParsePolicy("hue")
	zero, n := 0, 0
	var lo, hi float32
	for trial := 0; trial < 100; trial++ {
		h := Sample(p, 32, 3, 4, 4, rng).Steps[0].(*Hue)
		for _, th := range h.Theta {
			n++
			if th == 0 {
				zero++
			}
			lo, hi = min(lo, th), max(hi, th)
		}
	}
	if f := float64(zero) / float64(n); f < 0.45 || f > 0.55 {
		t.Errorf("unrotated fraction %v, want about 0.5", f)
	}
	if lo < -math.Pi || hi > math.Pi || lo > -3 || hi < 3 {
		t.Errorf("angles span [%v, %v], want about [-pi, pi]", lo, hi)
	}
}

// An erase step zeroes exactly rows [cy - sh/2, cy - sh/2 + sh) x columns
// [cx - sw/2, ...) clipped to the image, in every channel.
func TestEraseExactRectangle(t *testing.T) {
	const h, w = 6, 8
	x := make([]float32, 2*h*w)
	for i := range x {
		x[i] = float32(i + 1)
	}
	e := &Cutout{Kind: OpEraseRatio, Size: [2]int{5, 4}, CY: []int{0}, CX: []int{7}}
	got := Apply(&Params{B: 1, C: 2, H: h, W: w, Steps: []Step{e}}, x)
	// rows [-2, 3) -> 0..2, columns [5, 9) -> 5..7
	for ch := 0; ch < 2; ch++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				i := (ch*h+y)*w + xx
				want := x[i]
				if y <= 2 && xx >= 5 {
					want = 0
				}
				if got[i] != want {
					t.Fatalf("channel %d pixel (%d, %d) = %v, want %v", ch, y, xx, got[i], want)
				}
			}
		}
	}
	if e.Operation() != OpEraseRatio || (&Cutout{}).Operation() != OpCutout {
		t.Error("Operation")
	}
}

// The erase variants draw their size from their own ranges, once per call
// for the whole batch, and erase about 30% of the calls.
func TestEraseSampling(t *testing.T) {
	cases := []struct {
		op           Op
		h, w         int
		hLo, hHi, wL int
		wH           int
	}{
		{OpEraseRatio, 256, 256, 51, 179, 51, 179},
		{OpEraseRatio, 10, 30, 2, 7, 6, 21},
		{OpSTLEraseRatio, 48, 48, 20, 44, 20, 44},
		{OpErase, 48, 12, 20, 44, 20, 26},
	}
	for _, c := range cases {
		rng := rand.New(rand.NewSource(11))
		p := Policy{Ops: []Op{c.op}}
		seen := map[[2]int]bool{}
		applied := 0
		const trials = 4000
		for trial := 0; trial < trials; trial++ {
			ps := Sample(p, 3, 3, c.h, c.w, rng)
			if len(ps.Steps) == 0 {
				continue
			}
			applied++
			e := ps.Steps[0].(*Cutout)
			if e.Kind != c.op || e.Size[0] < c.hLo || e.Size[0] > c.hHi || e.Size[1] < c.wL || e.Size[1] > c.wH {
				t.Fatalf("%s %dx%d: drew %s size %v, want [%d, %d] x [%d, %d]", c.op, c.h, c.w, e.Kind, e.Size, c.hLo, c.hHi, c.wL, c.wH)
			}
			seen[[2]int{e.Size[0], 0}], seen[[2]int{0, e.Size[1]}] = true, true
			for b := range e.CY {
				if e.CY[b] < 0 || e.CY[b] > c.h-e.Size[0]%2 || e.CX[b] < 0 || e.CX[b] > c.w-e.Size[1]%2 {
					t.Fatalf("%s: centre (%d, %d) for size %v", c.op, e.CY[b], e.CX[b], e.Size)
				}
			}
		}
		for _, end := range [][2]int{{c.hLo, 0}, {c.hHi, 0}, {0, c.wL}, {0, c.wH}} {
			if !seen[end] {
				t.Errorf("%s %dx%d: size bound %v never drawn", c.op, c.h, c.w, end)
			}
		}
		if f := float64(applied) / trials; f < 0.27 || f > 0.33 {
			t.Errorf("%s: erased %v of the calls, want about 0.3", c.op, f)
		}
	}
}

// Filter equals an independent reference: explicit reflect padding, then
// one 2-D correlation with the outer product of the sample's kernel.
func TestFilterMatchesDirect2D(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	const b, c, h, w = 3, 3, 23, 26
	p, _ := ParsePolicy("filter")
	ps := Sample(p, b, c, h, w, rng)
	f := ps.Steps[0].(*Filter)
	x := randVec(rng, b*c*h*w)
	got := Apply(ps, x)
	n := c * h * w
	for s := 0; s < b; s++ {
		k := f.Kernel(s)
		want := refFilter(x[s*n:(s+1)*n], k, c, h, w)
		assertClose(t, "filter", got[s*n:(s+1)*n], want, 2e-5)
	}
	// Without any drawn band the kernel is the low-pass row: sum 1, so a
	// constant image stays constant (up to rounding).
	flat := &Filter{Gain: [][4]float32{{1, 1, 1, 1}}}
	one := make([]float32, c*h*w)
	for i := range one {
		one[i] = 0.5
	}
	for i, v := range Apply(&Params{B: 1, C: c, H: h, W: w, Steps: []Step{flat}}, one) {
		if math.Abs(float64(v)-0.5) > 1e-5 {
			t.Fatalf("constant image pixel %d = %v", i, v)
		}
	}
}

// refFilter pads by reflection (edge excluded), then correlates in 2-D.
func refFilter(x, k []float32, c, h, w int) []float32 {
	const pad = FilterPad
	ph, pw := h+2*pad, w+2*pad
	refl := func(j, n int) int { // torch's reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
		for j < 0 || j >= n {
			if j < 0 {
				j = -j
			} else {
				j = 2*(n-1) - j
			}
		}
		return j
	}
	out := make([]float32, len(x))
	for ch := 0; ch < c; ch++ {
		padded := make([]float64, ph*pw)
		for y := 0; y < ph; y++ {
			for xx := 0; xx < pw; xx++ {
				padded[y*pw+xx] = float64(x[(ch*h+refl(y-pad, h))*w+refl(xx-pad, w)])
			}
		}
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				var v float64
				for i := 0; i < len(k); i++ {
					for j := 0; j < len(k); j++ {
						v += float64(k[i]) * float64(k[j]) * padded[(y+i)*pw+xx+j]
					}
				}
				out[(ch*h+y)*w+xx] = float32(v)
			}
		}
	}
	return out
}

func TestFilterSampling(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	p, _ := ParsePolicy("filter")
	untouched, unitPower, n := 0, 0, 0
	for trial := 0; trial < 200; trial++ {
		f := Sample(p, 16, 3, 32, 32, rng).Steps[0].(*Filter)
		for _, g := range f.Gain {
			n++
			var pw float64
			for j, v := range g {
				pw += filterPower[j] * float64(v) * float64(v)
			}
			if math.Abs(pw-1) < 1e-6 { // at most one band drawn: one normalised step
				unitPower++
			}
			if g == [4]float32{1, 1, 1, 1} {
				untouched++
			}
		}
	}
	// No band drawn: 0.75^4 = 0.316; at most one: 0.316 + 4*0.25*0.75^3 = 0.738.
	if f := float64(untouched) / float64(n); f < 0.27 || f > 0.36 {
		t.Errorf("unfiltered fraction %v, want about 0.316", f)
	}
	if f := float64(unitPower) / float64(n); f < 0.69 || f > 0.79 {
		t.Errorf("unit-power fraction %v, want about 0.738", f)
	}
}

// TestZooAdjoint: the new operations' ApplyTranspose is the adjoint of
// ApplyLinear, alone and inside the official policies.
func TestZooAdjoint(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	for _, pol := range []string{"hue", "erase_ratio", "stl_erase_ratio", "filter", "filter,translation,erase_ratio,color,hue", "translation,stl_erase_ratio,color"} {
		p, _ := ParsePolicy(pol)
		const b, c, h, w = 3, 3, 24, 22
		for trial := 0; trial < 4; trial++ {
			n := b * c * h * w
			ps := Sample(p, b, c, h, w, rng)
			g, v := randVec(rng, n), randVec(rng, n)
			lhs, rhs := dot(ApplyTranspose(ps, g), v), dot(g, ApplyLinear(ps, v))
			if math.Abs(lhs-rhs) > 1e-4*math.Max(1, math.Abs(lhs)) {
				t.Errorf("%s: <A^T g, v> = %v, <g, A v> = %v", pol, lhs, rhs)
			}
		}
	}
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Fatalf("%s: value %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// Drawn erase rectangles match the official index arithmetic (a size grid
// around the offset, indices clamped into the image), as cutout does.
func TestEraseMatchesOfficialIndexing(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	for _, c := range []struct {
		op   Op
		h, w int
	}{{OpSTLEraseRatio, 48, 48}, {OpEraseRatio, 10, 30}, {OpErase, 24, 20}} {
		drawn := 0
		for trial := 0; trial < 60; trial++ {
			const b = 4
			ps := Sample(Policy{Ops: []Op{c.op}}, b, 1, c.h, c.w, rng)
			if len(ps.Steps) == 0 {
				continue
			}
			drawn++
			e := ps.Steps[0].(*Cutout)
			ones := make([]float32, b*c.h*c.w)
			for i := range ones {
				ones[i] = 1
			}
			got := Apply(ps, ones)
			for s := 0; s < b; s++ {
				want := refCutoutMask(c.h, c.w, e.CY[s], e.CX[s], e.Size)
				for i, v := range want {
					if got[s*c.h*c.w+i] != v {
						t.Fatalf("%s %dx%d size %v centre (%d, %d): pixel %d = %v, want %v", c.op, c.h, c.w, e.Size, e.CY[s], e.CX[s], i, got[s*c.h*c.w+i], v)
					}
				}
			}
		}
		if drawn == 0 {
			t.Errorf("%s: never drawn", c.op)
		}
	}
}
