package pth

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
)

// Options tune the import where the file cannot tell. The zero value
// suits every official checkpoint.
type Options struct {
	// GHeads is the generator's attention head count when the file has no
	// relative position tables to read it from (every v1 file). 0 means 4,
	// the value of every released config. A value that contradicts the
	// tables is an error.
	GHeads int
	// DHeads is the same for the discriminator (v1 ViT D). 0 means 4.
	DHeads int
}

// Top-level entries of an official training checkpoint.
const (
	keyGen    = "gen_state_dict"
	keyAvgGen = "avg_gen_state_dict"
	keyDis    = "dis_state_dict"
)

// ignoredTop are training-dict entries that tgan does not import.
var ignoredTop = map[string]bool{
	"epoch": true, "gen_model": true, "dis_model": true, "best_fid": true, "path_helper": true,
	"fixed_z": true, "gen_optimizer": true, "dis_optimizer": true,
}

// Import reads an official TransGAN .pth file: a training dict
// (gen_state_dict, avg_gen_state_dict, dis_state_dict, ...) or a bare
// generator state_dict, with or without the "module." prefix. It infers the
// config from the tensors and returns a validated checkpoint (Gen from
// gen_state_dict, or the bare dict; AvgGen from avg_gen_state_dict; Dis from
// dis_state_dict; fixed_z in Extra) plus warnings: keys the config does not
// need, dtype conversions, ignored entries. Errors are one line naming the
// file and, where one is at fault, the key.
func Import(path string, opts Options) (*checkpoint.Checkpoint, []string, error) {
	ck, warns, err := importFile(path, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("pth %s: %w", path, err)
	}
	return ck, warns, nil
}

func importFile(path string, opts Options) (*checkpoint.Checkpoint, []string, error) {
	obj, err := loadPickle(path)
	if err != nil {
		return nil, nil, err
	}
	top, ok := dictEntries(obj)
	if !ok {
		return nil, nil, fmt.Errorf("the file holds a %s, want a dict (training checkpoint or state_dict)", typeName(obj))
	}
	im := &importer{opts: opts, meta: map[string]string{"imported_from": filepath.Base(path)}}
	if isTraining(top) {
		for _, e := range top {
			if err := im.topEntry(e); err != nil {
				return nil, nil, err
			}
		}
	} else if err := im.bare(top); err != nil {
		return nil, nil, err
	}
	ck, err := im.build()
	if err != nil {
		return nil, nil, err
	}
	return ck, im.warns, nil
}

// importer collects the state dicts of one file.
type importer struct {
	opts          Options
	gen, avg, dis map[string]*model.Tensor
	genName       string // the dict gen comes from, for messages
	extra         map[string]*model.Tensor
	meta          map[string]string
	warns         []string
	// genOpt and disOpt are the optimizer state_dicts, read once the
	// config (and so the parameter order) is known.
	genOpt, disOpt any
	// tganMeta and tganConfig come from a file that tgan export --pth wrote.
	tganMeta   map[string]string
	tganConfig string
}

// isTraining reports whether top is a training dict rather than a state_dict.
func isTraining(top []entry) bool {
	for _, e := range top {
		if e.key == keyGen || e.key == keyAvgGen || e.key == keyDis {
			return true
		}
	}
	return false
}

// topEntry handles one entry of a training dict.
func (im *importer) topEntry(e entry) error {
	switch e.key {
	case keyGen, keyAvgGen, keyDis:
		es, ok := dictEntries(e.value)
		if !ok {
			return fmt.Errorf("%s is a %s, want a state_dict", e.key, typeName(e.value))
		}
		sd, err := im.stateDict(e.key, es)
		if err != nil {
			return err
		}
		switch e.key {
		case keyGen:
			im.gen, im.genName = sd, keyGen
		case keyAvgGen:
			im.avg = sd
		default:
			im.dis = sd
		}
	case "fixed_z":
		if t, ok := e.value.(*pytorch.Tensor); ok {
			if z, _, err := convert(t); err == nil && z.F32 != nil {
				im.extra = map[string]*model.Tensor{"fixed_z": z}
			}
		}
	case "epoch", "best_fid", "gen_model", "dis_model":
		switch v := e.value.(type) {
		case int, float64, string, bool:
			im.meta["official_"+e.key] = fmt.Sprint(v)
		}
	case keyGenOpt:
		im.genOpt = e.value
	case keyDisOpt:
		im.disOpt = e.value
	case keyTganMeta:
		return im.readTganMeta(e.value)
	case keyTganExtra:
		return im.readTganExtra(e.value)
	default:
		if !ignoredTop[e.key] {
			im.warns = append(im.warns, fmt.Sprintf("ignored top-level entry %q (%s)", e.key, typeName(e.value)))
		}
	}
	return nil
}

// bare reads a file that is itself a generator state_dict.
func (im *importer) bare(top []entry) error {
	for _, e := range top {
		if _, ok := e.value.(*pytorch.Tensor); !ok {
			return fmt.Errorf("not a TransGAN checkpoint: no %s, and entry %q is not a tensor (%s) (keys: %s)",
				keyGen, e.key, typeName(e.value), strings.Join(firstN(sortedKeys(top), 8), ", "))
		}
	}
	sd, err := im.stateDict(bareName, top)
	if err != nil {
		return err
	}
	im.gen, im.genName = sd, bareName
	return nil
}

// bareName names a file that is itself a state_dict in messages.
const bareName = "state_dict"

// stateDict converts one state_dict to tensors without the "module." prefix.
func (im *importer) stateDict(name string, es []entry) (map[string]*model.Tensor, error) {
	out := make(map[string]*model.Tensor, len(es))
	notes := map[string]int{}
	for _, e := range es {
		pt, ok := e.value.(*pytorch.Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: entry %q is not a tensor (%s)", name, e.key, typeName(e.value))
		}
		t, note, err := convert(pt)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", name, e.key, err)
		}
		if note != "" {
			notes[note]++
		}
		key := strings.TrimPrefix(e.key, "module.")
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s: key %q appears with and without the module. prefix", name, key)
		}
		out[key] = t
	}
	for note, n := range notes {
		im.warns = append(im.warns, fmt.Sprintf("%s: %d tensors %s", name, n, note))
	}
	return out, nil
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// build infers the config, maps every network and validates the result.
func (im *importer) build() (*checkpoint.Checkpoint, error) {
	src, srcName := im.gen, im.genName
	if src == nil {
		src, srcName = im.avg, keyAvgGen
	}
	if src == nil {
		return nil, fmt.Errorf("no generator: neither %s nor %s holds a state_dict", keyGen, keyAvgGen)
	}
	cfg, err := inferG(src, im.opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", srcName, err)
	}
	if im.dis != nil {
		if err := inferD(im.dis, cfg, im.opts); err != nil {
			return nil, fmt.Errorf("%s: %w", keyDis, err)
		}
	} else {
		p := fillDFromPreset(cfg)
		im.warns = append(im.warns, fmt.Sprintf("no discriminator in the file: D settings taken from preset %q, no D weights", p))
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("inferred config: %s", strings.ReplaceAll(err.Error(), "\n  ", "; "))
	}
	ck := &checkpoint.Checkpoint{Config: cfg, Extra: im.extra, Meta: im.meta}
	im.meta["official_version"] = string(cfg.Version)
	gp, dp := cfg.GParams(), cfg.DParams()
	if ck.Gen, err = im.mapGroup(srcName, src, gp); err != nil {
		return nil, err
	}
	if im.gen != nil && im.avg != nil {
		if ck.AvgGen, err = im.mapGroup(keyAvgGen, im.avg, gp); err != nil {
			return nil, err
		}
	}
	if im.dis != nil {
		if ck.Dis, err = im.mapGroup(keyDis, im.dis, dp); err != nil {
			return nil, err
		}
	}
	if im.genOpt != nil && im.gen != nil {
		im.importAdam(keyGenOpt, im.genOpt, gp, officialParameters(cfg, false), false)
	}
	if im.disOpt != nil && im.dis != nil {
		im.importAdam(keyDisOpt, im.disOpt, dp, officialParameters(cfg, true), true)
	}
	ck.Extra = im.extra
	return ck, im.applyTgan(ck)
}

// mapGroup picks the tensors params need from src under their official
// names (trying naming variants), warns about the rest and validates shapes
// and the relative position index buffers.
func (im *importer) mapGroup(name string, src map[string]*model.Tensor, params []model.Param) (model.Weights, error) {
	w := make(model.Weights, len(params))
	used := make(map[string]bool, len(params))
	for _, p := range params {
		for _, k := range variants(p.Name) {
			if t, ok := src[k]; ok && !used[k] {
				w[p.Name], used[k] = t, true
				break
			}
		}
		if t, ok := w[p.Name]; ok && strings.HasPrefix(p.Name, "to_rgb.") && !model.SameShape(t.Shape, p.Shape) {
			// The BatchNorm never runs: a file whose to_rgb differs from
			// tgan's reading of the v1 code still imports, with defaults.
			delete(w, p.Name)
			im.warns = append(im.warns, fmt.Sprintf("%s: %q has shape %v, tgan expects %v: replaced by defaults (it never runs)", name, p.Name, t.Shape, p.Shape))
		}
		if _, ok := w[p.Name]; !ok {
			t, note := derivable(p)
			if t == nil {
				return nil, fmt.Errorf("%s: missing tensor %q %v", name, p.Name, p.Shape)
			}
			w[p.Name] = t
			im.warns = append(im.warns, fmt.Sprintf("%s: %q not in the file: %s", name, p.Name, note))
		}
	}
	if err := w.Check(params); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := checkConstants(w, params); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var unused []string
	for k := range src {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	for _, k := range unused {
		im.warns = append(im.warns, fmt.Sprintf("%s: key %q is not used by the inferred config", name, k))
	}
	return w, nil
}

// filterBankTol is how far a file's Hz_fbank may be from tgan's: the
// official buffer is the float32 rounding of a float64 computation, so
// only a different bank (or a corrupt file) is further away.
const filterBankTol = 1e-6

// checkConstants compares the buffers that are fixed functions of the
// config with their recomputed values: the relative-position index buffers
// (exactly) and Celeba256_dis's Hz_fbank (within filterBankTol).
func checkConstants(w model.Weights, params []model.Param) error {
	for _, p := range params {
		switch {
		case strings.HasSuffix(p.Name, "relative_position_index"):
			want := model.RelPosIndex(isqrt(p.Shape[0]))
			for i, v := range w[p.Name].I64 {
				if v != want[i] {
					return fmt.Errorf("tensor %q differs from the relative position index of a %dx%d map at element %d",
						p.Name, isqrt(p.Shape[0]), isqrt(p.Shape[0]), i)
				}
			}
		case p.Name == model.DFilterBankName:
			if i := filterBankMismatch(w[p.Name]); i >= 0 {
				return fmt.Errorf("tensor %q differs from the sym2 wavelet filter bank at element %d (row %d, tap %d): %g, want %g",
					p.Name, i, i/model.FilterBankShape[1], i%model.FilterBankShape[1], w[p.Name].F32[i], model.FilterBank()[i])
			}
		}
	}
	return nil
}

// filterBankMismatch returns the first element of t further than
// filterBankTol from model.FilterBank, or -1 when t is the bank.
func filterBankMismatch(t *model.Tensor) int {
	want := model.FilterBank()
	if t == nil || len(t.F32) != len(want) {
		return 0
	}
	for i, v := range t.F32 {
		if d := float64(v) - float64(want[i]); d > filterBankTol || d < -filterBankTol || d != d {
			return i
		}
	}
	return -1
}

// derivable returns the value a missing tensor has by construction, for
// those whose absence changes no output: a relative-position index buffer
// (a fixed function of the window; some code versions do not persist it),
// an attention noise strength (a model without it adds no noise, as a
// strength of 0 does) and the v1 generator's to_rgb BatchNorm (never run).
// Anything else is nil: a real error.
func derivable(p model.Param) (*model.Tensor, string) {
	switch {
	case strings.HasSuffix(p.Name, "relative_position_index"):
		return &model.Tensor{Shape: p.Shape, I64: model.RelPosIndex(isqrt(p.Shape[0]))}, "computed from the window size"
	case strings.HasSuffix(p.Name, "noise_strength_1"):
		return &model.Tensor{Shape: p.Shape, F32: []float32{0}}, "no attention noise, strength 0"
	case strings.HasPrefix(p.Name, "to_rgb.0."): // the v1 BatchNorm that never runs
		t := &model.Tensor{Shape: p.Shape}
		if p.Int64 {
			t.I64 = make([]int64, p.Size())
			return t, "an unused BatchNorm: default value"
		}
		t.F32 = make([]float32, p.Size())
		if strings.HasSuffix(p.Name, ".weight") || strings.HasSuffix(p.Name, "running_var") {
			for i := range t.F32 {
				t.F32[i] = 1
			}
		}
		return t, "an unused BatchNorm: default value"
	}
	return nil, ""
}

// variants lists name followed by the equal-meaning spellings that variants
// of the official code use: LayerNorms with or without the extra ".norm"
// level, and patch_embed as a bare Conv2d or a module with ".proj".
func variants(name string) []string {
	out := []string{name}
	for _, n := range []string{".norm1.", ".norm2."} {
		long := n + "norm."
		switch {
		case strings.Contains(name, long):
			out = append(out, strings.Replace(name, long, n, 1))
		case strings.Contains(name, n):
			out = append(out, strings.Replace(name, n, long, 1))
		}
	}
	if rest, ok := strings.CutPrefix(name, "norm.norm."); ok {
		out = append(out, "norm."+rest)
	} else if rest, ok := strings.CutPrefix(name, "norm."); ok {
		out = append(out, "norm.norm."+rest)
	}
	if rest, ok := strings.CutPrefix(name, "patch_embed."); ok {
		out = append(out, "patch_embed.proj."+rest)
	}
	return out
}
