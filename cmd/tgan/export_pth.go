package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/trainer"
)

// pthExportHelp opens export's description.
const pthExportHelp = `With --pth OUT.pth, writes instead the official TransGAN code's training
checkpoint (PyTorch zip format: epoch, gen/dis/avg_gen state_dicts,
gen/dis Adam optimizers, best_fid, path_helper, fixed_z, gen_model,
dis_model) that its training script resumes from with --load_path, e.g. to
continue a run under DistributedDataParallel on many GPUs; 'tgan import'
takes the result back. A checkpoint without a discriminator becomes a bare
generator state_dict. The exact official flags are printed.

`

// runExportPTH is 'tgan export --pth OUT.pth CKPT|RUN'.
func runExportPTH(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("export: need exactly one CKPT argument (a checkpoint file or a run folder), got %d", c.NArg())
	}
	if c.IsSet("onnx") {
		return fmt.Errorf("export: give --onnx DIR or --pth OUT.pth, not both")
	}
	path, err := resolveCheckpoint(c.Args().First())
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	ck, err := checkpoint.Load(path)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	out := c.String("pth")
	prefix := ck.Config.Version == model.Final // its script wraps the nets in DDP
	if c.IsSet("module-prefix") {
		prefix = c.Bool("module-prefix")
	}
	recipe, err := pthRecipe(ck)
	if err != nil {
		return fmt.Errorf("export: %s: %w", path, err)
	}
	info, err := pth.Export(out, ck, pth.ExportOptions{ModulePrefix: prefix, PathHelper: c.String("path-helper"), Recipe: recipe})
	if err != nil {
		return fmt.Errorf("export --pth %s: %s: %w", out, path, err)
	}
	w := c.App.Writer
	if info.Bare {
		fmt.Fprintf(w, "wrote %s (official %s generator state_dict, %s, module prefix %v)\n", out, ck.Config.Version, info.GenModel, prefix)
	} else {
		fmt.Fprintf(w, "wrote %s (official %s training checkpoint, epoch %d, module prefix %v)\n", out, ck.Config.Version, info.Epoch, prefix)
		fmt.Fprintf(w, "official flags: %s --load_path %s\n", strings.Join(info.Flags, " "), loadPath(ck.Config.Version, out))
	}
	for _, n := range info.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

// pthRecipe is the training recipe of ck for pth.Export: the options of
// its trainer state with the defaults filled in (the official defaults
// for a checkpoint without one).
func pthRecipe(ck *checkpoint.Checkpoint) (pth.Recipe, error) {
	st, _, err := checkpoint.ReadState[trainer.Options](ck)
	if err != nil {
		return pth.Recipe{}, err
	}
	o := st.Options.Defaults(ck.Config)
	return pth.Recipe{
		Loss: o.Loss, NCritic: o.NCritic, GenBatch: o.GenBatch, DisBatch: o.DisBatch, Phi: o.Phi,
		LRG: o.LRG, LRD: o.LRD, Beta1: o.Beta1, Beta2: o.Beta2, AdamEps: o.AdamEps,
		EMABeta: o.EMABeta, EMAKimg: o.EMAKimg, EMAWarmup: o.EMAWarmup, Augment: o.Augment,
		MaskEpochSteps: o.MaskEpochSteps, SRWeight: o.SRWeight,
	}, nil
}

// loadPath is what --load_path names: the file for the final code, the run
// folder holding Model/checkpoint.pth for the v1 code.
func loadPath(v model.Version, out string) string {
	if v == model.Final {
		return out
	}
	return "DIR (with the file copied to DIR/Model/checkpoint.pth)"
}
