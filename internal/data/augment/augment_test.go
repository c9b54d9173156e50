package augment

import (
	"math"
	"math/rand"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    []Op
		wantErr string
	}{
		{"", nil, ""},
		{"None", nil, ""},
		{" none ", nil, ""},
		{"translation,cutout,color", []Op{OpTranslation, OpCutout, OpColor}, ""},
		{" color , translation", []Op{OpColor, OpTranslation}, ""},
		{"colour", nil, `unknown operation "colour"`},
		{"color,,cutout", nil, `unknown operation ""`},
		{"color,geo", nil, `unknown operation "geo" in policy "color,geo" (known: translation, cutout, color, erase_ratio, stl_erase_ratio, erase, hue, filter)`},
	}
	for _, tt := range tests {
		p, err := ParsePolicy(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePolicy(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(p.Ops, tt.want) {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %v", tt.in, p.Ops, err, tt.want)
		}
	}
	p, _ := ParsePolicy("translation,cutout,color")
	if p.String() != "translation,cutout,color" || (Policy{}).String() != "None" {
		t.Errorf("String: %q %q", p.String(), Policy{}.String())
	}
}

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestEmptyPolicyIsIdentity(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	x := randVec(rng, 2*3*4*4)
	p := Sample(Policy{}, 2, 3, 4, 4, rng)
	for name, f := range map[string]func(*Params, []float32) []float32{
		"Apply": Apply, "ApplyLinear": ApplyLinear, "ApplyTranspose": ApplyTranspose,
	} {
		got := f(p, x)
		if !reflect.DeepEqual(got, x) {
			t.Errorf("%s changed the batch", name)
		}
		got[0]++
		if got[0] == x[0] {
			t.Errorf("%s aliases its input", name)
		}
	}
	if got := Apply(nil, x); !reflect.DeepEqual(got, x) {
		t.Error("Apply(nil) changed the batch")
	}
}

// TestAdjoint checks <ApplyTranspose(g), v> == <g, Apply(v) - Apply(0)>.
func TestAdjoint(t *testing.T) {
	shapes := []struct{ b, c, h, w int }{{4, 3, 16, 16}, {3, 3, 8, 12}, {2, 1, 7, 5}, {5, 3, 32, 32}}
	policies := []string{"translation,cutout,color", "color,translation,cutout", "color", "translation", "cutout"}
	rng := rand.New(rand.NewSource(42))
	for _, s := range shapes {
		for _, pol := range policies {
			p, _ := ParsePolicy(pol)
			p.CutoutProb = 1
			for trial := 0; trial < 5; trial++ {
				n := s.b * s.c * s.h * s.w
				ps := Sample(p, s.b, s.c, s.h, s.w, rng)
				g, v := randVec(rng, n), randVec(rng, n)
				av, a0 := Apply(ps, v), Apply(ps, make([]float32, n))
				lin := ApplyLinear(ps, v)
				for i := range av {
					if d := av[i] - a0[i] - lin[i]; math.Abs(float64(d)) > 1e-5 {
						t.Fatalf("%v %s: ApplyLinear differs from Apply(v)-Apply(0) by %v", s, pol, d)
					}
				}
				lhs, rhs := dot(ApplyTranspose(ps, g), v), dot(g, lin)
				if math.Abs(lhs-rhs) > 1e-4*math.Max(1, math.Abs(lhs)) {
					t.Errorf("%v %s: <A^T g, v> = %v, <g, A v> = %v", s, pol, lhs, rhs)
				}
			}
		}
	}
}

// refTranslation follows the official index arithmetic: pad by one zero
// pixel, then gather at clamp(i + shift + 1, 0, size + 1).
func refTranslation(x []float32, c, h, w, dy, dx int) []float32 {
	pad := func(ch, y, xx int) float32 {
		if y == 0 || y == h+1 || xx == 0 || xx == w+1 {
			return 0
		}
		return x[(ch*h+y-1)*w+xx-1]
	}
	clamp := func(v, hi int) int { return max(0, min(v, hi)) }
	out := make([]float32, len(x))
	for ch := 0; ch < c; ch++ {
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				out[(ch*h+i)*w+j] = pad(ch, clamp(i+dy+1, h+1), clamp(j+dx+1, w+1))
			}
		}
	}
	return out
}

// refCutoutMask follows the official index arithmetic: zero the clamped
// indices of a size[0] x size[1] grid around the offset.
func refCutoutMask(h, w, cy, cx int, size [2]int) []float32 {
	mask := make([]float32, h*w)
	for i := range mask {
		mask[i] = 1
	}
	for i := 0; i < size[0]; i++ {
		for j := 0; j < size[1]; j++ {
			y := max(0, min(i+cy-size[0]/2, h-1))
			x := max(0, min(j+cx-size[1]/2, w-1))
			mask[y*w+x] = 0
		}
	}
	return mask
}

func TestGeometryMatchesOfficialIndexing(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	const b, c, h, w = 16, 2, 9, 10
	x := randVec(rng, b*c*h*w)
	p := Policy{Ops: []Op{OpTranslation}}
	ps := Sample(p, b, c, h, w, rng)
	out := Apply(ps, x)
	tr := ps.Steps[0].(*Translation)
	n := c * h * w
	for i := 0; i < b; i++ {
		want := refTranslation(x[i*n:(i+1)*n], c, h, w, tr.DY[i], tr.DX[i])
		if !reflect.DeepEqual(out[i*n:(i+1)*n], want) {
			t.Fatalf("translation sample %d (dy %d dx %d) differs", i, tr.DY[i], tr.DX[i])
		}
	}
	p = Policy{Ops: []Op{OpCutout}, CutoutProb: 1}
	ps = Sample(p, b, c, h, w, rng)
	out = Apply(ps, x)
	co := ps.Steps[0].(*Cutout)
	for i := 0; i < b; i++ {
		mask := refCutoutMask(h, w, co.CY[i], co.CX[i], co.Size)
		for j := 0; j < n; j++ {
			if want := x[i*n+j] * mask[j%(h*w)]; out[i*n+j] != want {
				t.Fatalf("cutout sample %d pixel %d = %v, want %v", i, j, out[i*n+j], want)
			}
		}
	}
}

func TestTranslationExact(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9} // 1x1x3x3
	ps := &Params{B: 1, C: 1, H: 3, W: 3, Steps: []Step{&Translation{DY: []int{1}, DX: []int{-1}}}}
	want := []float32{0, 4, 5, 0, 7, 8, 0, 0, 0}
	if got := Apply(ps, x); !reflect.DeepEqual(got, want) {
		t.Errorf("Apply = %v, want %v", got, want)
	}
	ps.Steps[0] = &Translation{DY: []int{5}, DX: []int{0}} // shifted out entirely
	if got := Apply(ps, x); !reflect.DeepEqual(got, make([]float32, 9)) {
		t.Errorf("far shift = %v, want zeros", got)
	}
}

func TestColorExact(t *testing.T) {
	// A gray constant image is a fixed point of saturation and contrast, so
	// color only adds the brightness.
	ps := &Params{B: 1, C: 3, H: 2, W: 2, Steps: []Step{&Color{
		Brightness: []float32{0.25}, Saturation: []float32{1.7}, Contrast: []float32{0.6},
	}}}
	x := make([]float32, 12)
	for i := range x {
		x[i] = -0.5
	}
	for i, v := range Apply(ps, x) {
		if math.Abs(float64(v+0.25)) > 1e-6 {
			t.Fatalf("pixel %d = %v, want -0.25", i, v)
		}
	}
	// Saturation 0 turns every pixel gray (channel mean); contrast 1 keeps it.
	ps.Steps[0] = &Color{Brightness: []float32{0}, Saturation: []float32{0}, Contrast: []float32{1}}
	x = []float32{0, 0, 0, 0, 0.3, 0.3, 0.3, 0.3, 0.6, 0.6, 0.6, 0.6}
	for i, v := range Apply(ps, x) {
		if math.Abs(float64(v-0.3)) > 1e-6 {
			t.Fatalf("pixel %d = %v, want 0.3", i, v)
		}
	}
}

func TestSampleRanges(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	p, _ := ParsePolicy("translation,cutout,color")
	const b, trials = 64, 500
	cutouts, seenMax, seenMin := 0, false, false
	for i := 0; i < trials; i++ {
		ps := Sample(p, b, 3, 32, 32, rng)
		for _, s := range ps.Steps {
			switch s := s.(type) {
			case *Color:
				for j := 0; j < b; j++ {
					if s.Brightness[j] < -0.5 || s.Brightness[j] >= 0.5 || s.Saturation[j] < 0 ||
						s.Saturation[j] >= 2 || s.Contrast[j] < 0.5 || s.Contrast[j] >= 1.5 {
						t.Fatalf("color out of range: %v %v %v", s.Brightness[j], s.Saturation[j], s.Contrast[j])
					}
				}
			case *Translation:
				for j := 0; j < b; j++ {
					if abs(s.DY[j]) > 6 || abs(s.DX[j]) > 6 { // round(0.2*32) = 6
						t.Fatalf("shift (%d, %d) beyond 6", s.DY[j], s.DX[j])
					}
					seenMax = seenMax || s.DY[j] == 6
					seenMin = seenMin || s.DX[j] == -6
				}
			case *Cutout:
				cutouts++
				if s.Size != [2]int{16, 16} {
					t.Fatalf("cutout size %v, want 16x16", s.Size)
				}
				for j := 0; j < b; j++ {
					if y0, y1, x0, x1 := s.Rect(j, 32, 32); y0 < 0 || x0 < 0 || y1 > 32 || x1 > 32 || y1-y0 < 8 || x1-x0 < 8 {
						t.Fatalf("cutout rect %d %d %d %d", y0, y1, x0, x1)
					}
				}
			}
		}
	}
	if !seenMax || !seenMin {
		t.Error("translation never reached its bounds")
	}
	if f := float64(cutouts) / trials; f < 0.24 || f > 0.36 {
		t.Errorf("cutout frequency %v, want about 0.3", f)
	}
}

func abs(v int) int { return max(v, -v) }

func TestOrderAndDeterminism(t *testing.T) {
	p, _ := ParsePolicy("translation,cutout,color")
	p.CutoutProb = 1
	a := Sample(p, 8, 3, 16, 16, rand.New(rand.NewSource(9)))
	b := Sample(p, 8, 3, 16, 16, rand.New(rand.NewSource(9)))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different parameters")
	}
	if _, ok := a.Steps[0].(*Translation); !ok {
		t.Errorf("first step %T, want *Translation (policy order)", a.Steps[0])
	}
	if _, ok := a.Steps[2].(*Color); !ok {
		t.Errorf("last step %T, want *Color", a.Steps[2])
	}
	x := randVec(rand.New(rand.NewSource(1)), 8*3*16*16)
	if !reflect.DeepEqual(Apply(a, x), Apply(b, x)) {
		t.Error("same parameters gave different outputs")
	}
	c := Sample(p, 8, 3, 16, 16, rand.New(rand.NewSource(10)))
	if reflect.DeepEqual(Apply(a, x), Apply(c, x)) {
		t.Error("different seeds gave the same output")
	}
}

func TestApplyPanicsOnBadLength(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "5 values") {
			t.Errorf("recover = %v", r)
		}
	}()
	Apply(&Params{B: 1, C: 3, H: 2, W: 2}, make([]float32, 5))
}

func BenchmarkApply(b *testing.B) {
	for _, bs := range []int{32, 64} {
		b.Run("batch="+strconv.Itoa(bs), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			p, _ := ParsePolicy("translation,cutout,color")
			x := randVec(rng, bs*3*32*32)
			for i := 0; i < b.N; i++ {
				ps := Sample(p, bs, 3, 32, 32, rng)
				ApplyTranspose(ps, Apply(ps, x))
			}
		})
	}
}
