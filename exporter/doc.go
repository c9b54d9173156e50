// Package exporter writes TransGAN generators and discriminators as ONNX
// files for ONNX Runtime (and NVIDIA Triton).
//
// In tgan's data flow it turns a configuration and weights into files:
//
//	checkpoint (model.Config + model.Weights) -> exporter -> generator.onnx, discriminator.onnx -> runtime
//
// The graphs are built directly from the model.Config and the weights, not
// by translating a training graph: opset 17, standard ai.onnx operators only
// (Gemm, MatMul, LayerNormalization, Softmax, Erf, DepthToSpace, Conv,
// AveragePool, ...), a dynamic batch axis named "batch". Every official
// tensor is an initializer under its official PyTorch name (for example
// "blocks.block.0.attn.qkv.weight"); derived values such as the
// relative-position bias [heads, N, N] are computed in-graph from the
// official table and index (ONNX Runtime folds them once at load time), so
// the file holds the checkpoint's tensors unchanged.
//
// The graphs are written for ONNX Runtime's fusions: LayerNormalization
// nodes, Gemm with the bias for every Linear, the Div/Erf/Add/Mul/Mul exact
// GELU pattern, and attention batched as 4-D MatMuls over [B, heads, N, d].
//
// The zoo's newer families add PixelNorm (ReduceMean of squares, Sqrt,
// Div), window attention (Reshape/Transpose partitions, windows in the
// batch axis), Celeba256_gen's cross-attention (MatMul/Softmax over the z
// embedding), bicubic upsampling (Resize, cubic a=-0.75, half_pixel), the
// updown filter (edge Pad and depthwise Conv) and padded patch
// convolutions; see window.go, generator256.go and discriminator3.go.
// Generators whose attentions take learned input noise (ViT_custom, the
// 256 families) have a second input "noise" [batch, T] of standard-normal
// draws (GeneratorNoise); tgan's runtime fills it from a seed and each
// latent (runtime.DrawNoise).
//
// Each file carries metadata_props (see Metadata): tgan.version,
// tgan.config (model.Config JSON), tgan.latent_dim, tgan.image_size,
// tgan.value_range and tgan.network (tgan.g_attention_noise = T on a
// generator with a noise input).
package exporter
