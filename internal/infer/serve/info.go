package serve

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// Info describes one served model: what GET /v1/models/{model} answers and
// what the page shows next to the samples.
type Info struct {
	Name         string `json:"name"`
	File         string `json:"file"`
	Architecture string `json:"architecture"`
	ImageSize    int    `json:"image_size"`
	LatentDim    int    `json:"latent_dim"`
	// Weights is "ema" (the averaged generator), "raw" (the trained one) or
	// "unknown" (a file that does not say).
	Weights string `json:"weights"`
	Backend string `json:"backend"`
	// Step is the generator steps trained, nil where the file does not
	// record it (an .onnx export, an imported checkpoint).
	Step *int `json:"step"`
	// Source is the checkpoint an .onnx file was exported from ("" if unknown).
	Source    string        `json:"source,omitempty"`
	Precision string        `json:"precision,omitempty"`
	Config    *model.Config `json:"config"`
}

// Model is a generator to serve under Name (a URL path segment).
type Model struct {
	Model engine.Model
	Info  Info
}

// Open opens path as a generator and reads what the page shows about it:
// the EMA/raw choice, the training step, the exported-from checkpoint.
// The caller closes the model.
func Open(path string, opts engine.Options) (engine.Model, Info, error) {
	info := Info{File: filepath.Base(path), Weights: "unknown"}
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		m, err := engine.Open(path, engine.Generator, opts)
		if err != nil {
			return nil, info, err
		}
		mp, err := onnx.ReadFile(path)
		if err != nil {
			m.Close()
			return nil, info, err
		}
		md := onnx.Metadata(mp)
		switch md["tgan.weights"] {
		case "avg_gen":
			info.Weights = "ema"
		case "gen":
			info.Weights = "raw"
		}
		info.Source, info.Precision = md["tgan.checkpoint"], md["tgan.precision"]
		if s, err := strconv.Atoi(md["tgan.step"]); err == nil {
			info.Step = &s
		}
		return m, describe(info, m), nil
	}
	ck, err := checkpoint.Load(path)
	if err != nil {
		return nil, info, err
	}
	m, err := engine.FromCheckpoint(ck, engine.Generator, opts)
	if err != nil {
		return nil, info, err
	}
	info.Weights = "ema"
	if opts.RawGenerator || ck.AvgGen == nil {
		info.Weights = "raw"
	}
	info.Precision = "fp32"
	if st, ok, err := checkpoint.ReadState[json.RawMessage](ck); ok && err == nil {
		info.Step = &st.GSteps
	}
	return m, describe(info, m), nil
}

// describe fills what the engine model knows.
func describe(info Info, m engine.Model) Info {
	c := m.Config()
	info.Config, info.ImageSize, info.LatentDim, info.Backend = c, c.ImageSize, c.LatentDim, m.Backend()
	info.Architecture = Architecture(c)
	return info
}

// Architecture is a one-line summary of a generator config, e.g.
// "TransGAN final: G depths [5 4 2], width 1024, heads 4, 8x8 -> 32x32, latent 256",
// naming the generator family of the zoo's other models (ViT_custom,
// Celeba256_gen, the church 256 G), PixelNorm and the attention windows.
func Architecture(c *model.Config) string {
	extra := ""
	if c.GRelPos {
		extra = ", relative positions"
	}
	if c.GArch != model.GDefault {
		extra += ", " + string(c.GArch) + " generator"
	}
	if c.GNorm == model.PixelNorm {
		extra += ", PixelNorm"
	}
	if len(c.GWindows) > 0 {
		extra += fmt.Sprintf(", windows %v", c.GWindows)
	}
	return fmt.Sprintf("TransGAN %s: G depths %v, width %d, heads %d, %dx%d -> %dx%d, latent %d%s",
		c.Version, c.GDepths, c.GDim, c.GHeads, c.BottomWidth, c.BottomWidth, c.ImageSize, c.ImageSize, c.LatentDim, extra)
}

// Names gives each model file a URL-safe name: its file stem, with
// characters other than letters, digits, '.', '_' and '-' replaced by '-',
// and "-2", "-3", ... appended to repeats (runA/ckpt, runB/ckpt -> ckpt, ckpt-2).
func Names(paths []string) []string {
	names := make([]string, len(paths))
	seen := map[string]bool{}
	for i, p := range paths {
		base := sanitizeName(strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)))
		name := base
		for k := 2; seen[name]; k++ {
			name = base + "-" + strconv.Itoa(k)
		}
		seen[name] = true
		names[i] = name
	}
	return names
}

func sanitizeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
	if s == "" || s == "." || s == ".." {
		return "model"
	}
	return s
}
