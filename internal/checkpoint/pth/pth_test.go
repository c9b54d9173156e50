package pth

import (
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/tgan-dev/tgan/model"
)

// The .pth files in testdata were made by testdata/make_pth.py (see there).

func TestConvertLayouts(t *testing.T) {
	obj, err := loadPickle("testdata/tensors.pth")
	if err != nil {
		t.Fatal(err)
	}
	es, ok := dictEntries(obj)
	if !ok {
		t.Fatalf("top level is a %s", typeName(obj))
	}
	want := map[string]*model.Tensor{
		"contig":     {Shape: []int{2, 3}, F32: []float32{0, 1, 2, 3, 4, 5}},
		"transposed": {Shape: []int{3, 2}, F32: []float32{0, 3, 1, 4, 2, 5}},
		"offset":     {Shape: []int{4}, F32: []float32{3, 4, 5, 6}},
		"f64":        {Shape: []int{4}, F32: []float32{0, .25, .5, .75}},
		"f16":        {Shape: []int{4}, F32: []float32{0, .5, 1, 1.5}},
		"i64":        {Shape: []int{3}, I64: []int64{0, 1, 2}},
		"param":      {Shape: []int{2}, F32: []float32{1.5, -2}},
		"scalar":     {Shape: []int{}, F32: []float32{3.25}},
	}
	notes := map[string]string{"f64": "float64", "f16": "float16"}
	for _, e := range es {
		pt, ok := e.value.(*pytorch.Tensor)
		if !ok {
			t.Fatalf("%s: a %s", e.key, typeName(e.value))
		}
		got, note, err := convert(pt)
		if err != nil {
			t.Fatalf("%s: %v", e.key, err)
		}
		if !reflect.DeepEqual(got, want[e.key]) {
			t.Errorf("%s: got %+v, want %+v", e.key, got, want[e.key])
		}
		if !strings.Contains(note, notes[e.key]) || (notes[e.key] == "") != (note == "") {
			t.Errorf("%s: note %q", e.key, note)
		}
	}
	if len(es) != len(want) {
		t.Errorf("%d entries, want %d", len(es), len(want))
	}
}

func TestImportVariants(t *testing.T) {
	ck, warns, err := Import("testdata/variants.pth", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := ck.Config
	if c.Version != model.Final || c.GHeads != 2 || c.DHeads != 2 || c.MLPRatio != 2 || c.DPatch != 1 ||
		c.DDim != 16 || !c.GRelPos || !c.DRelPos || c.ImageSize != 4 || len(c.MaskSchedule) != 0 {
		t.Errorf("inferred config %s", c.JSON())
	}
	joined := strings.Join(warns, "\n")
	for _, w := range []string{`gen_state_dict: key "unused_buffer" is not used`, "dis_state_dict: 1 tensors float64 converted",
		`ignored top-level entry "args"`} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings lack %q:\n%s", w, joined)
		}
	}
	if _, ok := ck.Gen["blocks.block.0.norm1.norm.weight"]; !ok {
		t.Error("norm1.weight not mapped to its official name")
	}
	if ck.Meta["official_epoch"] != "7" || ck.Meta["official_gen_model"] != "ViT_custom_rp" {
		t.Errorf("meta %v", ck.Meta)
	}
	if z := ck.Extra["fixed_z"]; z == nil || !reflect.DeepEqual(z.Shape, []int{2, 8}) {
		t.Errorf("fixed_z %+v", z)
	}
	if _, _, err := Import("testdata/variants.pth", Options{GHeads: 4}); err == nil ||
		!strings.Contains(err.Error(), "2 heads, the option asks for 4") {
		t.Errorf("conflicting GHeads: %v", err)
	}
}

func TestImportLegacyProj(t *testing.T) {
	ck, warns, err := Import("testdata/v1_proj.pth", Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := ck.Config
	if c.Version != model.V1 || c.DKind != model.DViT || c.DDim != 16 || c.DDepth != 2 || c.DPatch != 2 ||
		!reflect.DeepEqual(c.MaskSchedule, model.V1MaskSchedule()) {
		t.Errorf("inferred config %s", c.JSON())
	}
	if len(ck.Gen["to_rgb.0.running_var"].F32) != 16 || len(ck.Gen["to_rgb.0.num_batches_tracked"].I64) != 1 {
		t.Error("v1 to_rgb BatchNorm tensors not kept")
	}
	for _, w := range warns {
		if strings.Contains(w, "not used") {
			t.Errorf("unexpected warning %q", w)
		}
	}
	ck, _, err = Import("testdata/v1_proj.pth", Options{GHeads: 2, DHeads: 8})
	if err != nil || ck.Config.GHeads != 2 || ck.Config.DHeads != 8 {
		t.Errorf("head overrides: %v", err)
	}
}

// A non-contiguous tensor imports with its logical (row-major) values.
func TestImportStrides(t *testing.T) {
	ck, _, err := Import("testdata/v1_proj.pth", Options{})
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := loadPickle("testdata/v1_proj.pth")
	top, _ := dictEntries(obj)
	sd, _ := dictEntries(top[0].value)
	for _, e := range sd {
		if e.key != "l1.weight" {
			continue
		}
		pt := e.value.(*pytorch.Tensor)
		if contiguous(pt) {
			t.Fatal("test file lost its non-contiguous l1.weight")
		}
		data := pt.Source.(*pytorch.FloatStorage).Data
		got := ck.Gen["l1.weight"]
		in := got.Shape[1]
		for i, v := range got.F32 {
			if want := data[pt.StorageOffset+(i/in)*pt.Stride[0]+(i%in)*pt.Stride[1]]; v != want {
				t.Fatalf("element %d: %v, want %v", i, v, want)
			}
		}
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	random := filepath.Join(dir, "random.pth")
	b := make([]byte, 1<<12)
	rand.New(rand.NewSource(3)).Read(b)
	os.WriteFile(random, b, 0o644)
	cut := func(src, name string) string {
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, raw[:len(raw)/2], 0o644)
		return p
	}
	empty := filepath.Join(dir, "empty.pth")
	os.WriteFile(empty, nil, 0o644)
	cases := map[string]string{
		"testdata/wrong_shape.pth": `tensor "upsample_blocks.0.block.0.attn.proj.weight" has shape [4 3], the config needs [4 4]`,
		"testdata/missing_key.pth": `missing tensor "blocks.block.0.mlp.fc2.bias" [16]`,
		"testdata/bad_index.pth":   `tensor "blocks.block.0.attn.relative_position_index" differs from the relative position index`,
		"testdata/list.pth":        "holds a list, want a dict",
		"testdata/not_tensors.pth": `entry "a" is not a tensor (int)`,
		random:                     "not a PyTorch checkpoint",
		empty:                      "empty file",
		cut("testdata/variants.pth", "cut_zip.pth"):   "corrupt or truncated zip",
		cut("testdata/v1_proj.pth", "cut_legacy.pth"): "truncated",
		filepath.Join(dir, "missing.pth"):             "no such file",
	}
	for path, want := range cases {
		_, _, err := Import(path, Options{})
		if err == nil {
			t.Errorf("%s: no error", path)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "pth "+path+": ") || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q should be one line, name the file and contain %q", path, msg, want)
		}
	}
}

func TestVariants(t *testing.T) {
	cases := map[string][]string{
		"blocks.0.norm1.weight":    {"blocks.0.norm1.weight", "blocks.0.norm1.norm.weight"},
		"blocks.0.norm2.norm.bias": {"blocks.0.norm2.norm.bias", "blocks.0.norm2.bias"},
		"norm.norm.weight":         {"norm.norm.weight", "norm.weight"},
		"norm.bias":                {"norm.bias", "norm.norm.bias"},
		"patch_embed.weight":       {"patch_embed.weight", "patch_embed.proj.weight"},
		"blocks.0.attn.qkv.weight": {"blocks.0.attn.qkv.weight"},
	}
	for in, want := range cases {
		if got := variants(in); !reflect.DeepEqual(got, want) {
			t.Errorf("variants(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMissingDerivableTensors: a file without relative-position index
// buffers or attention noise strengths still imports (they are computed /
// zero, which is what the model does without them), with a warning each;
// any other missing tensor stays an error naming it.
func TestMissingDerivableTensors(t *testing.T) {
	ck, _, err := Import("../../../testdata/golden/final_small/official.pth", Options{})
	if err != nil {
		t.Fatal(err)
	}
	params := ck.Config.DParams()
	src := map[string]*model.Tensor{}
	dropped := 0
	for name, tt := range ck.Dis {
		if strings.HasSuffix(name, "relative_position_index") || strings.HasSuffix(name, "noise_strength_1") {
			dropped++
			continue
		}
		src[name] = tt
	}
	im := &importer{}
	w, err := im.mapGroup("dis_state_dict", src, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.warns) != dropped || dropped == 0 {
		t.Errorf("%d warnings for %d derived tensors: %v", len(im.warns), dropped, im.warns)
	}
	for name, want := range ck.Dis {
		got := w[name]
		for i := range want.I64 {
			if got.I64[i] != want.I64[i] {
				t.Fatalf("%s differs at %d", name, i)
			}
		}
		for i := range want.F32 {
			if got.F32[i] != want.F32[i] {
				t.Fatalf("%s differs at %d", name, i)
			}
		}
	}
	delete(src, "head.weight")
	if _, err := (&importer{}).mapGroup("dis_state_dict", src, params); err == nil || !strings.Contains(err.Error(), `"head.weight"`) {
		t.Errorf("missing head.weight: %v", err)
	}
}

// TestToRGBVariants: the unused v1 BatchNorm may be missing or shaped
// differently in a file; the import still succeeds with defaults.
func TestToRGBVariants(t *testing.T) {
	ck, _, err := Import("../../../testdata/golden/v1_small/official.pth", Options{})
	if err != nil {
		t.Fatal(err)
	}
	params := ck.Config.GParams()
	for _, mode := range []string{"missing", "reshaped"} {
		src := map[string]*model.Tensor{}
		for name, tt := range ck.Gen {
			src[name] = tt
		}
		for name := range src {
			if !strings.HasPrefix(name, "to_rgb.") {
				continue
			}
			if mode == "missing" {
				delete(src, name)
			} else if len(src[name].Shape) == 1 {
				src[name] = &model.Tensor{Shape: []int{3}, F32: make([]float32, 3)}
			}
		}
		im := &importer{}
		w, err := im.mapGroup("gen_state_dict", src, params)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if v := w["to_rgb.0.running_var"].F32[0]; v != 1 || len(im.warns) == 0 {
			t.Errorf("%s: running_var %v, warnings %v", mode, v, im.warns)
		}
	}
}
