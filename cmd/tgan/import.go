package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/model"
)

// importCommand converts an official TransGAN PyTorch checkpoint into a
// tgan checkpoint.
func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "convert an official TransGAN .pth checkpoint",
		ArgsUsage: "OFFICIAL.pth",
		Description: "Reads a checkpoint of the official PyTorch code (v1 or final; a training dict or a bare\n" +
			"generator state_dict), infers the architecture from the tensor shapes and writes a tgan\n" +
			"checkpoint (safetensors) atomically. The Adam moments and step counts of gen_optimizer and\n" +
			"dis_optimizer are imported when present (indices in the official modules' parameters() order),\n" +
			"and a file written by 'tgan export --pth' imports back to the checkpoint it came from.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "tgan checkpoint to write"},
			&cli.StringFlag{Name: "run", Usage: "instead of --out: add the file as the newest checkpoint of the tgan run `DIR` (the run it was exported from), so that 'tgan train --resume DIR' continues with its weights, Adam moments and counters"},
			&cli.IntFlag{Name: "g-heads", Usage: "generator attention heads when the file cannot tell (v1); 0 = 4"},
			&cli.IntFlag{Name: "d-heads", Usage: "discriminator attention heads when the file cannot tell (v1); 0 = 4"},
		},
		Action: runImport,
	}
}

func runImport(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("import: want exactly one OFFICIAL.pth argument")
	}
	src, out, run := c.Args().First(), c.String("out"), c.String("run")
	if (out == "") == (run == "") {
		return errors.New("import: give --out CKPT or --run DIR (one of them)")
	}
	start := time.Now()
	announceLarge(src)
	ck, warns, err := pth.Import(src, pth.Options{GHeads: c.Int("g-heads"), DHeads: c.Int("d-heads")})
	if err != nil {
		return err
	}
	w := c.App.Writer
	printImport(w, src, ck)
	for _, msg := range warns {
		fmt.Fprintln(w, "warning:", msg)
	}
	ck.Meta[checkpoint.MetaTganVersion] = version
	if run != "" {
		var notes []string
		if out, notes, err = continueRun(run, ck); err != nil {
			return fmt.Errorf("import %s: %w", src, err)
		}
		for _, n := range notes {
			fmt.Fprintln(w, "note:", n)
		}
	} else if err := checkpoint.Save(out, ck); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s (%.1fs)\n", out, time.Since(start).Seconds())
	return nil
}

// printImport summarises the detected architecture and parameter counts.
func printImport(w io.Writer, src string, ck *checkpoint.Checkpoint) {
	cfg := ck.Config
	fmt.Fprintf(w, "%s: official %s code\n", src, cfg.Version)
	fmt.Fprintf(w, "  G: latent %d, width %d, bottom %dx%d, depths %v, heads %d, mlp x%d, image %d, rel-pos %v%s\n",
		cfg.LatentDim, cfg.GDim, cfg.BottomWidth, cfg.BottomWidth, cfg.GDepths, cfg.GHeads, cfg.MLPRatio,
		cfg.ImageSize, cfg.GRelPos, gFamily(cfg))
	if len(cfg.MaskSchedule) > 0 {
		fmt.Fprint(w, "  G locality mask (training only):")
		for _, st := range cfg.MaskSchedule {
			fmt.Fprintf(w, " w=%d until epoch %d,", st.Window, st.UntilEpoch)
		}
		fmt.Fprintln(w, " then none")
	}
	if g, d := ck.Meta["official_adam_g_step"], ck.Meta["official_adam_d_step"]; g != "" || d != "" {
		fmt.Fprintf(w, "  Adam state: gen step %s, dis step %s\n", orDash(g), orDash(d))
	}
	fmt.Fprintf(w, "  D: %s, width %d, depth %d, patch %d, heads %d, rel-pos %v%s",
		cfg.DKind, cfg.DDim, cfg.DDepth, cfg.DPatch, cfg.DHeads, cfg.DRelPos, dFamily(cfg))
	if ck.Dis == nil {
		fmt.Fprint(w, " (preset defaults: the file has no D)")
	}
	fmt.Fprintln(w)
	groups := []struct {
		name   string
		w      model.Weights
		params []model.Param
	}{
		{"gen", ck.Gen, cfg.GParams()},
		{"avg_gen (EMA)", ck.AvgGen, cfg.GParams()},
		{"dis", ck.Dis, cfg.DParams()},
	}
	for _, g := range groups {
		if g.w == nil {
			fmt.Fprintf(w, "  %-14s absent\n", g.name)
			continue
		}
		trained, total := 0, 0
		for _, p := range g.params {
			total += p.Size()
			if !p.Buffer {
				trained += p.Size()
			}
		}
		fmt.Fprintf(w, "  %-14s %3d tensors, %d parameters (%.2fM), %d buffer elements\n",
			g.name, len(g.params), trained, float64(trained)/1e6, total-trained)
	}
}

// gFamily describes the generator settings of the zoo's families (empty
// for ViT_custom_rp with LayerNorm and the v1 generators).
func gFamily(cfg *model.Config) string {
	var s string
	if cfg.GArch != model.GDefault {
		s += ", arch " + string(cfg.GArch)
	}
	if cfg.GNorm == model.PixelNorm {
		s += ", PixelNorm"
	}
	if len(cfg.GWindows) > 0 {
		s += fmt.Sprintf(", windows %v", cfg.GWindows)
	}
	return s
}

// dFamily is gFamily for the discriminator.
func dFamily(cfg *model.Config) string {
	var s string
	if cfg.DNorm == model.PixelNorm {
		s += ", PixelNorm"
	}
	if cfg.DNoNoise {
		s += ", no attention noise"
	}
	if cfg.DWindow > 0 {
		s += fmt.Sprintf(", window %d", cfg.DWindow)
	}
	if cfg.DFilterBank {
		s += ", Hz_fbank"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
