package engine

import (
	"fmt"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// MetaConfig is the ONNX metadata key holding the model config as JSON.
const MetaConfig = "tgan.config"

// onnxModel runs an exported graph with ONNX Runtime.
type onnxModel struct {
	env     *runtime.Env
	m       *runtime.Model
	cfg     *model.Config
	network Network
	in, out int
}

func openONNX(path string, n Network, opts Options) (Model, error) {
	env, err := runtime.Open(opts.Runtime)
	if err != nil {
		return nil, err
	}
	m, err := env.OpenModel(path)
	if err != nil {
		env.Close()
		return nil, err
	}
	m.SetNoiseSeed(opts.NoiseSeed) // generators with a noise input (runtime.DrawNoise)
	om := &onnxModel{env: env, m: m, network: n}
	if err := om.readConfig(path); err != nil {
		env.Close()
		return nil, err
	}
	return om, nil
}

// readConfig takes the architecture from the file's tgan.config metadata.
func (o *onnxModel) readConfig(path string) error {
	raw, ok := o.m.MetadataValue(MetaConfig)
	if !ok {
		return fmt.Errorf("%s: no %q metadata: not exported by tgan export", path, MetaConfig)
	}
	cfg, err := model.ParseJSON(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	o.cfg = cfg
	if net, ok := o.m.MetadataValue("tgan.network"); ok && net != o.network.String() {
		return fmt.Errorf("%s holds the %s, this command needs the %s", path, net, o.network)
	}
	if o.network == Generator {
		if err := o.checkNoiseInput(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	img := 3 * cfg.ImageSize * cfg.ImageSize
	o.in, o.out = cfg.LatentDim, img
	if o.network == Discriminator {
		o.in, o.out = img, 1
	}
	return nil
}

// checkNoiseInput compares the file's attention-noise input with the
// generator its tgan.config describes: every draw the graph reads must be
// fed from the seed, and a width that differs means an edited or foreign
// file whose images would not match the checkpoint's.
func (o *onnxModel) checkNoiseInput() error {
	want, got := o.cfg.GNoiseDraws(), o.m.NoiseSize()
	ins := o.m.Inputs()
	switch {
	case want == got && (want > 0 || len(ins) == 1):
		return nil
	case want == 0:
		return fmt.Errorf("the generator of its tgan.config has no attention noise, but the file has inputs %v", ins)
	case got == 0:
		return fmt.Errorf("the generator of its tgan.config takes attention noise: want an input %q [batch, %d], the file has %v",
			runtime.NoiseInput, want, ins)
	}
	return fmt.Errorf("input %q has %d draws per image, the generator of its tgan.config takes %d (T of [batch, T])",
		runtime.NoiseInput, got, want)
}

func (o *onnxModel) Config() *model.Config { return o.cfg }
func (o *onnxModel) InSize() int           { return o.in }
func (o *onnxModel) OutSize() int          { return o.out }
func (o *onnxModel) Backend() string       { return "onnxruntime " + string(o.m.Provider()) }
func (o *onnxModel) Close() error          { return o.env.Close() }

// FallbackReason says why provider auto chose the CPU ("" otherwise).
func FallbackReason(m Model) string {
	if o, ok := m.(*onnxModel); ok {
		return o.m.FallbackReason()
	}
	return ""
}

// FusedForm is the target ("cpu" or "cuda") of ONNX Runtime's fused form
// that an ONNX model runs (runtime.SessionOptions.Fuse), or "".
func FusedForm(m Model) string {
	if o, ok := m.(*onnxModel); ok {
		return o.m.Fused()
	}
	return ""
}

func (o *onnxModel) Run(in []float32, batch int) ([]float32, error) {
	shape := []int64{int64(batch), int64(o.cfg.LatentDim)}
	if o.network == Discriminator {
		s := int64(o.cfg.ImageSize)
		shape = []int64{int64(batch), 3, s, s}
	}
	out, _, err := o.m.Run(in, shape)
	return out, err
}
