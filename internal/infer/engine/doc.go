// Package engine runs a generator or discriminator from either kind of
// model file behind one interface, so `tgan infer`, `tgan score`, `serve`
// and `bench` do not care where the numbers come from:
//
//   - a tgan checkpoint (.safetensors): the native Gorgonia forward (gmodel),
//     built once per batch size;
//   - an exported .onnx file: ONNX Runtime (package runtime) on CPU or CUDA.
//
// Both take row-major float32 batches and return row-major float32 results.
package engine
