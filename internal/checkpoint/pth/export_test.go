package pth

import (
	"archive/zip"
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/trainer"
)

// exportConfigs are small configs the official code can express: the v1
// CIFAR generator file's depths and the final code's three stages.
func exportConfigs() map[string]*model.Config {
	v1, _ := model.Preset("v1-cifar")
	v1.LatentDim, v1.GDim, v1.BottomWidth, v1.ImageSize = 8, 64, 2, 8
	v1.DDim, v1.DDepth, v1.DPatch = 16, 1, 2
	fin, _ := model.Preset("final-cifar")
	fin.LatentDim, fin.GDim, fin.BottomWidth, fin.ImageSize, fin.GDepths = 8, 64, 2, 8, []int{1, 1, 1}
	fin.DDim, fin.DDepth, fin.DPatch = 16, 1, 2
	return map[string]*model.Config{"v1": v1, "final": fin}
}

// trainedCheckpoint is a checkpoint as tgan train writes it after steps G
// and 5*steps D updates: random weights (EMA differing from G), random
// Adam moments for every trained tensor, fixed_z and the trainer state.
func trainedCheckpoint(t *testing.T, cfg *model.Config, seed int64) *checkpoint.Checkpoint {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	ck := &checkpoint.Checkpoint{
		Config: cfg,
		Gen:    model.InitWeights(cfg.GParams(), rng),
		AvgGen: model.InitWeights(cfg.GParams(), rng),
		Dis:    model.InitWeights(cfg.DParams(), rng),
		Extra:  map[string]*model.Tensor{"fixed_z": randTensor(rng, []int{4, cfg.LatentDim}, false)},
	}
	for net, ps := range map[string][]model.Param{"gen": cfg.GParams(), "dis": cfg.DParams()} {
		for _, p := range ps {
			if !p.Buffer {
				ck.Extra[optKey(net, "m", p.Name)] = randTensor(rng, p.Shape, false)
				ck.Extra[optKey(net, "v", p.Name)] = randTensor(rng, p.Shape, true)
			}
		}
	}
	st := trainer.State{Iter: 35, GSteps: 7, AdamGStep: 7, AdamDStep: 35}
	st.Options = trainer.Options{Seed: 3, LRG: 2e-4}.Defaults(cfg)
	st.Loader.Epoch, st.Loader.Pos = 2, 64
	js, _ := json.Marshal(st)
	ck.Meta = map[string]string{trainer.MetaState: string(js), "run": `{"dataset":"cifar10"}`}
	if err := ck.Validate(); err != nil {
		t.Fatal(err)
	}
	return ck
}

// withRecipe is opts with ck's training recipe, as cmd/tgan fills it: the
// trainer state's options with the defaults filled in.
func withRecipe(t *testing.T, ck *checkpoint.Checkpoint, opts ExportOptions) ExportOptions {
	t.Helper()
	st, _, err := checkpoint.ReadState[trainer.Options](ck)
	if err != nil {
		t.Fatal(err)
	}
	o := st.Options.Defaults(ck.Config)
	opts.Recipe = Recipe{
		Loss: o.Loss, NCritic: o.NCritic, GenBatch: o.GenBatch, DisBatch: o.DisBatch, Phi: o.Phi,
		LRG: o.LRG, LRD: o.LRD, Beta1: o.Beta1, Beta2: o.Beta2, AdamEps: o.AdamEps,
		EMABeta: o.EMABeta, EMAKimg: o.EMAKimg, EMAWarmup: o.EMAWarmup, Augment: o.Augment,
		MaskEpochSteps: o.MaskEpochSteps, SRWeight: o.SRWeight,
	}
	return opts
}

func randTensor(rng *rand.Rand, shape []int, positive bool) *model.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	t := &model.Tensor{Shape: shape, F32: make([]float32, n)}
	for i := range t.F32 {
		t.F32[i] = float32(rng.NormFloat64())
		if positive {
			t.F32[i] *= t.F32[i]
		}
	}
	return t
}

// TestExportImportRoundTrip: checkpoint -> Export -> Import gives the same
// weights, EMA weights, Adam moments, fixed_z and metadata, bit for bit, for
// both code versions, with and without the DDP "module." prefix.
func TestExportImportRoundTrip(t *testing.T) {
	for name, cfg := range exportConfigs() {
		for _, prefix := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: "/module"}[prefix], func(t *testing.T) {
				ck := trainedCheckpoint(t, cfg, 1)
				out := filepath.Join(t.TempDir(), "run.pth")
				info, err := Export(out, ck, withRecipe(t, ck, ExportOptions{ModulePrefix: prefix, PathHelper: "/data/logs/run"}))
				if err != nil {
					t.Fatal(err)
				}
				if info.Bare || info.Epoch != 2 {
					t.Errorf("info %+v", info)
				}
				back, warns, err := Import(out, Options{})
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range warns {
					t.Errorf("warning: %s", w)
				}
				if back.Config.JSON() != cfg.JSON() {
					t.Errorf("config %s, want %s", back.Config.JSON(), cfg.JSON())
				}
				sameWeights(t, "gen", back.Gen, ck.Gen)
				sameWeights(t, "avg_gen", back.AvgGen, ck.AvgGen)
				sameWeights(t, "dis", back.Dis, ck.Dis)
				sameWeights(t, "extra", back.Extra, ck.Extra)
				for k, v := range ck.Meta {
					if back.Meta[k] != v {
						t.Errorf("meta %s = %q, want %q", k, back.Meta[k], v)
					}
				}
				if back.Meta[metaAdamGStep] != "7" || back.Meta[metaAdamDStep] != "35" || back.Meta[metaEpoch] != "2" {
					t.Errorf("official counters in meta: %v", back.Meta)
				}
				checkLayout(t, out, prefix)
			})
		}
	}
}

// sameWeights compares every tensor bit for bit.
func sameWeights(t *testing.T, what string, got, want model.Weights) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d tensors, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if g == nil || !model.SameShape(g.Shape, w.Shape) || len(g.F32) != len(w.F32) || !reflect.DeepEqual(g.I64, w.I64) {
			t.Errorf("%s: tensor %q differs in shape, type or presence", what, k)
			continue
		}
		for i := range w.F32 {
			if math.Float32bits(g.F32[i]) != math.Float32bits(w.F32[i]) {
				t.Errorf("%s: tensor %q element %d: %v, want %v", what, k, i, g.F32[i], w.F32[i])
				break
			}
		}
	}
}

// checkLayout verifies the archive as torch.save lays it out: every record
// stored (not deflated) under one folder, data aligned to 64 bytes, the
// byteorder and version records, and the state_dict key prefix.
func checkLayout(t *testing.T, path string, prefix bool) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
		if f.Method != zip.Store {
			t.Errorf("%s is compressed", f.Name)
		}
		off, err := f.DataOffset()
		if err != nil || off%storageAlign != 0 {
			t.Errorf("%s: data at offset %d (%v), want a multiple of %d", f.Name, off, err, storageAlign)
		}
		if !strings.HasPrefix(f.Name, archiveName+"/") {
			t.Errorf("record %s outside %s/", f.Name, archiveName)
		}
	}
	for _, n := range []string{"data.pkl", "byteorder", "version", "data/0"} {
		if !names[archiveName+"/"+n] {
			t.Errorf("no record %s", n)
		}
	}
	obj, err := loadPickle(path)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := dictEntries(obj)
	for _, e := range top {
		if e.key != keyGen {
			continue
		}
		sd, _ := dictEntries(e.value)
		if got := strings.HasPrefix(sd[0].key, "module."); got != prefix {
			t.Errorf("first gen key %q, module prefix wanted: %v", sd[0].key, prefix)
		}
	}
}

// TestOfficialParameterOrder pins the parameters() order of the official
// modules: a module's own parameters before its children's (the generator's
// pos_embed_N before l1; the final D's noise_strength_1, then the
// relative-position table, before qkv), and the v1 to_rgb BatchNorm
// (weight and bias are parameters) between the blocks and deconv.
func TestOfficialParameterOrder(t *testing.T) {
	cfgs := exportConfigs()
	fin, v1 := cfgs["final"], cfgs["v1"]
	g := officialParameters(fin, false)
	if !reflect.DeepEqual(g[:6], []string{"pos_embed_1", "pos_embed_2", "pos_embed_3", "l1.weight", "l1.bias", "blocks.block.0.norm1.norm.weight"}) {
		t.Errorf("final G starts %v", g[:6])
	}
	if !reflect.DeepEqual(g[7:9], []string{"blocks.block.0.attn.relative_position_bias_table", "blocks.block.0.attn.qkv.weight"}) {
		t.Errorf("final G block 0: %v", g[5:12])
	}
	d := officialParameters(fin, true)
	want := []string{"cls_token", "pos_embed_1", "pos_embed_2", "fRGB_1.weight", "fRGB_1.bias", "fRGB_2.weight", "fRGB_2.bias",
		"blocks_1.0.norm1.norm.weight", "blocks_1.0.norm1.norm.bias", "blocks_1.0.attn.noise_strength_1",
		"blocks_1.0.attn.relative_position_bias_table", "blocks_1.0.attn.qkv.weight"}
	if !reflect.DeepEqual(d[:len(want)], want) {
		t.Errorf("final D starts %v", d[:len(want)])
	}
	if d[len(d)-1] != "head.bias" || len(d) != len(fin.DParams())-2 { // less the two index buffers
		t.Errorf("final D: %d parameters ending %s", len(d), d[len(d)-1])
	}
	gv := officialParameters(v1, false)
	tail := []string{"to_rgb.0.weight", "to_rgb.0.bias", "deconv.0.weight", "deconv.0.bias"}
	if !reflect.DeepEqual(gv[len(gv)-4:], tail) {
		t.Errorf("v1 G ends %v", gv[len(gv)-4:])
	}
	sd := officialStateDict(v1, false)
	if sd[len(sd)-3].Name != "to_rgb.0.num_batches_tracked" || len(sd) != len(v1.GParams()) {
		t.Errorf("v1 G state_dict: %d tensors, %s third from last", len(sd), sd[len(sd)-3].Name)
	}
	dv := officialParameters(v1, true)
	if !reflect.DeepEqual(dv[:4], []string{"cls_token", "pos_embed", "patch_embed.weight", "patch_embed.bias"}) {
		t.Errorf("v1 D starts %v", dv[:4])
	}
}

// TestExportBareGenerator: a checkpoint without a discriminator becomes a
// bare generator state_dict (the EMA weights) that imports back.
func TestExportBareGenerator(t *testing.T) {
	ck := trainedCheckpoint(t, exportConfigs()["final"], 2)
	ck.Dis, ck.Extra, ck.Meta = nil, nil, map[string]string{}
	out := filepath.Join(t.TempDir(), "g.pth")
	info, err := Export(out, ck, withRecipe(t, ck, ExportOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Bare {
		t.Error("not reported as bare")
	}
	obj, err := loadPickle(out)
	if err != nil {
		t.Fatal(err)
	}
	if top, _ := dictEntries(obj); isTraining(top) {
		t.Error("a training dict, want a bare state_dict")
	}
	back, _, err := Import(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameWeights(t, "gen", back.Gen, ck.AvgGen)
}

// TestExportBadInput: configs and runs the official code cannot express
// fail in one line naming the setting, and leave no file.
func TestExportBadInput(t *testing.T) {
	tiny, _ := model.Preset("tiny")
	heads := exportConfigs()["final"]
	heads.GHeads, heads.DHeads = 2, 2
	patch := exportConfigs()["final"]
	patch.DPatch = 1
	mask := exportConfigs()["v1"]
	mask.MaskSchedule = nil
	cases := []struct {
		name string
		ck   func() *checkpoint.Checkpoint
		want string
	}{
		{"tiny preset", func() *checkpoint.Checkpoint { return trainedCheckpoint(t, tiny, 1) }, "generator depths [2 1 1]"},
		{"heads", func() *checkpoint.Checkpoint { return trainedCheckpoint(t, heads, 1) }, "G/D heads 2/2"},
		{"final D patch", func() *checkpoint.Checkpoint { return trainedCheckpoint(t, patch, 1) }, "D patch 1"},
		{"v1 mask", func() *checkpoint.Checkpoint { return trainedCheckpoint(t, mask, 1) }, "mask schedule []"},
		{"sr weight", func() *checkpoint.Checkpoint {
			ck := trainedCheckpoint(t, exportConfigs()["v1"], 1)
			ck.Meta[trainer.MetaState] = strings.Replace(ck.Meta[trainer.MetaState], `"seed":3`, `"seed":3,"sr_weight":0.1`, 1)
			return ck
		}, "multi-task co-training (sr_weight 0.1)"},
		{"bad moments", func() *checkpoint.Checkpoint {
			ck := trainedCheckpoint(t, exportConfigs()["v1"], 1)
			delete(ck.Extra, "opt.dis.v.head.bias")
			return ck
		}, `Adam moments of dis "head.bias" are incomplete`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.pth")
			ck := c.ck()
			_, err := Export(out, ck, withRecipe(t, ck, ExportOptions{}))
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line with %q", err, c.want)
			}
			if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
				t.Errorf("left %d files", len(ents))
			}
		})
	}
}

// TestImportAdamMismatch: an optimizer whose moments do not fit the
// inferred parameters is dropped with a warning, the weights still import.
func TestImportAdamMismatch(t *testing.T) {
	ck := trainedCheckpoint(t, exportConfigs()["final"], 3)
	// Swap two moments of different shapes: the indices no longer fit.
	m := ck.Extra
	m["opt.gen.m.l1.bias"], m["opt.gen.m.l1.weight"] = m["opt.gen.m.l1.weight"], m["opt.gen.m.l1.bias"]
	m["opt.gen.v.l1.bias"], m["opt.gen.v.l1.weight"] = m["opt.gen.v.l1.weight"], m["opt.gen.v.l1.bias"]
	out := filepath.Join(t.TempDir(), "x.pth")
	if _, err := Export(out, ck, withRecipe(t, ck, ExportOptions{})); err != nil {
		t.Fatal(err)
	}
	back, warns, err := Import(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warns, "\n")
	if !strings.Contains(joined, `gen_optimizer state 3 (l1.weight): exp_avg has shape [256], the parameter [256 8]: not imported`) {
		t.Errorf("warnings: %s", joined)
	}
	if back.Extra["opt.gen.m.l1.bias"] != nil || back.Extra["opt.dis.m.head.bias"] == nil {
		t.Error("want the G moments dropped and the D moments kept")
	}
	sameWeights(t, "gen", back.Gen, ck.Gen)
}

// TestReexportImported: an imported official file (no tgan trainer state)
// exports again with its epoch, best_fid, Adam steps and hyper-parameters.
func TestReexportImported(t *testing.T) {
	ck := trainedCheckpoint(t, exportConfigs()["final"], 5)
	ck.Meta = map[string]string{"official_epoch": "12", "official_best_fid": "23.5", "official_adam_g_step": "30",
		"official_adam_d_step": "120", "official_gen_lr": "5e-05", "official_dis_lr": "0.0002",
		"official_gen_beta1": "0.5", "official_gen_beta2": "0.9", "official_gen_eps": "1e-06"}
	dir := t.TempDir()
	first, second := filepath.Join(dir, "a.pth"), filepath.Join(dir, "b.pth")
	if _, err := Export(first, ck, withRecipe(t, ck, ExportOptions{})); err != nil {
		t.Fatal(err)
	}
	back, _, err := Import(first, Options{})
	if err != nil {
		t.Fatal(err)
	}
	delete(back.Meta, "tgan_version")
	if _, err := Export(second, back, withRecipe(t, back, ExportOptions{})); err != nil {
		t.Fatal(err)
	}
	again, _, err := Import(second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ck.Meta {
		if again.Meta[k] != v {
			t.Errorf("meta %s = %q, want %q", k, again.Meta[k], v)
		}
	}
	sameWeights(t, "extra", again.Extra, ck.Extra)
	// The official entries themselves, not only tgan_meta, hold the values.
	obj, err := loadPickle(second)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := anyDict(obj)
	if top["epoch"] != 12 || top["best_fid"] != 23.5 {
		t.Errorf("epoch %v, best_fid %v", top["epoch"], top["best_fid"])
	}
	dopt, _ := anyDict(top[keyDisOpt])
	st, err := readAdam(top[keyGenOpt], ck.Config.GParams(), officialParameters(ck.Config, false), "gen")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"lr": 5e-5, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6}
	if st.steps != 30 || !reflect.DeepEqual(st.group, want) || dopt == nil {
		t.Errorf("gen_optimizer: step %d, group %v", st.steps, st.group)
	}
}

// TestImportBadOptimizer: malformed optimizer entries never fail the import
// or panic; each is dropped with a warning naming what is wrong.
func TestImportBadOptimizer(t *testing.T) {
	cfg := exportConfigs()["v1"]
	ck := trainedCheckpoint(t, cfg, 4)
	_, good, err := buildExport(ck, withRecipe(t, ck, ExportOptions{}), "x")
	if err != nil {
		t.Fatal(err)
	}
	group := func(params ...any) *pyDict {
		g := &pyDict{}
		g.set("lr", 1e-4)
		g.set("params", pyList(params))
		return g
	}
	entry := func(step any, m *model.Tensor) *pyDict {
		e := &pyDict{}
		e.set("step", step)
		e.set("exp_avg", m)
		e.set("exp_avg_sq", m)
		return e
	}
	n := len(officialParameters(cfg, false))
	all := make([]any, n)
	for i := range all {
		all[i] = i
	}
	pos := &model.Tensor{Shape: []int{1, 16}, F32: make([]float32, 16)}
	opt := func(state *pyDict, groups pyList) *pyDict {
		d := &pyDict{}
		d.set("state", state)
		d.set("param_groups", groups)
		return d
	}
	one := func(key, value any) *pyDict { d := &pyDict{}; d.set(key, value); return d }
	cases := []struct {
		name  string
		value any
		want  string
	}{
		{"a string", "adam", "is a str, want an optimizer state_dict"},
		{"no groups", opt(&pyDict{}, pyList{}), "has no param_groups list"},
		{"too few params", opt(&pyDict{}, pyList{group(0, 1)}), "lists 2 parameters"},
		{"string state key", opt(one("0", entry(1, pos)), pyList{group(all...)}), "state key 0 is not a parameter index"},
		{"negative step", opt(one(0, entry(-1, pos)), pyList{group(all...)}), "step -1 is not a count"},
		{"fractional step", opt(one(0, entry(1.5, pos)), pyList{group(all...)}), "step 1.5 is not a count"},
		{"moment of another shape", opt(one(0, entry(1, &model.Tensor{Shape: []int{3}, F32: make([]float32, 3)})), pyList{group(all...)}),
			"state 0 (pos_embed_1): exp_avg has shape [3], the parameter [1 4 64]"},
		{"moment not a tensor", opt(one(0, one("step", 1)), pyList{group(all...)}), "exp_avg is a None, want a tensor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := *good.(*pyDict)
			root.items = append([]pyItem(nil), root.items...)
			for i := range root.items {
				if root.items[i].key == keyGenOpt {
					root.items[i].value = c.value
				}
			}
			out := filepath.Join(t.TempDir(), "bad.pth")
			if err := writePTH(out, &root); err != nil {
				t.Fatal(err)
			}
			back, warns, err := Import(out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(warns, "\n")
			if !strings.Contains(joined, "gen_optimizer") || !strings.Contains(joined, c.want) {
				t.Errorf("warnings lack %q:\n%s", c.want, joined)
			}
			if back.Extra["opt.gen.m.l1.weight"] != nil || back.Extra["opt.dis.m.head.bias"] == nil {
				t.Error("want the G moments dropped and the D moments kept")
			}
		})
	}
}
