package pth

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
)

// ExportOptions tune Export.
type ExportOptions struct {
	// ModulePrefix prefixes every state_dict key with "module.", as the
	// networks of the final code's training script (wrapped in
	// DistributedDataParallel) name them.
	ModulePrefix bool
	// PathHelper is the run folder the official script logs to and saves
	// in (path_helper's prefix; ckpt_path, log_path and sample_path are its
	// Model, Log and Samples). Empty: "logs/<checkpoint name>".
	PathHelper string
	// Recipe is the run's training recipe, defaults filled in; a training
	// checkpoint (one with a discriminator) needs it. Without a trainer
	// state (an imported official file), the Adam hyper-parameters the
	// file recorded take precedence.
	Recipe Recipe
}

// Recipe is the part of a training recipe that the official script spells
// as flags, optimizer param groups and epoch: the trainer's options with
// their defaults filled in (cmd/tgan fills it from the checkpoint's
// trainer state). Field meanings are the trainer's.
type Recipe struct {
	Loss                        string
	NCritic, GenBatch, DisBatch int
	Phi                         float64
	LRG, LRD                    float64
	Beta1, Beta2, AdamEps       float64
	EMABeta, EMAKimg, EMAWarmup float64
	Augment                     string
	MaskEpochSteps              int     // > 0: the mask schedule's epoch is this many iterations
	SRWeight                    float64 // > 0: multi-task co-training, which no official script has
}

// ExportInfo describes what Export wrote.
type ExportInfo struct {
	GenModel, DisModel string // the official --gen_model and --dis_model
	Bare               bool   // a generator state_dict only
	Epoch              int
	// Flags are the official training script's architecture and recipe
	// flags matching the checkpoint (without --load_path).
	Flags []string
	Notes []string // things the user should know (defaults filled in, ...)
}

// Top-level keys tgan adds to the official dict so that a file that comes
// straight back imports to the same checkpoint. The official scripts ignore
// them (and drop them when they save).
const (
	keyTganMeta  = "tgan_meta"
	keyTganExtra = "tgan_extra"
)

// defaultBestFID is the official scripts' initial best_fid.
const defaultBestFID = 1e4

// Export writes ck to path as the official TransGAN code's training
// checkpoint (PyTorch zip format; the dict that train_derived.py / train.py
// save and resume from with --load_path), or, for a checkpoint without a
// discriminator, a bare generator state_dict. A config the official code
// cannot express is an error and leaves no file.
func Export(path string, ck *checkpoint.Checkpoint, opts ExportOptions) (*ExportInfo, error) {
	info, root, err := buildExport(ck, opts, strings.TrimSuffix(pathBase(path), ".pth"))
	if err != nil {
		return nil, err
	}
	if err := writePTH(path, root); err != nil {
		return nil, fmt.Errorf("pth %s: %w", path, err)
	}
	return info, nil
}

func pathBase(p string) string { return path.Base(strings.ReplaceAll(p, "\\", "/")) }

func buildExport(ck *checkpoint.Checkpoint, opts ExportOptions, name string) (*ExportInfo, any, error) {
	cfg := ck.Config
	gen, dis, notes, err := officialModels(cfg)
	if err != nil {
		return nil, nil, err
	}
	st, hasState, err := trainerState(ck)
	if err != nil {
		return nil, nil, err
	}
	o := opts.Recipe
	if o.SRWeight > 0 {
		return nil, nil, fmt.Errorf("the official code cannot express this run: multi-task co-training (sr_weight %g) is not in any official script", o.SRWeight)
	}
	info := &ExportInfo{GenModel: gen, DisModel: dis, Notes: notes}
	prefix := ""
	if opts.ModulePrefix {
		prefix = "module."
	}
	if ck.Dis == nil {
		info.Bare = true
		return info, stateDict(officialStateDict(cfg, false), ck.Sampler(), prefix), nil
	}
	if o.GenBatch < 1 || o.DisBatch < 1 || o.NCritic < 1 || o.Loss == "" {
		return nil, nil, fmt.Errorf("export: no training recipe (ExportOptions.Recipe) for a checkpoint with a discriminator")
	}
	if !hasState {
		officialHyper(ck, &o)
	}
	info.Epoch = exportEpoch(ck, st, hasState, o.MaskEpochSteps)
	info.Flags = officialFlags(cfg, o, gen, dis)
	if cfg.DFilterBank != strings.Contains(o.Augment, "filter") {
		info.Notes = append(info.Notes, fmt.Sprintf("%s registers Hz_fbank only when --diff_aug names filter: load this file (d_filter_bank %v) with a policy that %s",
			dis, cfg.DFilterBank, map[bool]string{true: "does", false: "does not"}[cfg.DFilterBank]))
	}
	avg := ck.AvgGen
	if avg == nil {
		avg = ck.Gen
		info.Notes = append(info.Notes, "no EMA generator in the checkpoint: avg_gen_state_dict is a copy of gen_state_dict")
	}
	gSteps, dSteps := st.AdamGStep, st.AdamDStep
	if !hasState {
		gSteps, dSteps = metaInt(ck, metaAdamGStep), metaInt(ck, metaAdamDStep)
	}
	gOpt, err := optimizerDict(ck, cfg, false, gSteps, o.LRG, o)
	if err != nil {
		return nil, nil, err
	}
	dOpt, err := optimizerDict(ck, cfg, true, dSteps, o.LRD, o)
	if err != nil {
		return nil, nil, err
	}
	fixedZ, note := fixedZ(ck, cfg)
	if note != "" {
		info.Notes = append(info.Notes, note)
	}
	bestFID := defaultBestFID
	if v, err := strconv.ParseFloat(ck.Meta[metaBestFID], 64); err == nil {
		bestFID = v
	}
	root := &pyDict{}
	root.set("epoch", info.Epoch)
	root.set("gen_model", gen)
	root.set("dis_model", dis)
	root.set(keyGen, stateDict(officialStateDict(cfg, false), ck.Gen, prefix))
	root.set(keyDis, stateDict(officialStateDict(cfg, true), ck.Dis, prefix))
	root.set(keyAvgGen, stateDict(officialStateDict(cfg, false), avg, prefix))
	root.set(keyGenOpt, gOpt)
	root.set(keyDisOpt, dOpt)
	root.set("best_fid", bestFID)
	root.set("path_helper", pathHelper(opts.PathHelper, name))
	root.set("fixed_z", fixedZ)
	root.set(keyTganMeta, tganMeta(ck))
	if extra := tganExtra(ck); extra != nil {
		root.set(keyTganExtra, extra)
	}
	return info, root, nil
}

// stateDict is the OrderedDict of w in order, keys prefixed. Hz_fbank is a
// constant of the official module: a checkpoint's own value is written when
// it is that bank (an imported file's, bit for bit), otherwise the computed
// one (model.FilterBank).
func stateDict(order []model.Param, w model.Weights, prefix string) *pyDict {
	d := &pyDict{ordered: true}
	for _, p := range order {
		t := w[p.Name]
		if p.Name == model.DFilterBankName && filterBankMismatch(t) >= 0 {
			t = &model.Tensor{Shape: slices.Clone(model.FilterBankShape), F32: model.FilterBank()}
		}
		d.set(prefix+p.Name, t)
	}
	return d
}

// trainerState returns the counters of ck's tgan trainer state, if it has
// one (the options come in the Recipe).
func trainerState(ck *checkpoint.Checkpoint) (checkpoint.State[json.RawMessage], bool, error) {
	return checkpoint.ReadState[json.RawMessage](ck)
}

// Metadata keys of imported official checkpoints (see importer.topEntry).
const (
	metaEpoch     = "official_epoch"
	metaBestFID   = "official_best_fid"
	metaAdamGStep = "official_adam_g_step"
	metaAdamDStep = "official_adam_d_step"
)

// officialHyper takes the Adam hyper-parameters an imported official
// checkpoint recorded (its param groups) over the defaults.
func officialHyper(ck *checkpoint.Checkpoint, o *Recipe) {
	for key, dst := range map[string]*float64{
		"official_gen_lr": &o.LRG, "official_dis_lr": &o.LRD, "official_gen_beta1": &o.Beta1,
		"official_gen_beta2": &o.Beta2, "official_gen_eps": &o.AdamEps,
	} {
		if v, err := strconv.ParseFloat(ck.Meta[key], 64); err == nil {
			*dst = v
		}
	}
}

func metaInt(ck *checkpoint.Checkpoint, key string) int {
	v, _ := strconv.Atoi(ck.Meta[key])
	return v
}

// exportEpoch is the data epoch the official script resumes at: the epoch
// in progress (its start is repeated, the official loop only saves at epoch
// ends), or the mask-schedule epoch of a run that counts epochs in steps.
func exportEpoch(ck *checkpoint.Checkpoint, st checkpoint.State[json.RawMessage], hasState bool, maskEpochSteps int) int {
	switch {
	case !hasState:
		return metaInt(ck, metaEpoch)
	case maskEpochSteps > 0:
		return int(st.Iter / int64(maskEpochSteps))
	}
	return st.Loader.Epoch
}

// optimizerDict is torch.optim.Adam.state_dict() of one network: state by
// parameter index (parameters() order) for the tensors tgan trains, and one
// param group. A network without moments (never stepped) has empty state.
func optimizerDict(ck *checkpoint.Checkpoint, cfg *model.Config, dis bool, steps int, lr float64, o Recipe) (*pyDict, error) {
	net := netName(dis)
	params := officialParameters(cfg, dis)
	state := &pyDict{}
	for i, name := range params {
		m, v := ck.Extra[optKey(net, "m", name)], ck.Extra[optKey(net, "v", name)]
		if m == nil && v == nil || steps == 0 {
			continue
		}
		if m == nil || v == nil || len(m.F32) != len(v.F32) {
			return nil, fmt.Errorf("checkpoint: Adam moments of %s %q are incomplete", net, name)
		}
		entry := &pyDict{}
		entry.set("step", &model.Tensor{Shape: []int{}, F32: []float32{float32(steps)}})
		entry.set("exp_avg", m)
		entry.set("exp_avg_sq", v)
		state.set(i, entry)
	}
	indices := make(pyList, len(params))
	for i := range indices {
		indices[i] = i
	}
	group := &pyDict{}
	group.set("lr", lr)
	group.set("betas", pyTuple{o.Beta1, o.Beta2})
	group.set("eps", o.AdamEps)
	group.set("weight_decay", 0)
	group.set("amsgrad", false)
	group.set("maximize", false)
	group.set("foreach", nil)
	group.set("capturable", false)
	group.set("differentiable", false)
	group.set("fused", false)
	group.set("params", indices)
	d := &pyDict{}
	d.set("state", state)
	d.set("param_groups", pyList{group})
	return d, nil
}

func netName(dis bool) string {
	if dis {
		return checkpoint.OptDis
	}
	return checkpoint.OptGen
}

// optKey is the checkpoint name of an Adam moment ("m" or "v").
func optKey(net, moment, param string) string { return checkpoint.OptKey(net, moment, param) }

// fixedZ returns ck's fixed sample latents, or 100 fresh N(0,1) rows (seed
// 0) when it has none, since the official scripts require the entry.
func fixedZ(ck *checkpoint.Checkpoint, cfg *model.Config) (*model.Tensor, string) {
	if z := ck.Extra[checkpoint.FixedZ]; z != nil && z.F32 != nil {
		return z, ""
	}
	r := rand.New(rand.NewSource(0))
	z := &model.Tensor{Shape: []int{100, cfg.LatentDim}, F32: make([]float32, 100*cfg.LatentDim)}
	for i := range z.F32 {
		z.F32[i] = float32(r.NormFloat64())
	}
	return z, "no fixed_z in the checkpoint: wrote 100 fresh N(0,1) latents"
}

// pathHelper is the official set_log_dir layout under prefix.
func pathHelper(prefix, name string) *pyDict {
	if prefix == "" {
		prefix = "logs/" + name
	}
	prefix = strings.TrimSuffix(prefix, "/")
	d := &pyDict{}
	d.set("prefix", prefix)
	d.set("ckpt_path", prefix+"/Model")
	d.set("log_path", prefix+"/Log")
	d.set("sample_path", prefix+"/Samples")
	return d
}

// tganMeta carries ck's metadata (trainer state, run info, ...) as str->str.
func tganMeta(ck *checkpoint.Checkpoint) *pyDict {
	keys := make([]string, 0, len(ck.Meta))
	for k := range ck.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := &pyDict{}
	for _, k := range keys {
		d.set(k, ck.Meta[k])
	}
	d.set(checkpoint.MetaConfig, ck.Config.JSON())
	return d
}

// tganExtra carries the extra tensors that have no place in the official
// dict (nil when there are none).
func tganExtra(ck *checkpoint.Checkpoint) *pyDict {
	var keys []string
	for k := range ck.Extra {
		if k != checkpoint.FixedZ && !strings.HasPrefix(k, checkpoint.OptPrefix+checkpoint.OptGen+".") && !strings.HasPrefix(k, checkpoint.OptPrefix+checkpoint.OptDis+".") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	d := &pyDict{ordered: true}
	for _, k := range keys {
		d.set(k, ck.Extra[k])
	}
	return d
}

// officialFlags are the official script's flags for cfg and the recipe o.
func officialFlags(cfg *model.Config, o Recipe, gen, dis string) []string {
	f := []string{
		"--gen_model", gen, "--dis_model", dis,
		"--img_size", strconv.Itoa(cfg.ImageSize), "--bottom_width", strconv.Itoa(cfg.BottomWidth),
		"--latent_dim", strconv.Itoa(cfg.LatentDim), "--gf_dim", strconv.Itoa(cfg.GDim),
		"--df_dim", strconv.Itoa(cfg.DDim), "--d_depth", strconv.Itoa(cfg.DDepth),
		"--patch_size", strconv.Itoa(cfg.DPatch),
		"-gen_bs", strconv.Itoa(o.GenBatch), "-dis_bs", strconv.Itoa(o.DisBatch),
		"--n_critic", strconv.Itoa(o.NCritic), "--loss", o.Loss, "--phi", fmtFloat(o.Phi),
		"--g_lr", fmtFloat(o.LRG), "--d_lr", fmtFloat(o.LRD),
		"--beta1", fmtFloat(o.Beta1), "--beta2", fmtFloat(o.Beta2),
		"--diff_aug", diffAug(o.Augment),
	}
	if cfg.Version == model.Final {
		depths := make([]string, len(cfg.GDepths))
		for i, d := range cfg.GDepths {
			depths[i] = strconv.Itoa(d)
		}
		f = append(f, "--g_depth", strings.Join(depths, ","))
		f = append(f, hiresFlags(cfg)...)
		if o.EMABeta < 0 {
			f = append(f, "--ema_kimg", fmtFloat(o.EMAKimg), "--ema_warmup", fmtFloat(o.EMAWarmup))
		}
	}
	return f
}

// diffAug spells tgan's augmentation policy as the official --diff_aug.
func diffAug(policy string) string {
	if policy == "none" {
		return "None"
	}
	return policy
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// hiresFlags are the flags of the zoo's final-code families: norms and the
// 256 models' window sizes (the official defaults are ln and 8).
func hiresFlags(cfg *model.Config) []string {
	var f []string
	if cfg.GNorm == model.PixelNorm {
		f = append(f, "--g_norm", "pn")
	}
	if cfg.DNorm == model.PixelNorm {
		f = append(f, "--d_norm", "pn")
	}
	if cfg.BicubicStages() > 0 {
		f = append(f, "--g_window_size", strconv.Itoa(cfg.GWindows[len(cfg.GWindows)-1]))
	}
	if cfg.DWindow > 0 {
		f = append(f, "--d_window_size", strconv.Itoa(cfg.DWindow))
	}
	return f
}
