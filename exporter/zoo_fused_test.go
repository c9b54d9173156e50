package exporter

import (
	"fmt"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx/fused"
	"github.com/tgan-dev/tgan/runtime"
)

// TestParityZooFused: the fused forms (CPU; CUDA with head sizes
// padded to a multiple of 8) of every zoo network rewrite one
// MultiHeadAttention per block, window attention included (windows folded
// into the batch), and one per Celeba256_gen cross-attention (queries from
// the tokens, keys and values from the z embedding), and give the standard
// file's outputs within 1e-4 relative on ONNX Runtime's CPU provider.
func TestParityZooFused(t *testing.T) {
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
				blocks, cross := zooBlocks(cfg, net.name)
				if rep.Attention != blocks || rep.Cross != cross {
					t.Errorf("%s: %d + %d cross MultiHeadAttention, want %d + %d (one per block and cross-attention)",
						label, rep.Attention, rep.Cross, blocks, cross)
				}
				e := testkit.RelErr(runBytes(t, env, data, net), want)
				t.Logf("%s: %v; max rel err %.3g", label, rep, e)
				if e > 1e-4 {
					t.Errorf("%s: fused vs standard max rel err %.3g > 1e-4", label, e)
				}
			}
		}
	}
}

// zooBlocks counts a network's blocks and those with cross-attention.
func zooBlocks(cfg *model.Config, net string) (blocks, cross int) {
	groups := cfg.DBlocks()
	if net == "G" {
		groups = cfg.GBlocks()
	}
	for _, g := range groups {
		for _, b := range g {
			blocks++
			if b.Cross > 0 {
				cross++
			}
		}
	}
	return blocks, cross
}
