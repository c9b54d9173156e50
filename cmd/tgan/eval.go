package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/tgan-dev/tgan/internal/eval/metrics"
	"github.com/tgan-dev/tgan/internal/eval/quality"
	"github.com/urfave/cli/v2"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "FID, KID, Inception Score and precision/recall/density/coverage of a model (or a dataset) with an Inception ONNX network",
		ArgsUsage: "MODEL (a checkpoint, a training run folder or generator.onnx; or --dataset KIND)",
		Description: "tgan eval generator.onnx --inception inception.onnx --ref cifar10.npz --n 50000 --metrics fid,kid,is,prdc --json eval.json\n\n" +
			"--ref is a statistics .npz from tgan stats (or TTUR / pytorch-fid: mu and sigma only, enough for FID;\n" +
			"KID and PRDC need the reference features that tgan stats stores). Metrics print on stdout and go to --json.\n" +
			"prdc: improved precision and recall (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020)\n" +
			"of the pool features, with balls of radius the distance to the --pr-k-th nearest neighbour (closed balls).\n" +
			protocolDoc + " See tools/inception/README.md for the network.",
		Flags:  append(append(sourceFlags(), inceptionFlags()...), evalFlags()...),
		Action: runEval,
	}
}

func evalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ref", Usage: "reference statistics `FILE` (.npz) for fid, kid and prdc"},
		&cli.StringFlag{Name: "metrics", Value: "fid,kid,is", Usage: "comma-separated: fid, kid, is, prdc (precision, recall, density, coverage)"},
		&cli.StringFlag{Name: "json", Usage: "write the metrics to this `FILE`"},
		&cli.StringFlag{Name: "save-stats", Usage: "also write the generated images' statistics (with features) to this .npz"},
		&cli.IntFlag{Name: "kid-subsets", Value: 100, Usage: "KID: number of random subsets"},
		&cli.IntFlag{Name: "kid-subset-size", Value: 1000, Usage: "KID: feature vectors per set and subset (capped at the smaller set)"},
		&cli.Uint64Flag{Name: "kid-seed", Usage: "KID: seed of the subset draws"},
		&cli.IntFlag{Name: "is-splits", Value: 10, Usage: "IS: number of consecutive splits"},
		&cli.IntFlag{Name: "pr-k", Value: metrics.DefaultPRK, Usage: "prdc: `K`, the nearest neighbour whose distance is a feature's ball radius"},
	}
}

// inceptionFlags name the feature network and how images are fed to it.
func inceptionFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "inception", Required: true, Usage: "feature network `FILE` (.onnx): input [B, 3, H, W], outputs pool and logits (tools/inception/README.md)"},
		&cli.StringFlag{Name: "pool-output", Value: "pool", Usage: "name of the pooled-feature output (FID, KID)"},
		&cli.StringFlag{Name: "logits-output", Value: "logits", Usage: "name of the logits output (IS)"},
		&cli.IntFlag{Name: "input-size", Usage: "resize images to this side before the network (0: the network's fixed input size, else the images' own)"},
		&cli.StringFlag{Name: "input-range", Value: string(metrics.Unit), Usage: "pixel range fed to the network: 0,1 (p/255), -1,1 or 0,255"},
		&cli.IntFlag{Name: "batch", Value: 50, Usage: "images per forward pass (generator and network)"},
	}, runtimeFlags()...)
}

// evalResult is what --json writes.
type evalResult struct {
	Source        string   `json:"source"`
	N             int      `json:"n"`
	Inception     string   `json:"inception"`
	Ref           string   `json:"ref,omitempty"`
	FID           *float64 `json:"fid,omitempty"`
	KIDMean       *float64 `json:"kid_mean,omitempty"`
	KIDStd        *float64 `json:"kid_std,omitempty"`
	KIDSubsets    int      `json:"kid_subsets,omitempty"`
	KIDSubsetSize int      `json:"kid_subset_size,omitempty"`
	ISMean        *float64 `json:"is_mean,omitempty"`
	ISStd         *float64 `json:"is_std,omitempty"`
	ISSplits      int      `json:"is_splits,omitempty"`
	Precision     *float64 `json:"precision,omitempty"`
	Recall        *float64 `json:"recall,omitempty"`
	Density       *float64 `json:"density,omitempty"`
	Coverage      *float64 `json:"coverage,omitempty"`
	PRK           int      `json:"pr_k,omitempty"`
	Truncation    float64  `json:"truncation,omitempty"`
}

func runEval(c *cli.Context) error {
	want, err := parseMetrics(c.String("metrics"))
	if err != nil {
		return err
	}
	ref, err := readRef(c, want)
	if err != nil {
		return err
	}
	f, what, err := sourceFeatures(c)
	if err != nil {
		return err
	}
	res := evalResult{Source: what, N: f.N, Inception: c.String("inception"), Ref: c.String("ref"), Truncation: c.Float64("truncation")}
	opt := quality.ScoreOptions{
		KID:      metrics.KIDOptions{Subsets: c.Int("kid-subsets"), SubsetSize: c.Int("kid-subset-size"), Seed: c.Uint64("kid-seed")},
		ISSplits: c.Int("is-splits"),
		PRK:      c.Int("pr-k"),
	}
	if want["kid"] && (opt.KID.Subsets <= 0 || opt.KID.SubsetSize <= 1) {
		return fmt.Errorf("kid: --kid-subsets %d --kid-subset-size %d: want positive counts and a size of at least 2", opt.KID.Subsets, opt.KID.SubsetSize)
	}
	if want["is"] && opt.ISSplits <= 0 {
		return fmt.Errorf("is: --is-splits %d: must be positive", opt.ISSplits)
	}
	q, err := quality.Score(f, ref, quality.Want{FD: want["fid"], KID: want["kid"], IS: want["is"], PRDC: want["prdc"]}, opt)
	if err != nil {
		return err
	}
	if p := c.String("save-stats"); p != "" {
		gen := q.Stats // FD computed them
		if gen == nil {
			if gen, err = metrics.Compute(f.Pool, f.N, f.PoolDim); err != nil {
				return err
			}
		}
		if err := gen.Write(p, true); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", p)
	}
	if want["fid"] {
		res.FID = q.FD
		fmt.Fprintf(c.App.Writer, "fid: %.10g\n", *q.FD)
	}
	if want["kid"] {
		res.KIDMean, res.KIDStd = q.KIDMean, q.KIDStd
		res.KIDSubsets, res.KIDSubsetSize = opt.KID.Subsets, q.KIDSubsetSize
		fmt.Fprintf(c.App.Writer, "kid: %.10g (std %.6g)\n", *q.KIDMean, *q.KIDStd)
	}
	if want["is"] {
		res.ISMean, res.ISStd, res.ISSplits = q.ISMean, q.ISStd, opt.ISSplits
		fmt.Fprintf(c.App.Writer, "is: %.10g (std %.6g)\n", *q.ISMean, *q.ISStd)
	}
	if want["prdc"] {
		p := q.PRDC
		res.Precision, res.Recall, res.Density, res.Coverage, res.PRK = &p.Precision, &p.Recall, &p.Density, &p.Coverage, p.K
		for _, m := range []struct {
			name string
			v    float64
		}{{"precision", p.Precision}, {"recall", p.Recall}, {"density", p.Density}, {"coverage", p.Coverage}} {
			fmt.Fprintf(c.App.Writer, "%s: %.6g (k=%d)\n", m.name, m.v, p.K)
		}
	}
	if p := c.String("json"); p != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write --json: %w", err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", p)
	}
	return nil
}

// parseMetrics parses --metrics into a set of fid, kid, is, prdc.
func parseMetrics(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, m := range strings.Split(s, ",") {
		m = strings.ToLower(strings.TrimSpace(m))
		if !slices.Contains([]string{"fid", "kid", "is", "prdc"}, m) {
			return nil, fmt.Errorf("--metrics: unknown metric %q (want fid, kid, is, prdc)", m)
		}
		out[m] = true
	}
	return out, nil
}

// readRef reads --ref when a wanted metric needs it, and checks that it
// keeps the features KID and PRDC need; it also checks --pr-k.
func readRef(c *cli.Context, want map[string]bool) (*metrics.Stats, error) {
	if want["prdc"] && c.Int("pr-k") < 1 {
		return nil, fmt.Errorf("prdc: --pr-k %d: must be at least 1", c.Int("pr-k"))
	}
	if !want["fid"] && !want["kid"] && !want["prdc"] {
		return nil, nil
	}
	path := c.String("ref")
	if path == "" {
		return nil, errors.New("--ref STATS.npz is required for fid, kid and prdc (make it with tgan stats)")
	}
	ref, err := metrics.ReadStats(path)
	if err != nil {
		return nil, err
	}
	for _, m := range []string{"kid", "prdc"} {
		if want[m] && ref.Features == nil {
			return nil, fmt.Errorf("%s: %s %s, or leave %s out of --metrics", m, path, quality.NoFeatures, m)
		}
	}
	if k, n := c.Int("pr-k"), len(ref.Features)/max(1, ref.Dim()); want["prdc"] && k >= n {
		return nil, fmt.Errorf("prdc: --pr-k %d needs more than %d reference features, %s has %d", k, k, path, n)
	}
	return ref, nil
}

// openNetwork opens the --inception ONNX file on the chosen provider.
func openNetwork(c *cli.Context) (*quality.Network, error) {
	opts, err := engineOptions(c)
	if err != nil {
		return nil, err
	}
	rng, err := metrics.ParseRange(c.String("input-range"))
	if err != nil {
		return nil, fmt.Errorf("--input-range: %w", err)
	}
	net, err := quality.OpenNetwork(c.String("inception"), opts.Runtime, metrics.NetworkOptions{
		Pool: c.String("pool-output"), Logits: c.String("logits-output"),
		InputSize: c.Int("input-size"), Range: rng,
	})
	if err != nil {
		return nil, err
	}
	if net.Fallback != "" {
		fmt.Fprintf(os.Stderr, "provider auto: CUDA unavailable, inception on CPU: %s\n", net.Fallback)
	}
	fmt.Fprintf(os.Stderr, "inception: %s\n", net.Describe())
	return net, nil
}

// extract runs every image of src through net, batch at a time, with a
// progress bar on stderr.
// sourceFeatures opens the Inception network and the image source named by
// c's flags and extracts the features of every image; it also returns a
// description of the source.
func sourceFeatures(c *cli.Context) (*metrics.Features, string, error) {
	if _, err := sampledTruncation(c); err != nil { // before loading anything
		return nil, "", err
	}
	net, err := openNetwork(c)
	if err != nil {
		return nil, "", err
	}
	defer net.Close()
	src, err := openSource(c)
	if err != nil {
		return nil, "", err
	}
	defer src.close()
	f, err := extract(c, net, src)
	return f, src.what, err
}

func extract(c *cli.Context, net *quality.Network, src *imageSource) (*metrics.Features, error) {
	batch := c.Int("batch")
	if batch <= 0 {
		return nil, fmt.Errorf("--batch %d: must be positive", batch)
	}
	var bar *progressbar.ProgressBar
	if src.n > batch {
		bar = newImageBar(os.Stderr, src.n, "features")
	}
	progress := func(done int) {
		if bar != nil {
			bar.Set(done)
		}
	}
	return net.Extract(c.Context, src.n, src.size, batch, src.fill, progress)
}
