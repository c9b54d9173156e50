package fused_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/onnx/fused"
)

// kernelTable is testdata/ort/cuda-kernels.txt: for "domain op", the
// operator set versions and element types that ONNX Runtime's CUDA
// provider has kernels for.
type kernelTable map[string]struct {
	from, to int64 // versions; to 0 = open
	types    map[string]bool
}

func readKernelTable(t *testing.T) kernelTable {
	t.Helper()
	f, err := os.Open("../../testdata/ort/cuda-kernels.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table := kernelTable{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 4 {
			t.Fatalf("kernel table line %q", sc.Text())
		}
		e := table[fields[0]+" "+fields[1]]
		lo, hi, _ := strings.Cut(strings.TrimSuffix(fields[2], "+"), "-")
		e.from, _ = strconv.ParseInt(lo, 10, 64)
		if hi != "" {
			e.to, _ = strconv.ParseInt(hi, 10, 64)
		}
		e.types = map[string]bool{}
		for _, ty := range fields[3:] {
			e.types[ty] = true
		}
		table[fields[0]+" "+fields[1]] = e
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return table
}

// elemNames are the kernel table's names of ONNX element types.
var elemNames = map[onnx.TensorProto_DataType]string{
	onnx.TensorProto_FLOAT: "float", onnx.TensorProto_FLOAT16: "float16", onnx.TensorProto_INT64: "int64",
}

// nodeTypes returns the element type of every node's first input, found by
// propagating types from the graph inputs and initializers: Cast makes its
// "to" type, Shape int64, every other operator of tgan's graphs the type of
// its first input.
func nodeTypes(t *testing.T, gp *onnx.GraphProto) map[*onnx.NodeProto]onnx.TensorProto_DataType {
	t.Helper()
	types := map[string]onnx.TensorProto_DataType{}
	for _, v := range gp.Input {
		types[v.GetName()] = onnx.TensorProto_DataType(v.GetType().GetTensorType().GetElemType())
	}
	for _, in := range gp.Initializer {
		types[in.GetName()] = onnx.TensorProto_DataType(in.GetDataType())
	}
	out := map[*onnx.NodeProto]onnx.TensorProto_DataType{}
	for _, n := range gp.Node {
		in, ok := types[n.Input[0]]
		if !ok {
			t.Fatalf("node %s: type of %q unknown (nodes out of order?)", n.GetName(), n.Input[0])
		}
		out[n] = in
		result := in
		switch n.GetOpType() {
		case "Cast":
			for _, a := range n.Attribute {
				if a.GetName() == "to" {
					result = onnx.TensorProto_DataType(a.GetI())
				}
			}
		case "Shape":
			result = onnx.TensorProto_INT64
		}
		for _, o := range n.Output {
			if o != "" {
				types[o] = result
			}
		}
	}
	return out
}

// TestCUDAKernels checks, without a GPU, that every node of the fused CUDA
// form of G and D (float32 and float16 exports of each test config) has a
// kernel in ONNX Runtime's CUDA provider for its operator set version and
// element type, according to the published kernel table kept in
// testdata/ort/cuda-kernels.txt. A node without one would run on the CPU
// (with copies to and from the GPU around it), or the session would fail.
func TestCUDAKernels(t *testing.T) {
	table := readKernelTable(t)
	for name, cfg := range configs(t) {
		for _, fp16 := range []bool{false, true} {
			for _, net := range networks(t, cfg) { // fresh models: Float16 converts in place
				if fp16 {
					if err := exporter.Float16(net.model); err != nil {
						t.Fatal(err)
					}
				}
				checkKernels(t, table, name+"/"+net.name+"/fp16="+strconv.FormatBool(fp16), net.model)
			}
		}
	}
}

func checkKernels(t *testing.T, table kernelTable, label string, m *onnx.Model) {
	t.Helper()
	mp, err := m.Proto()
	if err != nil {
		t.Fatal(err)
	}
	mp = proto.Clone(mp).(*onnx.ModelProto)
	if _, err := fused.Rewrite(mp, fused.Options{Target: fused.CUDA}); err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	versions := map[string]int64{}
	for _, o := range mp.OpsetImport {
		d := o.GetDomain()
		if d == "" {
			d = "ai.onnx"
		}
		versions[d] = o.GetVersion()
	}
	seen := map[string]bool{}
	for n, ty := range nodeTypes(t, mp.Graph) {
		domain := n.GetDomain()
		if domain == "" {
			domain = "ai.onnx"
		}
		key := domain + " " + n.GetOpType()
		e, ok := table[key]
		v := versions[domain]
		switch {
		case !ok:
			t.Errorf("%s: node %s: no CUDA kernel for %s", label, n.GetName(), key)
		case v < e.from || (e.to != 0 && v > e.to):
			t.Errorf("%s: node %s: %s has CUDA kernels for versions %d-%d, the model imports %d", label, n.GetName(), key, e.from, e.to, v)
		case !e.types[elemNames[ty]]:
			t.Errorf("%s: node %s: no CUDA kernel for %s on %v", label, n.GetName(), key, ty)
		}
		seen[key] = true
	}
	for _, op := range []string{"com.microsoft MultiHeadAttention", "com.microsoft SkipLayerNormalization"} {
		if !seen[op] {
			t.Errorf("%s: no %s node in the fused CUDA form", label, op)
		}
	}
}
