package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"
	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/model"
)

// tinyCheckpoint builds a complete checkpoint of a preset with random weights.
func tinyCheckpoint(t testing.TB, preset string) *Checkpoint {
	t.Helper()
	cfg, err := model.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version == model.Final { // shrink: the layout matters, not the size
		cfg.LatentDim, cfg.GDim, cfg.BottomWidth, cfg.ImageSize, cfg.GDepths = 32, 64, 4, 16, []int{2, 1, 1}
		cfg.DDim, cfg.DDepth = 64, 1
	}
	rng := rand.New(rand.NewSource(1))
	c := &Checkpoint{
		Config: cfg,
		Gen:    model.InitWeights(cfg.GParams(), rng),
		AvgGen: model.InitWeights(cfg.GParams(), rng),
		Dis:    model.InitWeights(cfg.DParams(), rng),
		Extra: map[string]*model.Tensor{
			"opt.gen.m.l1.bias": {Shape: []int{2, 2}, F32: []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), float32(math.Inf(1)), 1e-45}},
			"opt.step":          {Shape: []int{}, I64: []int64{-7}},
		},
		Meta: map[string]string{MetaTganVersion: "test", "step": "123", "rng": `{"seed":1}`},
	}
	return c
}

func sameTensor(a, b *model.Tensor) bool {
	if len(a.Shape) != len(b.Shape) || len(a.F32) != len(b.F32) || len(a.I64) != len(b.I64) ||
		(a.F32 == nil) != (b.F32 == nil) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := range a.F32 {
		if math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
			return false
		}
	}
	for i := range a.I64 {
		if a.I64[i] != b.I64[i] {
			return false
		}
	}
	return true
}

func sameWeights(t *testing.T, what string, a, b map[string]*model.Tensor) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d tensors, want %d", what, len(b), len(a))
	}
	for k, ta := range a {
		if tb, ok := b[k]; !ok || !sameTensor(ta, tb) {
			t.Errorf("%s: tensor %q differs after the round trip", what, k)
		}
	}
}

func TestRoundTripBitExact(t *testing.T) {
	for _, preset := range []string{"tiny", "final-cifar"} {
		c := tinyCheckpoint(t, preset)
		path := filepath.Join(t.TempDir(), "ckpt.safetensors")
		if err := Save(path, c); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.Config.JSON() != c.Config.JSON() {
			t.Errorf("config %s, want %s", got.Config.JSON(), c.Config.JSON())
		}
		sameWeights(t, "gen", c.Gen, got.Gen)
		sameWeights(t, "avg_gen", c.AvgGen, got.AvgGen)
		sameWeights(t, "dis", c.Dis, got.Dis)
		sameWeights(t, "extra", c.Extra, got.Extra)
		for k, v := range c.Meta {
			if got.Meta[k] != v {
				t.Errorf("meta %q = %q, want %q", k, got.Meta[k], v)
			}
		}
		if len(got.Meta) != len(c.Meta) {
			t.Errorf("meta %v, want %v", got.Meta, c.Meta)
		}
	}
}

// The file is standard safetensors: an independent reader accepts it.
func TestReadableBySafetensorsLibrary(t *testing.T) {
	c := tinyCheckpoint(t, "tiny")
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	buf, _ := os.ReadFile(path)
	st, err := safetensors.Deserialize(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := len(c.Gen) + len(c.AvgGen) + len(c.Dis) + len(c.Extra)
	if st.Len() != want {
		t.Errorf("library sees %d tensors, want %d", st.Len(), want)
	}
	v, ok := st.Tensor("gen.l1.bias")
	if !ok || v.DType().String() != "F32" || len(v.Data()) != 4*len(c.Gen["l1.bias"].F32) {
		t.Errorf("gen.l1.bias: %v %v", ok, v.DType())
	}
	if v, ok := st.Tensor("opt.step"); !ok || v.DType().String() != "I64" {
		t.Errorf("opt.step not I64")
	}
	_, md, err := safetensors.ReadMetadata(buf)
	if err != nil || md.Metadata()[MetaFormat] != Format {
		t.Errorf("metadata: %v %v", md.Metadata(), err)
	}
}

func TestSamplerAndOptionalGroups(t *testing.T) {
	c := tinyCheckpoint(t, "tiny")
	if c.Sampler()["l1.weight"] != c.AvgGen["l1.weight"] {
		t.Error("Sampler should prefer AvgGen")
	}
	c.AvgGen, c.Dis, c.Extra, c.Meta = nil, nil, nil, nil
	path := filepath.Join(t.TempDir(), "g.safetensors")
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.AvgGen != nil || got.Dis != nil || got.Sampler()["l1.weight"] == nil {
		t.Errorf("bare G: AvgGen %v Dis %v", got.AvgGen != nil, got.Dis != nil)
	}
	c.Gen = nil
	if err := Save(path, c); err == nil || !strings.Contains(err.Error(), "no generator") {
		t.Errorf("Save without Gen: %v", err)
	}
}

func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	if err := Save(path, tinyCheckpoint(t, "tiny")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// A write that fails half-way leaves the old file and no temporary file.
	err := atomicfile.Write(path, func(w io.Writer) error {
		w.Write(before[:len(before)/2])
		return errors.New("disk full")
	})
	if err == nil {
		t.Fatal("no error from a failing write")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the old checkpoint changed")
	}
	// A rename that fails (the target is a folder) cleans up too.
	sub := filepath.Join(dir, "adir")
	os.Mkdir(sub, 0o755)
	if err := Save(sub, tinyCheckpoint(t, "tiny")); err == nil {
		t.Error("saving over a folder: no error")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	// An invalid checkpoint is refused before anything is written.
	bad := tinyCheckpoint(t, "tiny")
	bad.Gen["l1.bias"].Shape = []int{1}
	if err := Save(path, bad); err == nil {
		t.Error("invalid checkpoint saved")
	}
	after, _ = os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the old checkpoint changed")
	}
}

// writeRaw writes c's tensors and metadata without validation, after edit.
func writeRaw(t *testing.T, path string, c *Checkpoint, edit func(map[string]*model.Tensor, map[string]string)) {
	t.Helper()
	tensors := map[string]*model.Tensor{}
	for k, v := range c.Gen {
		tensors[GenPrefix+k] = v
	}
	for k, v := range c.Dis {
		tensors[DisPrefix+k] = v
	}
	meta := map[string]string{MetaFormat: Format, MetaFormatVersion: FormatVersion, MetaConfig: c.Config.JSON()}
	edit(tensors, meta)
	if err := WriteTensors(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	c := tinyCheckpoint(t, "tiny")
	good := filepath.Join(dir, "good.safetensors")
	if err := Save(good, c); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	other, _ := model.Preset("s")
	cases := map[string]struct {
		make func(path string)
		want string
	}{
		"wrong shape": {func(p string) {
			writeRaw(t, p, c, func(m map[string]*model.Tensor, _ map[string]string) {
				m["gen.blocks.0.attn.qkv.weight"] = &model.Tensor{Shape: []int{2, 3}, F32: make([]float32, 6)}
			})
		}, fmt.Sprintf(`tensor "gen.blocks.0.attn.qkv.weight" has shape [2 3], the config needs [%d %d]`, 3*c.Config.GDim, c.Config.GDim)},
		"missing key": {func(p string) {
			writeRaw(t, p, c, func(m map[string]*model.Tensor, _ map[string]string) { delete(m, "dis.head.bias") })
		}, `missing tensor "dis.head.bias"`},
		"wrong type": {func(p string) {
			writeRaw(t, p, c, func(m map[string]*model.Tensor, _ map[string]string) {
				m["gen.l1.bias"] = &model.Tensor{Shape: m["gen.l1.bias"].Shape, I64: make([]int64, len(m["gen.l1.bias"].F32))}
			})
		}, `tensor "gen.l1.bias": wrong element type`},
		"other architecture": {func(p string) {
			writeRaw(t, p, c, func(_ map[string]*model.Tensor, meta map[string]string) { meta[MetaConfig] = other.JSON() })
		}, `tensor "gen.l1.weight" has shape`},
		"bad config": {func(p string) {
			writeRaw(t, p, c, func(_ map[string]*model.Tensor, meta map[string]string) { meta[MetaConfig] = `{"version":"v3"}` })
		}, `version "v3"`},
		"not tgan": {func(p string) {
			writeRaw(t, p, c, func(_ map[string]*model.Tensor, meta map[string]string) { delete(meta, MetaFormat) })
		}, "not a tgan checkpoint"},
		"future version": {func(p string) {
			writeRaw(t, p, c, func(_ map[string]*model.Tensor, meta map[string]string) { meta[MetaFormatVersion] = "2" })
		}, `format_version "2"`},
		"random bytes": {func(p string) {
			b := make([]byte, 4096)
			rand.New(rand.NewSource(2)).Read(b)
			os.WriteFile(p, b, 0o644)
		}, "not a safetensors file"},
		"tiny file":  {func(p string) { os.WriteFile(p, []byte("abc"), 0o644) }, "shorter than 8 bytes"},
		"truncated":  {func(p string) { os.WriteFile(p, raw[:len(raw)/2], 0o644) }, "truncated"},
		"short data": {func(p string) { os.WriteFile(p, raw[:len(raw)-4], 0o644) }, "run past the end"},
	}
	for name, tc := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".safetensors")
		tc.make(path)
		_, err := Load(path)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "checkpoint "+path+": ") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q should be one line, name the file and contain %q", name, msg, tc.want)
		}
	}
	if _, err := Load(filepath.Join(dir, "nope.safetensors")); err == nil || !strings.Contains(err.Error(), "nope.safetensors") {
		t.Errorf("missing file: %v", err)
	}
}
