package checkpoint

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tgan-dev/tgan/model"
)

// Metadata keys written by Save. Other keys of Checkpoint.Meta are free.
const (
	MetaFormat        = "format"
	MetaFormatVersion = "format_version"
	MetaConfig        = "config"
	MetaTganVersion   = "tgan_version"
)

// Values of the format metadata.
const (
	Format        = "tgan-checkpoint"
	FormatVersion = "1"
)

// Tensor-name prefixes of the three networks.
const (
	GenPrefix    = "gen."
	AvgGenPrefix = "avg_gen."
	DisPrefix    = "dis."
)

// Checkpoint is a model configuration with its weights and training state.
type Checkpoint struct {
	Config *model.Config
	// Gen is the trained generator (required).
	Gen model.Weights
	// AvgGen is the EMA generator, the one to sample from; nil when absent.
	AvgGen model.Weights
	// Dis is the discriminator; nil when absent (e.g. an imported bare G).
	Dis model.Weights
	// Extra holds any other tensor under its full name, e.g.
	// "opt.gen.m.l1.weight" (Adam moments) or "fixed_z".
	Extra map[string]*model.Tensor
	// Meta holds free string entries (tgan_version, step counters, RNG
	// state as JSON, ...). Save adds format, format_version and config;
	// Load returns every metadata entry except those three.
	Meta map[string]string
}

// Sampler returns the weights to generate images with: the EMA generator
// when present, else the generator.
func (c *Checkpoint) Sampler() model.Weights {
	if c.AvgGen != nil {
		return c.AvgGen
	}
	return c.Gen
}

// Validate checks the config and that every network present has exactly
// the tensors its config needs. Gen is required.
func (c *Checkpoint) Validate() error {
	if c.Config == nil {
		return errors.New("no config")
	}
	if err := c.Config.Validate(); err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), "\n  ", "; "))
	}
	if c.Gen == nil {
		return errors.New("no generator weights")
	}
	groups := []struct {
		prefix string
		w      model.Weights
		params []model.Param
	}{
		{GenPrefix, c.Gen, c.Config.GParams()},
		{AvgGenPrefix, c.AvgGen, c.Config.GParams()},
		{DisPrefix, c.Dis, c.Config.DParams()},
	}
	for _, g := range groups {
		if g.w == nil {
			continue
		}
		if err := prefixed(g.w, g.prefix).Check(prefixParams(g.params, g.prefix)); err != nil {
			return err
		}
	}
	for name := range c.Extra {
		if hasGroupPrefix(name) {
			return fmt.Errorf("extra tensor %q uses a network prefix", name)
		}
	}
	return nil
}

func hasGroupPrefix(name string) bool {
	return strings.HasPrefix(name, GenPrefix) || strings.HasPrefix(name, AvgGenPrefix) ||
		strings.HasPrefix(name, DisPrefix)
}

// prefixed returns w with every key prefixed (tensors shared, not copied).
func prefixed(w model.Weights, prefix string) model.Weights {
	out := make(model.Weights, len(w))
	for k, t := range w {
		out[prefix+k] = t
	}
	return out
}

func prefixParams(ps []model.Param, prefix string) []model.Param {
	out := make([]model.Param, len(ps))
	for i, p := range ps {
		p.Name = prefix + p.Name
		out[i] = p
	}
	return out
}

// Save validates c and writes it to path atomically: a temporary file in the
// same folder is written, synced and renamed over path, so a crash or error
// never leaves a half-written checkpoint (the previous file stays intact).
func Save(path string, c *Checkpoint) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	tensors := make(map[string]*model.Tensor)
	for _, g := range []struct {
		prefix string
		w      model.Weights
	}{{GenPrefix, c.Gen}, {AvgGenPrefix, c.AvgGen}, {DisPrefix, c.Dis}} {
		for k, t := range g.w {
			tensors[g.prefix+k] = t
		}
	}
	for k, t := range c.Extra {
		tensors[k] = t
	}
	meta := make(map[string]string, len(c.Meta)+3)
	for k, v := range c.Meta {
		meta[k] = v
	}
	meta[MetaFormat] = Format
	meta[MetaFormatVersion] = FormatVersion
	meta[MetaConfig] = c.Config.JSON()
	return WriteTensors(path, tensors, meta)
}

// Load reads and validates a checkpoint written by Save. Errors are one
// line naming the file and, where one is at fault, the tensor key, e.g.
//
//	checkpoint run/ckpt.safetensors: tensor "gen.l1.weight" has shape [..], the config needs [..]
func Load(path string) (*Checkpoint, error) {
	tensors, meta, err := ReadTensors(path)
	if err != nil {
		return nil, err
	}
	fail := func(err error) error { return fmt.Errorf("checkpoint %s: %w", path, err) }
	if meta[MetaFormat] != Format {
		return nil, fail(fmt.Errorf("not a tgan checkpoint (metadata format %q, want %q)", meta[MetaFormat], Format))
	}
	if v := meta[MetaFormatVersion]; v != FormatVersion {
		return nil, fail(fmt.Errorf("format_version %q is not supported (this tgan reads %q)", v, FormatVersion))
	}
	cfg, err := model.ParseJSON(meta[MetaConfig])
	if err != nil {
		return nil, fail(errors.New(strings.ReplaceAll(err.Error(), "\n  ", "; ")))
	}
	c := &Checkpoint{Config: cfg, Extra: map[string]*model.Tensor{}, Meta: map[string]string{}}
	for k, v := range meta {
		if k != MetaFormat && k != MetaFormatVersion && k != MetaConfig {
			c.Meta[k] = v
		}
	}
	for name, t := range tensors {
		var dst *model.Weights
		var key string
		switch {
		case strings.HasPrefix(name, GenPrefix):
			dst, key = &c.Gen, strings.TrimPrefix(name, GenPrefix)
		case strings.HasPrefix(name, AvgGenPrefix):
			dst, key = &c.AvgGen, strings.TrimPrefix(name, AvgGenPrefix)
		case strings.HasPrefix(name, DisPrefix):
			dst, key = &c.Dis, strings.TrimPrefix(name, DisPrefix)
		default:
			c.Extra[name] = t
			continue
		}
		if *dst == nil {
			*dst = model.Weights{}
		}
		(*dst)[key] = t
	}
	if err := c.Validate(); err != nil {
		return nil, fail(err)
	}
	return c, nil
}
