// Package onnx writes ONNX model files: the protobuf types of the ONNX IR
// (onnx.proto, generated into onnx.pb.go) and a small builder on top of them.
//
// In tgan's data flow it sits between the exporter and the files on disk:
//
//	model.Config + model.Weights -> exporter (builds a Graph) -> onnx.Model -> .onnx file -> runtime
//
// A [Graph] collects inputs, outputs, initializers (named constant tensors)
// and nodes. Node outputs get unique names automatically, so graph code reads
// as a chain of calls:
//
//	g := onnx.NewGraph("generator")
//	z := g.Input("z", onnx.Batch, 256)
//	w := g.Initializer("l1.weight", []int{65536, 256}, data)
//	y := g.Op("Gemm", []string{z, w}, onnx.AttrInt("transB", 1))
//	g.Output(y, "image", onnx.Batch, 65536)
//
// Mistakes (an unknown input name, a duplicate initializer, data that does
// not match its shape) are kept as the graph's first error and reported by
// [Graph.Err], [Model.Proto] and [Model.Marshal], image/png style, so the
// building code needs no error checks between steps.
//
// The package writes no files: [Model.Marshal] gives the bytes and the
// caller writes them (the exporter and `tgan export --fused` through
// internal/fileio/atomicfile). It imports nothing of tgan's, so the
// exporter, the runtime and everything above them can use it.
//
// The generated types keep ONNX's message names, field names and field
// numbers (proto2, IR version 8); they register the proto package "onnx", so
// a binary must not link a second copy of the ONNX protos.
package onnx

//go:generate sh gen.sh
