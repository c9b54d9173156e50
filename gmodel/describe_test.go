package gmodel

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// describeCase builds one op node from inputs of the given shapes and says
// the description it must give.
type describeCase struct {
	name   string
	shapes [][]int
	build  func(in []*G.Node) *G.Node
	want   OpSpec
}

// describeCases construct every op type of the package and every kind of
// OpSpec (each row kind, both directions of the adjoint pairs).
func describeCases() []describeCase {
	idx := model.RelPosIndex(2)
	relBiasNode := func(in []*G.Node) *G.Node { return relBias(in[0], idx, 4) }
	cases := []describeCase{
		{"matmul", [][]int{{3, 4}, {4, 5}}, func(in []*G.Node) *G.Node { return matmul(in[0], in[1], false, false) }, MatMulSpec{}},
		{"matmulTATB", [][]int{{2, 4, 3}, {2, 5, 4}}, func(in []*G.Node) *G.Node { return matmul(in[0], in[1], true, true) }, MatMulSpec{TransA: true, TransB: true}},
		{"reshape", [][]int{{2, 6}}, func(in []*G.Node) *G.Node { return reshape(in[0], 3, 4) }, ReshapeSpec{To: []int{3, 4}}},
		{"permute", [][]int{{2, 3, 4}}, func(in []*G.Node) *G.Node { return permute(in[0], 2, 0, 1) }, PermuteSpec{Perm: []int{2, 0, 1}}},
		{"addTiled", [][]int{{3, 4}, {4}}, func(in []*G.Node) *G.Node { return addTiled(in[0], in[1]) }, TiledSpec{}},
		{"mulTiled", [][]int{{3, 4}, {4}}, func(in []*G.Node) *G.Node { return mulTiled(in[0], in[1]) }, TiledSpec{Mul: true}},
		{"sumTiles", [][]int{{3, 4}}, func(in []*G.Node) *G.Node { return sumTiles(in[0], tensor.Shape{4}) }, SumTilesSpec{Shape: []int{4}}},
		{"tile", [][]int{{1, 4}}, func(in []*G.Node) *G.Node { return tileOf(in[0], tensor.Shape{3, 4}) }, TileSpec{Shape: []int{3, 4}}},
		{"gelu", [][]int{{3, 5}}, func(in []*G.Node) *G.Node { return gelu(in[0]) }, GELUSpec{}},
		{"gelu2", [][]int{{3, 5}, {3, 5}}, func(in []*G.Node) *G.Node { return geluN(2, in[0], in[1]) }, GELUSpec{Order: 2}},
		{"relBias", [][]int{{9, 2}}, relBiasNode, RelBiasSpec{Index: idx, Entries: 9, Heads: 2, Tokens: 4}},
		{"relBiasScatter", [][]int{{9, 2}}, func(in []*G.Node) *G.Node {
			fwd := relBiasNode(in)
			return apply(fwd.Op().(*relBiasOp).adjoint(), fwd)
		}, RelBiasSpec{Index: idx, Entries: 9, Heads: 2, Tokens: 4, Scatter: true}},
		{"slice", [][]int{{2, 4, 3}}, func(in []*G.Node) *G.Node { return sliceMid(in[0], 2, 4, 3, 1, 3, 2, 2, 3) },
			SliceSpec{Outer: 2, N: 4, Inner: 3, Lo: 1, Hi: 3, Out: []int{2, 2, 3}}},
		{"pad", [][]int{{2, 2, 3}}, func(in []*G.Node) *G.Node { return padMid(in[0], 2, 4, 3, 1, 3, 2, 4, 3) },
			SliceSpec{Outer: 2, N: 4, Inner: 3, Lo: 1, Hi: 3, Pad: true, Out: []int{2, 4, 3}}},
		{"axisMap", [][]int{{2, 3, 4}}, func(in []*G.Node) *G.Node {
			return axisMap(in[0], "m", []float32{1, 2, 3, 4, 5, 6}, 2, 2, 3, 4, 2, 2, 4)
		},
			AxisMapSpec{Matrix: []float32{1, 2, 3, 4, 5, 6}, M: 2, Outer: 2, N: 3, Inner: 4, Out: []int{2, 2, 4}}},
		{"axisMapAdjoint", [][]int{{2, 2, 4}}, func(in []*G.Node) *G.Node {
			return applyAxisMap(in[0], "m", []float32{1, 2, 3, 4, 5, 6}, 2, 2, 3, 4, true, []int{24})
		}, AxisMapSpec{Matrix: []float32{1, 2, 3, 4, 5, 6}, M: 2, Outer: 2, N: 3, Inner: 4, Adjoint: true, Out: []int{24}}},
		{"pow", [][]int{{3, 5}}, func(in []*G.Node) *G.Node { return pow(in[0], 2, 1e-8, -0.5) }, PowSpec{Coef: 2, Eps: 1e-8, P: -0.5}},
	}
	for kind := RowSoftmax; kind <= RowNormalizeGradX; kind++ {
		operands := 1 + int(kind)%2 // forward ops take x; first-order VJPs (x, g)
		if kind >= RowSoftmaxGradY {
			operands = 3 // second-order VJPs take (x, g, u)
		}
		shapes := slices.Repeat([][]int{{3, 5}}, operands)
		cases = append(cases, describeCase{fmt.Sprintf("row%d", kind), shapes,
			func(in []*G.Node) *G.Node { return newRowOp(kind, in...) }, RowSpec{Kind: kind}})
	}
	return cases
}

// TestOpsDescribeThemselves checks that every op built by the package's
// constructors is Described and reports the parameters it was built with,
// as fresh copies.
func TestOpsDescribeThemselves(t *testing.T) {
	for _, c := range describeCases() {
		g := G.NewGraph()
		in := make([]*G.Node, len(c.shapes))
		for i, s := range c.shapes {
			in[i] = G.NewTensor(g, tensor.Float32, len(s), G.WithShape(s...), G.WithName(fmt.Sprintf("in%d", i)))
		}
		op, ok := c.build(in).Op().(Described)
		if !ok {
			t.Errorf("%s: op %T does not implement Described", c.name, c.build(in).Op())
			continue
		}
		got := op.Describe()
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Describe() = %#v, want %#v", c.name, got, c.want)
			continue
		}
		clobber(got)
		if again := op.Describe(); !reflect.DeepEqual(again, c.want) {
			t.Errorf("%s: changing a description changed the op: now %#v", c.name, again)
		}
	}
}

// clobber overwrites the slices of a description.
func clobber(s OpSpec) {
	switch s := s.(type) {
	case ReshapeSpec:
		clear(s.To)
	case PermuteSpec:
		clear(s.Perm)
	case SumTilesSpec:
		clear(s.Shape)
	case TileSpec:
		clear(s.Shape)
	case RelBiasSpec:
		clear(s.Index)
	case SliceSpec:
		clear(s.Out)
	case AxisMapSpec:
		clear(s.Matrix)
		clear(s.Out)
	}
}

// TestEveryOpTypeIsDescribed finds the op types of the package (structs
// embedding opBase, from the source) and requires describeCases to build
// each of them, and to give every OpSpec type: a new op cannot reach
// exporters undescribed or untested.
func TestEveryOpTypeIsDescribed(t *testing.T) {
	built := map[string]bool{}
	specs := map[string]bool{}
	for _, c := range describeCases() {
		g := G.NewGraph()
		in := make([]*G.Node, len(c.shapes))
		for i, s := range c.shapes {
			in[i] = G.NewTensor(g, tensor.Float32, len(s), G.WithShape(s...), G.WithName(fmt.Sprintf("in%d", i)))
		}
		built[strings.TrimPrefix(fmt.Sprintf("%T", c.build(in).Op()), "*gmodel.")] = true
		specs[fmt.Sprintf("%T", c.want)] = true
	}
	opTypes, specTypes := sourceTypes(t)
	if len(opTypes) < 10 {
		t.Fatalf("found only op types %v in the source", opTypes)
	}
	for _, name := range opTypes {
		if !built[name] {
			t.Errorf("op type %s is not built by describeCases", name)
		}
	}
	for _, name := range specTypes {
		if !specs["gmodel."+name] {
			t.Errorf("no case of describeCases gives a %s", name)
		}
	}
}

// sourceTypes lists the package's struct types that embed opBase and the
// types with an isOpSpec method.
func sourceTypes(t *testing.T) (ops, specs []string) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					if ts, ok := spec.(*ast.TypeSpec); ok && embedsOpBase(ts) {
						ops = append(ops, ts.Name.Name)
					}
				}
			case *ast.FuncDecl:
				if d.Name.Name == "isOpSpec" && d.Recv != nil {
					specs = append(specs, fmt.Sprint(d.Recv.List[0].Type))
				}
			}
		}
	}
	return ops, specs
}

func embedsOpBase(ts *ast.TypeSpec) bool {
	st, ok := ts.Type.(*ast.StructType)
	if !ok {
		return false
	}
	for _, f := range st.Fields.List {
		if id, ok := f.Type.(*ast.Ident); ok && len(f.Names) == 0 && id.Name == "opBase" {
			return true
		}
	}
	return false
}
