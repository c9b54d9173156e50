package exporter

import (
	"os"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx/fused"
	"github.com/tgan-dev/tgan/runtime"
)

// ZooFullEnv names the environment variable that turns on
// TestParityZooFullStructure (a few seconds of CPU per network).
const ZooFullEnv = "TGAN_TEST_ZOO_FULL"

// TestParityZooFullStructure exports the 256 presets at their official
// structure (bottom 8, hard-coded windows 8/16/32 then 16, 256x256 images,
// three-scale D's at patch 2 and 4) with narrower widths (G 256, D 96: the
// full widths hold 13-212 M parameters), runs G and D at batch 1 in the
// standard and the fused CPU form and compares them (1e-4).
func TestParityZooFullStructure(t *testing.T) {
	if os.Getenv(ZooFullEnv) == "" {
		t.Skipf("%s not set", ZooFullEnv)
	}
	t.Setenv(runtime.FuseEnv, "off")
	env := openEnv(t, 0)
	for _, preset := range []string{"celeba-hq-256", "church-256"} {
		cfg, err := model.Preset(preset)
		if err != nil {
			t.Fatal(err)
		}
		cfg.GDim, cfg.DDim = 256, 96
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		gw, dw := noisyNets(cfg, 3)
		g, err := Generator(cfg, gw, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Discriminator(cfg, dw, nil)
		if err != nil {
			t.Fatal(err)
		}
		S := int64(cfg.ImageSize)
		nets := []zooNet{
			{"G", g, randn(cfg.LatentDim, 1), randn(GeneratorNoise(cfg), 2), []int64{1, int64(cfg.LatentDim)}},
			{"D", d, randn(int(3*S*S), 3), nil, []int64{1, 3, S, S}},
		}
		for _, net := range nets {
			std, err := net.model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			want := runBytes(t, env, std, net)
			took := time.Since(start)
			data, rep, err := fused.Bytes(std, fused.Options{Target: fused.CPU})
			if err != nil {
				t.Fatalf("%s/%s: %v", preset, net.name, err)
			}
			blocks, cross := zooBlocks(cfg, net.name)
			if rep.Attention != blocks || rep.Cross != cross {
				t.Errorf("%s/%s: %v, want %d + %d cross", preset, net.name, rep, blocks, cross)
			}
			e := testkit.RelErr(runBytes(t, env, data, net), want)
			t.Logf("%s/%s: standard %v; %v; max rel err %.3g", preset, net.name, took.Round(time.Millisecond), rep, e)
			if e > 1e-4 {
				t.Errorf("%s/%s: fused vs standard max rel err %.3g > 1e-4", preset, net.name, e)
			}
		}
	}
}
