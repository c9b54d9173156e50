package exporter

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/onnx/fused"
	"github.com/tgan-dev/tgan/runtime"
)

// TestZooFloat16: networks without PixelNorm (the ViT_custom G with its
// noise input, the LayerNorm D's of the 256 families, the no-noise scale2
// D) convert to float16 and stay within 1e-2 of float32; an export of a
// family with PixelNorm is refused with one line naming the cause.
func TestZooFloat16(t *testing.T) {
	t.Setenv(runtime.FuseEnv, "off")
	env := openEnv(t, 1)
	for name, cfg := range zooConfigs(t) {
		for _, net := range zooNets(t, cfg) {
			label := name + "/" + net.name
			norm := cfg.GNorm
			if net.name != "G" {
				norm = cfg.DNorm
			}
			if norm == model.PixelNorm {
				continue
			}
			std, err := net.model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			want := runBytes(t, env, std, net)
			if err := Float16(net.model); err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			half, err := net.model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			e := testkit.RelErr(runBytes(t, env, half, net), want)
			t.Logf("%s: float16 vs float32 max rel err %.3g", label, e)
			if e > 1e-2 {
				t.Errorf("%s: float16 max rel err %.3g > 1e-2", label, e)
			}
		}
		if Float16Refusal(cfg) == nil {
			continue
		}
		gw, dw := randomNets(cfg, 1)
		_, err := Export(Source{Config: cfg, Gen: gw, Dis: dw}, t.TempDir(), Options{FP16: true})
		if err == nil || !strings.Contains(err.Error(), "PixelNorm") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: float16 export of a PixelNorm family: %v", name, err)
		}
	}
}

// TestZooInt8: the int8-weight CPU form of every zoo network quantizes
// every Gemm (cross-attention and the noise path included) and stays
// within 5% of float32.
func TestZooInt8(t *testing.T) {
	t.Setenv(runtime.FuseEnv, "off")
	env := openEnv(t, 1)
	for name, cfg := range zooConfigs(t) {
		for _, net := range zooNets(t, cfg) {
			label := name + "/" + net.name
			std, err := net.model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			plain, _, err := fused.Bytes(std, fused.Options{Target: fused.CPU})
			if err != nil {
				t.Fatal(err)
			}
			data, rep, err := fused.Bytes(std, fused.Options{Target: fused.CPU, Int8Weights: true})
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			if gemms := countNodes(t, plain, "Gemm"); rep.Int8 != gemms || gemms == 0 || countNodes(t, data, "Gemm") != 0 {
				t.Errorf("%s: %v; the CPU form has %d Gemms", label, rep, gemms)
			}
			e := testkit.RelErr(runBytes(t, env, data, net), runBytes(t, env, std, net))
			t.Logf("%s: %v; max rel err %.3g", label, rep, e)
			if e > 0.05 {
				t.Errorf("%s: int8 weights max rel err %.3g > 0.05", label, e)
			}
		}
	}
}

// TestZooTriton: a generator with a noise input declares it in Triton's
// config; one without does not.
func TestZooTriton(t *testing.T) {
	cfg := zooConfigs(t)["church256_small"]
	c := TritonConfig(cfg, 8)
	if !strings.Contains(c, `name: "noise"`) || !strings.Contains(c, "dims: [ 5460 ]") {
		t.Errorf("church256 config.pbtxt lacks the noise input [5460]:\n%s", c)
	}
	if c := TritonConfig(zooConfigs(t)["final_stl_small"], 8); strings.Contains(c, "noise") {
		t.Errorf("final-stl (no G noise) config.pbtxt names noise:\n%s", c)
	}
}

// countNodes counts the nodes of type op in an encoded model.
func countNodes(t *testing.T, data []byte, op string) int {
	t.Helper()
	mp := &onnx.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, node := range mp.GetGraph().GetNode() {
		if node.GetOpType() == op {
			n++
		}
	}
	return n
}
