// Package fused rewrites tgan's standard ONNX export into the form that
// ONNX Runtime runs fastest: every block's attention becomes one
// com.microsoft.MultiHeadAttention node (window attention with the
// windows in the batch; Celeba256_gen's cross-attention to the z
// embedding too, with separate query and key/value inputs, cross.go) and,
// in the CUDA form, every
// residual Add that feeds a LayerNorm becomes
// com.microsoft.SkipLayerNormalization.
//
// In tgan's data flow it sits between the exporter and ONNX Runtime:
//
//	exporter (standard opset-17 file) -> fused.Rewrite -> ONNX Runtime session
//
// The standard file stays what `tgan export --onnx` writes (the ONNX
// checker, TensorRT and other runtimes accept it); tgan's runtime rewrites
// a tgan file when it creates the session, and `tgan export --fused`
// writes the rewritten file for ONNX Runtime users of other languages.
//
// The rewrite is a pattern match over the graph that tgan's exporter
// writes (see exporter/blocks.go); it checks the result against the
// tgan.config in the file's metadata (one attention per block, the
// configured head count) and refuses a file that is not tgan's.
//
// Targets. CPU: float32 MultiHeadAttention without mask, bias or past
// inputs runs ONNX Runtime's MLAS flash attention (a float16 file casts
// q, k, v to float32 around it: the CPU provider has no float16 kernel).
// CUDA: the fused kernels (FlashAttention for float16 on SM80+, cutlass
// memory-efficient attention) need a head size that is a multiple of 8, so
// heads of another size are zero-padded to the next multiple of 8 in the
// weights (exact; the scale stays 1/sqrt of the real head size). The
// per-target defaults are in Options; BENCHMARKS.md has the CPU
// measurements behind them (the CUDA form is not yet measured).
//
// Options.Int8Weights (tgan export --int8) adds an inexact CPU form: the
// weights of every Gemm stored as int8 and run by DynamicQuantizeMatMul
// (int8.go). It is never chosen by the runtime on its own.
package fused

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// Target is the ONNX Runtime execution provider a fused file is written for.
type Target string

// The targets.
const (
	CPU  Target = "cpu"
	CUDA Target = "cuda"
)

// ParseTarget parses a --fused value: "cpu" or "cuda".
func ParseTarget(s string) (Target, error) {
	switch t := Target(strings.ToLower(strings.TrimSpace(s))); t {
	case CPU, CUDA:
		return t, nil
	}
	return "", fmt.Errorf("unknown fused target %q (want cpu or cuda)", s)
}

// Metadata keys read and written. The first two are the exporter's
// (exporter.KeyNetwork, exporter.KeyConfig; this package cannot import the
// exporter, whose tests open ONNX Runtime sessions, which use this package).
const (
	keyNetwork = "tgan.network"
	keyConfig  = "tgan.config"
	// KeyFused is set on a rewritten file to its Target.
	KeyFused = "tgan.fused"
)

// MSDomain is the operator domain of ONNX Runtime's contrib operators.
const MSDomain = "com.microsoft"

// Toggle overrides a target's default choice.
type Toggle int8

// Toggle values.
const (
	Default Toggle = iota // the target's default
	On
	Off
)

func (t Toggle) or(def bool) bool {
	switch t {
	case On:
		return true
	case Off:
		return false
	}
	return def
}

// Options configures Rewrite. The defaults per target are what measured
// fastest (BENCHMARKS.md) or what the target's kernels need.
type Options struct {
	// Target selects the form; the zero value means CPU.
	Target Target
	// SkipLayerNorm fuses each residual Add with the LayerNorm that reads
	// it. Default: on for CUDA, off for CPU, where ONNX Runtime's
	// SkipLayerNormalization kernel measured slower than LayerNormalization
	// and Add.
	SkipLayerNorm Toggle
	// PadHeads zero-pads head sizes to a multiple of 8. Default: on for
	// CUDA (its fused attention kernels need it), off for CPU.
	PadHeads Toggle
	// Int8Weights stores the weights of every Gemm as int8 and runs it as
	// DynamicQuantizeMatMul (see int8.go): faster on the CPU, no longer
	// exact. CPU target and float32 files only; off by default.
	Int8Weights bool
}

// Report says what Rewrite changed.
type Report struct {
	Target        Target
	Attention     int // MultiHeadAttention nodes of self-attentions
	Cross         int // MultiHeadAttention nodes of cross-attentions (Celeba256_gen)
	Padded        int // of which with heads zero-padded to a multiple of 8
	SkipLayerNorm int // SkipLayerNormalization nodes
	Int8          int // Gemms quantized to DynamicQuantizeMatMul (Options.Int8Weights)
}

func (r Report) String() string {
	s := fmt.Sprintf("fused for %s: %d MultiHeadAttention", r.Target, r.Attention)
	if r.Padded > 0 {
		s += fmt.Sprintf(" (%d with heads padded to a multiple of 8)", r.Padded)
	}
	if r.Cross > 0 {
		s += fmt.Sprintf(", %d cross-attention MultiHeadAttention", r.Cross)
	}
	s += fmt.Sprintf(", %d SkipLayerNormalization", r.SkipLayerNorm)
	if r.Int8 > 0 {
		s += fmt.Sprintf(", %d Gemms with int8 weights", r.Int8)
	}
	return s
}

// ErrNotTgan is returned (wrapped) for a file that tgan's exporter did not
// write: such a file runs as it is.
var ErrNotTgan = errors.New("not a tgan export")

// ErrFused is returned (wrapped) for a file that is already fused.
var ErrFused = errors.New("already fused")

// Rewrite fuses mp in place. It fails with ErrNotTgan when mp has no tgan
// metadata, ErrFused when it was rewritten before, and another error when
// its graph does not match its tgan.config; mp is unchanged then.
// (The graph is rewritten in place, not copied: the weights can take
// gigabytes.)
func Rewrite(mp *onnx.ModelProto, opts Options) (Report, error) {
	if opts.Target == "" {
		opts.Target = CPU
	}
	rep := Report{Target: opts.Target}
	if _, err := ParseTarget(string(opts.Target)); err != nil {
		return rep, err
	}
	md := onnx.Metadata(mp)
	if t, ok := md[KeyFused]; ok {
		return rep, fmt.Errorf("%w (for %s)", ErrFused, t)
	}
	heads, blocks, cross, err := expected(md)
	if err != nil {
		return rep, err
	}
	g := newGraph(mp.GetGraph())
	if opts.Int8Weights {
		if opts.Target != CPU {
			return rep, fmt.Errorf("int8 weights are a CPU form (ONNX Runtime's DynamicQuantizeMatMul runs on the CPU provider), not %s", opts.Target)
		}
		if floatType(g.gp) != onnx.TensorProto_FLOAT {
			return rep, errors.New("int8 weights quantize a float32 file; this one is float16")
		}
	}
	matches := g.matchAttentions()
	if len(matches) != blocks {
		return rep, fmt.Errorf("graph has %d attention subgraphs of tgan's form, its tgan.config %d blocks",
			len(matches), blocks)
	}
	for _, a := range matches {
		if a.heads != int64(heads) {
			return rep, fmt.Errorf("attention with %d heads, tgan.config says %d", a.heads, heads)
		}
	}
	// Nothing has changed so far; from here on the rewrite cannot fail.
	castFloat := opts.Target == CPU && floatType(g.gp) == onnx.TensorProto_FLOAT16
	pad := opts.PadHeads.or(opts.Target == CUDA)
	for _, a := range matches {
		if g.replaceAttention(a, pad, castFloat) {
			rep.Padded++
		}
	}
	rep.Attention = len(matches)
	// Cross-attention (Celeba256_gen) is fused only when every block's is
	// found; otherwise it stays in the standard form, which is correct too.
	if cm := g.matchCrossAttentions(); cross > 0 && len(cm) == cross {
		for _, c := range cm {
			g.replaceCross(c, castFloat)
		}
		rep.Cross = len(cm)
	}
	if opts.SkipLayerNorm.or(opts.Target == CUDA) {
		rep.SkipLayerNorm = g.fuseSkipLayerNorm()
	}
	if opts.Int8Weights {
		rep.Int8 = g.quantizeGemms()
		mp.MetadataProps = append(mp.MetadataProps, &onnx.StringStringEntryProto{
			Key: proto.String(KeyInt8), Value: proto.String(int8Scheme),
		})
	}
	if err := g.finish(); err != nil {
		return rep, err
	}
	setOpset(mp, MSDomain, 1)
	mp.MetadataProps = append(mp.MetadataProps, &onnx.StringStringEntryProto{
		Key: proto.String(KeyFused), Value: proto.String(string(opts.Target)),
	})
	return rep, nil
}

// expected returns the head count, the number of transformer blocks and
// the number of those with cross-attention that the file's tgan.config
// gives its network.
func expected(md map[string]string) (heads, blocks, cross int, err error) {
	network, ok := md[keyNetwork]
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w (no %s metadata)", ErrNotTgan, keyNetwork)
	}
	cfg, err := model.ParseJSON(md[keyConfig])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w (%s: %v)", ErrNotTgan, keyConfig, err)
	}
	var groups [][]model.Block
	switch network {
	case "generator":
		heads, groups = cfg.GHeads, cfg.GBlocks()
	case "discriminator":
		heads, groups = cfg.DHeads, cfg.DBlocks()
	default:
		return 0, 0, 0, fmt.Errorf("%w (%s %q)", ErrNotTgan, keyNetwork, network)
	}
	for _, g := range groups {
		blocks += len(g)
		for _, b := range g {
			if b.Cross > 0 {
				cross++
			}
		}
	}
	return heads, blocks, cross, nil
}

// floatType is the element type of the weights: FLOAT16 when any float
// initializer is (tgan's fp16 export), else FLOAT.
func floatType(gp *onnx.GraphProto) onnx.TensorProto_DataType {
	for _, t := range gp.Initializer {
		if onnx.TensorProto_DataType(t.GetDataType()) == onnx.TensorProto_FLOAT16 {
			return onnx.TensorProto_FLOAT16
		}
	}
	return onnx.TensorProto_FLOAT
}

func setOpset(mp *onnx.ModelProto, domain string, version int64) {
	for _, o := range mp.OpsetImport {
		if o.GetDomain() == domain {
			return
		}
	}
	mp.OpsetImport = append(mp.OpsetImport, &onnx.OperatorSetIdProto{
		Domain: proto.String(domain), Version: proto.Int64(version),
	})
}

// Bytes decodes an ONNX model, fuses it and encodes the result
// (deterministically).
func Bytes(data []byte, opts Options) ([]byte, Report, error) {
	mp := &onnx.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		return nil, Report{}, fmt.Errorf("decode: %w", err)
	}
	rep, err := Rewrite(mp, opts)
	if err != nil {
		return nil, rep, err
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, rep, fmt.Errorf("encode: %w", err)
	}
	return out, rep, nil
}
