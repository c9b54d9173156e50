package metrics

import (
	"context"
	"fmt"
	"strings"

	"github.com/tgan-dev/tgan/runtime"
)

// Range is the value range a feature network expects its pixels in.
type Range string

// The input ranges a pixel p (0..255) can be mapped to.
const (
	// Unit feeds p/255, in [0, 1]: pytorch-fid's InceptionV3 input (it
	// maps to [-1, 1] itself), and what tools/inception exports.
	Unit Range = "0,1"
	// Signed feeds p/127.5 - 1, in [-1, 1].
	Signed Range = "-1,1"
	// Bytes feeds p as a float, in [0, 255] (the TF graph's input).
	Bytes Range = "0,255"
)

// ParseRange parses an --input-range value: "0,1", "-1,1" or "0,255".
func ParseRange(s string) (Range, error) {
	switch r := Range(strings.ReplaceAll(s, " ", "")); r {
	case Unit, Signed, Bytes:
		return r, nil
	}
	return "", fmt.Errorf("input range %q: want 0,1 or -1,1 or 0,255", s)
}

// lut maps each pixel value to the network's input value, in float32.
func (r Range) lut() *[256]float32 {
	var t [256]float32
	for p := range t {
		switch r {
		case Signed:
			t[p] = float32(p)/127.5 - 1
		case Bytes:
			t[p] = float32(p)
		default:
			t[p] = float32(p) / 255
		}
	}
	return &t
}

// NetworkOptions configure a [Network]. The zero value fits the Inception
// network that tools/inception/export_inception.py writes.
type NetworkOptions struct {
	// Pool names the pooled-feature output (FID, KID). Default "pool".
	Pool string
	// Logits names the class-logit output (IS). Default "logits".
	Logits string
	// InputSize is the side the images are resized to (bilinear, as
	// F.interpolate) before the network. Default: the model input's fixed
	// height; when the model's height is dynamic, the images' own size (the
	// network then resizes itself).
	InputSize int
	// Range is the pixel range fed to the network. Default Unit.
	Range Range
	// LogitsOptional accepts a network without the Logits output: its
	// Features then have no logits (no Inception Score).
	LogitsOptional bool
}

// Network is a feature network (an Inception-v3 exported to ONNX) that maps
// uint8 images to pooled features and logits.
type Network struct {
	m    *runtime.Model
	opts NetworkOptions
	lut  *[256]float32
}

// NewNetwork wraps an open ONNX model with one input [B, 3, H, W] and named
// float32 outputs. It checks that the outputs exist; m stays the caller's
// to close.
func NewNetwork(m *runtime.Model, opts NetworkOptions) (*Network, error) {
	if opts.Pool == "" {
		opts.Pool = "pool"
	}
	if opts.Logits == "" {
		opts.Logits = "logits"
	}
	if opts.Range == "" {
		opts.Range = Unit
	}
	if _, err := ParseRange(string(opts.Range)); err != nil {
		return nil, err
	}
	ins, outs := m.Inputs(), m.Outputs()
	if len(ins) != 1 || len(ins[0].Shape) != 4 || (ins[0].Shape[1] >= 0 && ins[0].Shape[1] != 3) {
		return nil, fmt.Errorf("%s: want one input [batch, 3, H, W], have %v", m.Path(), ins)
	}
	for _, name := range []string{opts.Pool, opts.Logits} {
		found := false
		for _, o := range outs {
			found = found || o.Name == name
		}
		if !found && name == opts.Logits && opts.LogitsOptional {
			opts.Logits = ""
			continue
		}
		if !found {
			have := make([]string, len(outs))
			for i, o := range outs {
				have[i] = o.Name
			}
			return nil, fmt.Errorf("%s: no output %q (outputs: %s; see --pool-output, --logits-output)",
				m.Path(), name, strings.Join(have, ", "))
		}
	}
	if opts.InputSize < 0 {
		return nil, fmt.Errorf("input size %d", opts.InputSize)
	}
	if opts.InputSize == 0 {
		if h := ins[0].Shape[2]; h > 0 {
			opts.InputSize = int(h)
		}
	}
	return &Network{m: m, opts: opts, lut: opts.Range.lut()}, nil
}

// Options returns the options with defaults filled in (InputSize stays 0
// when the images go in at their own size; Logits is "" when an optional
// logits output is missing).
func (n *Network) Options() NetworkOptions { return n.opts }

// Features are the outputs of a Network over a set of images.
type Features struct {
	// N is the number of images.
	N int
	// Pool holds the pooled features, row-major. (N, PoolDim)
	Pool    []float32
	PoolDim int
	// Logits holds the class logits, row-major. (N, Classes)
	Logits  []float32
	Classes int
}

// Run maps count uint8 images (NCHW, 3 channels, size x size) to their
// features: pixels to the input range (float32), bilinear resize to the
// input size, then one ONNX Runtime run.
func (n *Network) Run(pix []uint8, count, size int) (*Features, error) {
	if count <= 0 || size <= 0 || len(pix) != count*3*size*size {
		return nil, fmt.Errorf("features: %d bytes for %d images of 3x%dx%d", len(pix), count, size, size)
	}
	in := make([]float32, len(pix))
	for i, p := range pix {
		in[i] = n.lut[p]
	}
	side := size
	if s := n.opts.InputSize; s > 0 && s != size {
		per, outPer := 3*size*size, 3*s*s
		resized := make([]float32, count*outPer)
		for i := 0; i < count; i++ {
			if err := ResizeBilinear(resized[i*outPer:(i+1)*outPer], in[i*per:(i+1)*per], 3, size, size, s, s); err != nil {
				return nil, err
			}
		}
		in, side = resized, s
	}
	outs, err := n.m.RunAll(in, []int64{int64(count), 3, int64(side), int64(side)})
	if err != nil {
		return nil, err
	}
	f := &Features{N: count}
	if f.Pool, f.PoolDim, err = matrix(outs, n.opts.Pool, count); err != nil {
		return nil, err
	}
	if n.opts.Logits == "" {
		return f, nil
	}
	if f.Logits, f.Classes, err = matrix(outs, n.opts.Logits, count); err != nil {
		return nil, err
	}
	return f, nil
}

// matrix returns output name as (count, D), accepting [count, D] and
// [count, D, 1, 1] (an unflattened pool).
func matrix(outs []runtime.Output, name string, count int) ([]float32, int, error) {
	o, err := runtime.OutputByName(outs, name)
	if err != nil {
		return nil, 0, err
	}
	if len(o.Shape) < 2 || o.Shape[0] != int64(count) || len(o.Data)%count != 0 {
		return nil, 0, fmt.Errorf("output %s has shape %v, want [%d, D]", name, o.Shape, count)
	}
	for _, d := range o.Shape[2:] {
		if d != 1 {
			return nil, 0, fmt.Errorf("output %s has shape %v, want [%d, D] or [%d, D, 1, 1]", name, o.Shape, count, count)
		}
	}
	return o.Data, len(o.Data) / count, nil
}

// Extract runs n images through the network in batches of batch and
// returns all their features. fill writes images [start, start+count) into
// dst (NCHW uint8, 3 x size x size each); progress, when not nil, receives
// the number of images done after each batch. ctx is checked between
// batches.
func (n *Network) Extract(ctx context.Context, count, size, batch int,
	fill func(dst []uint8, start, count int) error, progress func(done int)) (*Features, error) {
	if count <= 0 || batch <= 0 {
		return nil, fmt.Errorf("features: %d images in batches of %d", count, batch)
	}
	all := &Features{}
	buf := make([]uint8, min(batch, count)*3*size*size)
	for start := 0; start < count; start += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := min(batch, count-start)
		pix := buf[:b*3*size*size]
		if err := fill(pix, start, b); err != nil {
			return nil, err
		}
		f, err := n.Run(pix, b, size)
		if err != nil {
			return nil, err
		}
		if start == 0 {
			all.PoolDim, all.Classes = f.PoolDim, f.Classes
			all.Pool = make([]float32, 0, count*f.PoolDim)
			all.Logits = make([]float32, 0, count*f.Classes)
		}
		all.Pool = append(all.Pool, f.Pool...)
		all.Logits = append(all.Logits, f.Logits...)
		all.N += b
		if progress != nil {
			progress(all.N)
		}
	}
	return all, nil
}
