package exporter

import (
	"fmt"
	"testing"

	"github.com/tgan-dev/tgan/exporter/fused"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// TestZooFusedMatchesStandard: the fused forms (CPU; CUDA with head sizes
// padded to a multiple of 8) of every zoo network rewrite one
// MultiHeadAttention per block, window attention included (windows folded
// into the batch), and give the standard file's outputs within 1e-4
// relative on ONNX Runtime's CPU provider.
func TestZooFusedMatchesStandard(t *testing.T) {
	t.Setenv(runtime.FuseEnv, "off") // the standard file runs as it is
	env := openEnv(t, 1)
	for name, cfg := range zooConfigs(t) {
		for _, net := range zooNets(t, cfg) {
			std, err := net.model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want := runBytes(t, env, std, net)
			for _, target := range []fused.Target{fused.CPU, fused.CUDA} {
				label := fmt.Sprintf("%s/%s/%s", name, net.name, target)
				data, rep, err := fused.Bytes(std, fused.Options{Target: target})
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				if blocks := zooBlocks(cfg, net.name); rep.Attention != blocks {
					t.Errorf("%s: %d MultiHeadAttention, want %d (one per block)", label, rep.Attention, blocks)
				}
				e := relErr(t, runBytes(t, env, data, net), want)
				t.Logf("%s: %v; max rel err %.3g", label, rep, e)
				if e > 1e-4 {
					t.Errorf("%s: fused vs standard max rel err %.3g > 1e-4", label, e)
				}
			}
		}
	}
}

func zooBlocks(cfg *model.Config, net string) int {
	groups := cfg.DBlocks()
	if net == "G" {
		groups = cfg.GBlocks()
	}
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	return n
}
