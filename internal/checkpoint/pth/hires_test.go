package pth

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
)

// hiresConfigs are the zoo's new families at the sizes of the small golden
// cases (see testdata/ref): final-stl (PixelNorm G and D), final-cifar-norp
// (ViT_custom G, ViT_custom_scale2 D), celeba-hq-256 and church-256.
func hiresConfigs(t *testing.T) map[string]*model.Config {
	t.Helper()
	preset := func(name string) *model.Config {
		c, err := model.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	stl := preset("final-stl")
	stl.LatentDim, stl.GDim, stl.BottomWidth, stl.GDepths, stl.ImageSize = 16, 64, 3, []int{1, 1, 1}, 12
	stl.DDim, stl.DDepth, stl.DPatch = 32, 1, 2
	norp := preset("final-cifar-norp")
	norp.LatentDim, norp.GDim, norp.BottomWidth, norp.GDepths, norp.ImageSize = 16, 64, 2, []int{1, 1, 1}, 8
	norp.DDim, norp.DDepth, norp.DPatch = 32, 1, 2
	celeba := preset("celeba-hq-256")
	small256 := func(c *model.Config, depths []int) {
		c.LatentDim, c.GDim, c.BottomWidth, c.GDepths, c.GHeads, c.ImageSize = 16, 128, 2, depths, 2, 64
		c.GWindows = []int{2, 4, 8, 4, 4, 4}
		c.DDepth, c.DHeads, c.DWindow = 3, 4, 4
	}
	small256(celeba, []int{0, 1, 1, 1, 1, 1})
	celeba.DDim, celeba.DPatch = 32, 2
	church := preset("church-256")
	small256(church, []int{1, 1, 1, 1, 1, 1})
	church.DDim, church.DPatch = 64, 4
	cfgs := map[string]*model.Config{"final_stl_small": stl, "final_norp_small": norp,
		"celeba256_small": celeba, "church256_small": church}
	for name, c := range cfgs {
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return cfgs
}

// hiresCheckpoint is trainedCheckpoint with the filter bank's real value
// (model.InitWeights draws every float tensor at random).
func hiresCheckpoint(t *testing.T, cfg *model.Config, seed int64) *checkpoint.Checkpoint {
	t.Helper()
	ck := trainedCheckpoint(t, cfg, seed)
	if cfg.DFilterBank {
		ck.Dis[model.DFilterBankName] = &model.Tensor{Shape: []int{4, 43}, F32: model.FilterBank()}
	}
	// Trained noise strengths are non-zero; the dead ones stay 0.
	rng := rand.New(rand.NewSource(seed))
	for _, w := range []model.Weights{ck.Gen, ck.AvgGen, ck.Dis} {
		for name, tt := range w {
			if strings.HasSuffix(name, "attn.noise_strength_1") {
				tt.F32[0] = float32(rng.NormFloat64())
			}
		}
	}
	return ck
}

// TestHiresExportImportRoundTrip: every new family goes checkpoint ->
// export --pth -> import bit for bit (weights, EMA, Adam moments, config),
// with and without the module. prefix; the state_dicts hold exactly the
// model's tensors in official order, with int64 index buffers, 0-dim noise
// strengths and Hz_fbank; the optimizers index the dead parameters but
// keep no state for them.
func TestHiresExportImportRoundTrip(t *testing.T) {
	for name, cfg := range hiresConfigs(t) {
		for _, prefix := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: "/module"}[prefix], func(t *testing.T) {
				ck := hiresCheckpoint(t, cfg, 1)
				out := filepath.Join(t.TempDir(), "run.pth")
				info, err := Export(out, ck, withRecipe(t, ck, ExportOptions{ModulePrefix: prefix}))
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s + %s, notes %q", info.GenModel, info.DisModel, info.Notes)
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
				checkLayout(t, out, prefix)
				checkHiresFile(t, out, cfg, prefix)
			})
		}
	}
}

// checkHiresFile reads the exported pickle back and checks key sets, key
// order, dtypes and 0-dim tensors of the state dicts and the optimizers'
// parameter lists.
func checkHiresFile(t *testing.T, path string, cfg *model.Config, prefix bool) {
	t.Helper()
	obj, err := loadPickle(path)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := anyDict(obj)
	pre := map[bool]string{false: "", true: "module."}[prefix]
	for _, net := range []struct {
		key    string
		params []model.Param
		dis    bool
	}{{keyGen, cfg.GParams(), false}, {keyAvgGen, cfg.GParams(), false}, {keyDis, cfg.DParams(), true}} {
		es, ok := dictEntries(top[net.key])
		if !ok {
			t.Fatalf("%s is not a dict", net.key)
		}
		var keys []string
		for _, e := range es {
			keys = append(keys, e.key)
		}
		var want []string
		for _, p := range officialStateDict(cfg, net.dis) {
			want = append(want, pre+p.Name)
		}
		if !slices.Equal(keys, want) {
			t.Errorf("%s keys\n %q\nwant %q", net.key, keys, want)
		}
		names := make([]string, len(net.params))
		for i, p := range net.params {
			names[i] = pre + p.Name
		}
		slices.Sort(names)
		slices.Sort(keys)
		if !slices.Equal(keys, names) {
			t.Errorf("%s: key set differs from the model's parameters", net.key)
		}
		sd, _ := im().stateDict(net.key, es)
		for _, p := range net.params {
			got := sd[p.Name]
			if got == nil || p.Int64 != (got.I64 != nil) || !model.SameShape(got.Shape, p.Shape) {
				t.Errorf("%s %s: dtype or shape differs (%+v)", net.key, p.Name, p)
			}
		}
	}
	for _, o := range []struct {
		key string
		dis bool
	}{{keyGenOpt, false}, {keyDisOpt, true}} {
		order := officialParameters(cfg, o.dis)
		params := cfg.GParams()
		if o.dis {
			params = cfg.DParams()
		}
		dead := map[string]bool{}
		for _, p := range params {
			dead[p.Name] = p.Dead
		}
		opt, _ := anyDict(top[o.key])
		st, err := readAdam(top[o.key], params, order, "x")
		if err != nil || st.missing != 0 {
			t.Fatalf("%s: %v (missing %v)", o.key, err, st)
		}
		state, _ := anyDict(opt["state"])
		for i, name := range order {
			if _, has := state[i]; has == dead[name] {
				t.Errorf("%s: index %d (%s, dead %v) has state %v", o.key, i, name, dead[name], has)
			}
		}
	}
}

func im() *importer { return &importer{} }

// TestHiresInferConfig: a file without tgan's own entries (as the official
// code saves it) gives back the config from the tensors alone.
func TestHiresInferConfig(t *testing.T) {
	for name, cfg := range hiresConfigs(t) {
		for _, prefix := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: "/module"}[prefix], func(t *testing.T) {
				ck := hiresCheckpoint(t, cfg, 2)
				out := officialFile(t, ck, prefix, nil)
				back, warns, err := Import(out, Options{})
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range warns {
					t.Errorf("warning: %s", w)
				}
				if back.Config.JSON() != cfg.JSON() {
					t.Errorf("inferred config\n %s\nwant %s", back.Config.JSON(), cfg.JSON())
				}
				sameWeights(t, "dis", back.Dis, ck.Dis)
				sameWeights(t, "gen", back.Gen, ck.Gen)
			})
		}
	}
}

// officialFile exports ck without tgan_meta/tgan_extra, after edit (if
// any) changes the state_dicts, and returns the path.
func officialFile(t *testing.T, ck *checkpoint.Checkpoint, prefix bool, edit func(net string, sd *pyDict)) string {
	t.Helper()
	_, root, err := buildExport(ck, withRecipe(t, ck, ExportOptions{ModulePrefix: prefix}), "x")
	if err != nil {
		t.Fatal(err)
	}
	d := root.(*pyDict)
	var items []pyItem
	for _, it := range d.items {
		switch it.key {
		case keyTganMeta, keyTganExtra:
			continue
		case keyGen, keyAvgGen, keyDis:
			if edit != nil {
				edit(it.key.(string), it.value.(*pyDict))
			}
		}
		items = append(items, it)
	}
	d.items = items
	out := filepath.Join(t.TempDir(), "official.pth")
	if err := writePTH(out, d); err != nil {
		t.Fatal(err)
	}
	return out
}

// replaceTensor sets key (without prefix) of sd to t, or deletes it (nil).
func replaceTensor(sd *pyDict, key string, t *model.Tensor) bool {
	for i, it := range sd.items {
		if strings.TrimPrefix(it.key.(string), "module.") != key {
			continue
		}
		if t == nil {
			sd.items = slices.Delete(sd.items, i, i+1)
		} else {
			sd.items[i].value = t
		}
		return true
	}
	return false
}

// TestHiresBadShape: a file of each family with one tensor of a wrong
// shape fails in one line naming the file, the tensor, its shape and the
// expected shape, for tensors the families add as well as plain ones.
func TestHiresBadShape(t *testing.T) {
	cfgs := hiresConfigs(t)
	cases := []struct {
		family, net, key string
		shape, want      []int
	}{
		{"final_stl_small", keyGen, "upsample_blocks.0.block.0.mlp.fc2.weight", []int{16, 63}, []int{16, 64}},
		{"final_stl_small", keyDis, "blocks_2.0.attn.qkv.weight", []int{96, 31}, []int{96, 32}},
		{"final_norp_small", keyGen, "blocks.block.0.attn.noise_strength_1", []int{1}, []int{}},
		{"final_norp_small", keyDis, "blocks_1.0.attn.proj.weight", []int{24, 23}, []int{24, 24}},
		{"celeba256_small", keyGen, "blocks_3.block.0.cross_attention.k_transform.weight", []int{128, 64}, []int{128, 128}},
		{"celeba256_small", keyGen, "embed_pos", []int{1, 4, 64}, []int{1, 4, 128}},
		{"celeba256_small", keyGen, "blocks_5.block.0.attn.proj.bias", []int{7}, []int{8}},
		{"celeba256_small", keyDis, "fRGB_3.weight", []int{16, 3, 4, 4}, []int{16, 3, 8, 8}},
		{"celeba256_small", keyDis, "Hz_fbank", []int{4, 42}, []int{4, 43}},
		{"church256_small", keyGen, "blocks_6.block.0.mlp.fc1.weight", []int{8, 3}, []int{8, 2}},
		{"church256_small", keyDis, "blocks_11.0.attn.relative_position_bias_table", []int{48, 4}, []int{961, 4}},
		{"church256_small", keyDis, "blocks_3.0.norm2.norm.weight", []int{63}, []int{64}},
	}
	for _, c := range cases {
		t.Run(c.family+"/"+c.key, func(t *testing.T) {
			cfg := cfgs[c.family]
			ck := hiresCheckpoint(t, cfg, 3)
			n := 1
			for _, d := range c.shape {
				n *= d
			}
			bad := &model.Tensor{Shape: c.shape, F32: make([]float32, n)}
			path := officialFile(t, ck, true, func(net string, sd *pyDict) {
				if net == c.net && !replaceTensor(sd, c.key, bad) {
					t.Fatalf("no %s in %s", c.key, net)
				}
			})
			_, _, err := Import(path, Options{})
			want := fmt.Sprintf("tensor %q has shape %v, the config needs %v", c.key, c.shape, c.want)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "pth "+path+": ") ||
				strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v\nwant one line with %q", err, want)
			}
		})
	}
}

// TestHiresBadInput: broken files of the new families fail in one line
// naming the tensor: a wrong Hz_fbank, a corrupt index buffer, a
// LayerNorm file with one norm tensor missing (broken, not PixelNorm), a
// 256 generator table that is no window's, a 256 stage without its table.
func TestHiresBadInput(t *testing.T) {
	cfgs := hiresConfigs(t)
	fb := model.FilterBank()
	fb[50] += 1e-4
	index := &model.Tensor{Shape: []int{16, 16}, I64: model.RelPosIndex(4)}
	index.I64[17] = 0
	cases := []struct {
		name, family, net, key string
		t                      *model.Tensor
		want                   string
	}{
		{"filter bank", "celeba256_small", keyDis, "Hz_fbank", &model.Tensor{Shape: []int{4, 43}, F32: fb},
			`dis_state_dict: tensor "Hz_fbank" differs from the sym2 wavelet filter bank at element 50 (row 1, tap 7)`},
		{"index", "church256_small", keyGen, "blocks_4.block.0.attn.relative_position_index", index,
			`tensor "blocks_4.block.0.attn.relative_position_index" differs from the relative position index of a 4x4 map at element 17`},
		{"one norm missing", "church256_small", keyDis, "blocks_2.1.norm1.norm.bias", nil,
			`dis_state_dict: missing tensor "blocks_2.1.norm1.norm.bias" [56]`},
		{"no window", "church256_small", keyGen, "blocks_2.block.0.attn.relative_position_bias_table",
			&model.Tensor{Shape: []int{10, 2}, F32: make([]float32, 20)},
			`tensor "blocks_2.block.0.attn.relative_position_bias_table" has shape [10 2], want [(2w-1)^2, heads]`},
		{"window not dividing", "celeba256_small", keyGen, "blocks_5.block.0.attn.relative_position_bias_table",
			&model.Tensor{Shape: []int{25, 2}, F32: make([]float32, 50)},
			`tensor "blocks_5.block.0.attn.relative_position_bias_table" has shape [25 2]: window side 3 does not divide the stage side 32 (a global window has [3969, heads])`},
		{"no table", "celeba256_small", keyGen, "blocks_4.block.0.attn.relative_position_bias_table", nil,
			`missing tensor "blocks_4.block.0.attn.relative_position_bias_table"`},
		{"celeba odd kernel", "celeba256_small", keyDis, "fRGB_1.weight",
			&model.Tensor{Shape: []int{8, 3, 3, 3}, F32: make([]float32, 8*27)}, `Celeba256_dis's first kernel is 2*d_patch`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ck := hiresCheckpoint(t, cfgs[c.family], 4)
			path := officialFile(t, ck, false, func(net string, sd *pyDict) {
				if net == c.net && !replaceTensor(sd, c.key, c.t) {
					t.Fatalf("no %s in %s", c.key, net)
				}
			})
			_, _, err := Import(path, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v\nwant one line with %q", err, c.want)
			}
		})
	}
}

// TestHiresParameterOrder pins parameters() order of the new modules: the
// 256 generators' attention registers its table, then noise_strength_1
// (the index buffer is no parameter); Celeba256_gen's dead
// cross_attention.noise_strength_1 counts (it is an nn.Parameter), before
// its q/k/v transforms; Hz_fbank is a buffer of the D itself, written after
// the D's own parameters and before its children.
func TestHiresParameterOrder(t *testing.T) {
	cfgs := hiresConfigs(t)
	cel := cfgs["celeba256_small"]
	g := officialParameters(cel, false)
	want := []string{"pos_embed_1", "pos_embed_2", "pos_embed_3", "pos_embed_4", "pos_embed_5", "pos_embed_6", "embed_pos",
		"l1.weight", "l1.bias", "embedding_transform.weight", "embedding_transform.bias",
		"blocks_2.block.0.attn.relative_position_bias_table", "blocks_2.block.0.attn.noise_strength_1",
		"blocks_2.block.0.attn.qkv.weight"}
	if !reflect.DeepEqual(g[:len(want)], want) {
		t.Errorf("celeba G starts\n %q\nwant %q", g[:len(want)], want)
	}
	i := slices.Index(g, "blocks_2.block.0.cross_attention.noise_strength_1")
	if i < 0 || g[i+1] != "blocks_2.block.0.cross_attention.q_transform.weight" {
		t.Errorf("dead cross-attention noise at %d of %q", i, g)
	}
	trained := 0
	for _, p := range cel.GParams() {
		if !p.Buffer {
			trained++
		}
	}
	if len(g) != trained+5 { // + the five blocks' dead scalars
		t.Errorf("celeba G: %d parameters, want %d trained + 5 dead", len(g), trained)
	}
	sd := officialStateDict(cel, true)
	var names []string
	for _, p := range sd[:9] {
		names = append(names, p.Name)
	}
	wantD := []string{"cls_token", "pos_embed_1", "pos_embed_2", "pos_embed_3", "Hz_fbank",
		"fRGB_1.weight", "fRGB_1.bias", "fRGB_2.weight", "fRGB_2.bias"}
	if !reflect.DeepEqual(names, wantD) {
		t.Errorf("celeba D state_dict starts %q\nwant %q", names, wantD)
	}
	if d := officialParameters(cel, true); slices.Contains(d, "Hz_fbank") {
		t.Error("Hz_fbank among the D parameters")
	}
}

// TestHiresBareGenerator: a bare 256 generator state_dict imports with the
// discriminator of its family's preset.
func TestHiresBareGenerator(t *testing.T) {
	for _, name := range []string{"celeba256_small", "church256_small", "final_norp_small"} {
		cfg := hiresConfigs(t)[name]
		ck := hiresCheckpoint(t, cfg, 5)
		ck.Dis, ck.Extra, ck.Meta = nil, nil, map[string]string{}
		out := filepath.Join(t.TempDir(), "g.pth")
		if _, err := Export(out, ck, withRecipe(t, ck, ExportOptions{})); err != nil {
			t.Fatal(err)
		}
		// Drop tgan's recorded config: a bare dict has none anyway.
		back, _, err := Import(out, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := back.Config
		if c.GArch != cfg.GArch || c.DKind != cfg.DKind || c.DNoNoise != cfg.DNoNoise || c.DFilterBank != cfg.DFilterBank {
			t.Errorf("%s: bare G gave %s", name, c.JSON())
		}
		sameWeights(t, name, back.Gen, ck.AvgGen)
	}
}

// TestHiresExportFilterBank: a checkpoint whose Hz_fbank is not the bank
// (tgan before model.InitWeights computed it drew it like a weight) exports
// the computed bank, so
// the file loads into the official module and imports back.
func TestHiresExportFilterBank(t *testing.T) {
	cfg := hiresConfigs(t)["celeba256_small"]
	ck := trainedCheckpoint(t, cfg, 6)
	bank := ck.Dis[model.DFilterBankName].F32
	for i := range bank { // as a file written before fresh weights carried the real bank
		bank[i] = float32(i%7) * 0.01
	}
	if filterBankMismatch(ck.Dis[model.DFilterBankName]) < 0 {
		t.Fatal("the altered Hz_fbank is the bank")
	}
	out := filepath.Join(t.TempDir(), "x.pth")
	if _, err := Export(out, ck, withRecipe(t, ck, ExportOptions{})); err != nil {
		t.Fatal(err)
	}
	back, _, err := Import(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Dis[model.DFilterBankName].F32; !reflect.DeepEqual(got, model.FilterBank()) {
		t.Errorf("Hz_fbank %v", got[:8])
	}
}
