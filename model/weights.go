package model

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
)

// Tensor is a dense row-major tensor: float32 weights in F32, int64 buffers
// in I64 (exactly one of the two is set).
type Tensor struct {
	Shape []int
	F32   []float32
	I64   []int64
}

// Len is the number of elements implied by the shape.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{
		Shape: append([]int(nil), t.Shape...),
		F32:   append([]float32(nil), t.F32...),
		I64:   append([]int64(nil), t.I64...),
	}
}

// Weights maps official parameter names to tensors for one network.
type Weights map[string]*Tensor

// Check verifies that w holds exactly the tensors of params with the right
// shapes and types, and names the first offending key.
func (w Weights) Check(params []Param) error {
	want := make(map[string]bool, len(params))
	for _, p := range params {
		want[p.Name] = true
		t, ok := w[p.Name]
		if !ok {
			return fmt.Errorf("missing tensor %q %v", p.Name, p.Shape)
		}
		if !SameShape(t.Shape, p.Shape) {
			return fmt.Errorf("tensor %q has shape %v, the config needs %v", p.Name, t.Shape, p.Shape)
		}
		if p.Int64 && len(t.I64) != p.Size() || !p.Int64 && len(t.F32) != p.Size() {
			return fmt.Errorf("tensor %q: wrong element type or count", p.Name)
		}
	}
	var extra []string
	for name := range w {
		if !want[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("unexpected tensors for this config: %s", strings.Join(extra, ", "))
	}
	return nil
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of every tensor.
func (w Weights) Clone() Weights {
	c := make(Weights, len(w))
	for k, t := range w {
		c[k] = t.Clone()
	}
	return c
}

// InitWeights creates fresh weights the way the official code initialises
// them: truncated normal (std 0.02) for Linear weights, position embeddings,
// cls tokens and relative-position tables; zero biases; LayerNorm 1/0;
// PyTorch's default uniform init for convolutions; computed index buffers.
func InitWeights(params []Param, rng *rand.Rand) Weights {
	w := make(Weights, len(params))
	for _, p := range params {
		t := &Tensor{Shape: append([]int(nil), p.Shape...)}
		if p.Int64 {
			t.I64 = make([]int64, p.Size())
			if strings.HasSuffix(p.Name, "relative_position_index") {
				t.I64 = RelPosIndex(int(math.Round(math.Sqrt(float64(p.Shape[0])))))
			}
			w[p.Name] = t
			continue
		}
		t.F32 = make([]float32, p.Size())
		if p.Name == DFilterBankName {
			copy(t.F32, FilterBank()) // a fixed buffer, not a weight
		} else {
			initTensor(p, t.F32, rng)
		}
		w[p.Name] = t
	}
	return w
}

func initTensor(p Param, v []float32, rng *rand.Rand) {
	name := p.Name
	switch {
	case strings.Contains(name, "norm") && strings.HasSuffix(name, ".weight"),
		strings.HasSuffix(name, "running_var"), name == "to_rgb.0.weight":
		fill(v, 1)
	case strings.HasSuffix(name, "noise_strength_1"), strings.HasSuffix(name, ".bias"),
		strings.HasSuffix(name, "running_mean"):
		fill(v, 0)
	case len(p.Shape) == 4: // convolutions keep PyTorch's default: U(-1/sqrt(fan_in), +)
		fanIn := p.Shape[1] * p.Shape[2] * p.Shape[3]
		bound := 1 / math.Sqrt(float64(fanIn))
		for i := range v {
			v[i] = float32((rng.Float64()*2 - 1) * bound)
		}
	default:
		for i := range v {
			v[i] = float32(truncNormal(rng, 0.02))
		}
	}
}

// truncNormal draws N(0, std^2) truncated to [-2, 2] absolute, as timm's
// trunc_normal_ does (at std 0.02 the bounds are 100 std away).
func truncNormal(rng *rand.Rand, std float64) float64 {
	for {
		x := rng.NormFloat64() * std
		if x >= -2 && x <= 2 {
			return x
		}
	}
}

func fill(v []float32, x float32) {
	for i := range v {
		v[i] = x
	}
}
