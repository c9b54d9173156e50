// Package gmodel builds the TransGAN generator and discriminator as Gorgonia
// expression graphs: the native forward pass of `tgan infer`/`tgan score`
// on checkpoints and the differentiable networks the trainer optimises.
//
// Data flow: model.Config + model.Weights -> Build{Generator,Discriminator}
// -> a *Net whose parameter nodes share memory with the Weights (so the
// trainer's updates are seen without copies) -> Run(input) -> output.
//
// The heavy or trap-prone pieces are custom Gorgonia ops with Go kernels
// (ops_*.go): matrix products through the configured BLAS, copying
// reshape/permute (Gorgonia's Reshape returns an untracked view), softmax
// over the last axis, LayerNorm's normalisation, exact-erf GELU, the
// relative-position gather, constant linear maps along one axis (bicubic
// and updown resampling, pooling, im2col, channel means and broadcasts:
// ops_axismap.go) and a power (PixelNorm's inverse root). Each op's
// gradient is itself built from ops, and gradcheck_test.go and
// zoo_grad_test.go check every one against finite differences. Each op
// also describes itself (Described, OpSpec in describe.go) for exporters:
// internal/lower reads these descriptions to turn the graphs into ONNX.
//
// Families: the v1 and final (ViT_custom_rp / scale2) pairs, and the
// SPEC-hires zoo: PixelNorm, ViT_custom and the noise-free scale2 D, the
// 256 generators (generator256.go: bicubic stages, windowed stages,
// Celeba256_gen's cross-attention and updown) and the three-scale
// discriminators (discriminator3.go). Attention noise is an input (noise.go).
//
// Double backprop (WGAN-GP) works through every op: take gx := G.Grad(D
// output, input), call ResetDerivatives(graph), build the penalty from gx and
// call G.Grad(penalty (+ loss), weights...). secondorder_test.go checks it
// against finite differences on both discriminator kinds, zoo_grad_test.go
// on the zoo's discriminators.
package gmodel
