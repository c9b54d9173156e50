package onnx

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// affine builds y = x*w + b on x [batch, 2].
func affine(t *testing.T) *Model {
	t.Helper()
	g := NewGraph("affine")
	x := g.Input("x", Batch, 2)
	w := g.Initializer("w", []int{2, 2}, []float32{1, 2, 3, 4})
	y := g.Op("MatMul", []string{x, w})
	y = g.Op("Add", []string{y, g.Float(0.5)})
	g.Output(y, "y", Batch, 2)
	return &Model{Graph: g, Metadata: map[string]string{"b": "2", "a": "1"}}
}

func TestModelProto(t *testing.T) {
	mp, err := affine(t).Proto()
	if err != nil {
		t.Fatal(err)
	}
	if mp.GetIrVersion() != 8 || mp.GetOpsetImport()[0].GetVersion() != 17 || mp.GetProducerName() != "tgan" {
		t.Errorf("defaults: IR %d, opset %v, producer %q", mp.GetIrVersion(), mp.GetOpsetImport(), mp.GetProducerName())
	}
	gp := mp.GetGraph()
	if n := gp.GetNode()[1]; n.GetOutput()[0] != "y" || n.GetInput()[1] != "const.f32.0" {
		t.Errorf("last node %v: want output renamed to y and the constant as input", n)
	}
	dim := gp.GetInput()[0].GetType().GetTensorType().GetShape().GetDim()
	if dim[0].GetDimParam() != "batch" || dim[1].GetDimValue() != 2 {
		t.Errorf("input dims %v", dim)
	}
	if md := mp.GetMetadataProps(); md[0].GetKey() != "a" || md[1].GetKey() != "b" {
		t.Errorf("metadata not sorted: %v", md)
	}
	w, err := FloatData(gp.GetInitializer()[0])
	if err != nil || len(w) != 4 || w[3] != 4 {
		t.Errorf("FloatData = %v, %v", w, err)
	}
}

// TestWireNumbers pins a few field numbers of the ONNX IR: a model with only
// ir_version 8 and producer_name "tgan" has these exact bytes.
func TestWireNumbers(t *testing.T) {
	b, err := proto.Marshal(&ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String("tgan")})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x08, 8, 0x12, 4, 't', 'g', 'a', 'n'} // field 1 varint, field 2 bytes
	if !bytes.Equal(b, want) {
		t.Errorf("got % x, want % x", b, want)
	}
	b, _ = proto.Marshal(&TensorProto{RawData: []byte{1}, DataType: proto.Int32(1)})
	if want := []byte{0x10, 1, 0x4a, 1, 1}; !bytes.Equal(b, want) { // data_type 2, raw_data 9
		t.Errorf("TensorProto: got % x, want % x", b, want)
	}
}

func TestGraphErrors(t *testing.T) {
	cases := map[string]func(g *Graph){
		"unknown input": func(g *Graph) { g.Op("Relu", []string{"nope"}) },
		"defined twice": func(g *Graph) {
			g.Initializer("w", []int{1}, []float32{1})
			g.Initializer("w", []int{1}, []float32{2})
		},
		"needs 6 values": func(g *Graph) { g.Initializer("w", []int{2, 3}, []float32{1}) },
	}
	for want, build := range cases {
		g := NewGraph("bad")
		x := g.Input("x", 1)
		build(g)
		g.Output(x, "y", 1)
		m := &Model{Graph: g}
		if _, err := m.Marshal(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", want, err)
		}
	}
}

func TestConstantsShared(t *testing.T) {
	g := NewGraph("c")
	first, again, other := g.Int64s(1, 2), g.Int64s(1, 2), g.Int64s(2, 1)
	one, oneAgain := g.Float(1), g.Float(1)
	if first != again || one != oneAgain || first == other {
		t.Error("equal constants must share one initializer, different ones must not")
	}
	if g.Int64(0) == g.Int64s(0) {
		t.Error("scalar and 1-D constants must differ")
	}
}

func TestMarshalReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.onnx")
	m := affine(t)
	b1, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b1, 0o644); err != nil {
		t.Fatal(err)
	}
	mp, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if Metadata(mp)["a"] != "1" || mp.GetGraph().GetName() != "affine" {
		t.Errorf("round trip: %v", mp)
	}
	b2, _ := affine(t).Marshal()
	if !bytes.Equal(b1, b2) {
		t.Error("Marshal is not deterministic")
	}
}

// TestGeneratedUpToDate regenerates onnx.pb.go into a temporary directory and
// compares it with the committed file. Skipped without protoc.
func TestGeneratedUpToDate(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc not installed (Debian protobuf-compiler)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("sh", "gen.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("gen.sh: %v\n%s", err, out)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "onnx.pb.go"))
	want, _ := os.ReadFile("onnx.pb.go")
	if !bytes.Equal(dropProtocVersion(got), dropProtocVersion(want)) {
		t.Error("onnx.pb.go is stale: run go generate ./onnx/")
	}
}

// dropProtocVersion removes the "// \tprotoc vX" header line, which names the
// protoc that happened to run rather than anything in the code.
func dropProtocVersion(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("// \tprotoc ")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}
