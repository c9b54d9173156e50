package onnx_test

import (
	"fmt"

	"github.com/tgan-dev/tgan/onnx"
)

// A graph that computes y = x W^T + b with one Gemm, for a dynamic batch.
func Example() {
	g := onnx.NewGraph("linear")
	x := g.Input("x", onnx.Batch, 3)
	w := g.Initializer("fc.weight", []int{2, 3}, []float32{1, 0, 0, 0, 1, 0}) // [out, in]
	b := g.Initializer("fc.bias", []int{2}, []float32{0.5, -0.5})
	y := g.Op("Gemm", []string{x, w, b}, onnx.AttrInt("transB", 1))
	g.Output(y, "y", onnx.Batch, 2)

	m := &onnx.Model{Graph: g, Metadata: map[string]string{"note": "example"}}
	mp, err := m.Proto()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.OpCounts(), g.Initializers(), mp.GetOpsetImport()[0].GetVersion())
	// Output: Gemm:1 [fc.weight fc.bias] 17
}
