// Package imageio turns float32 image tensors into pixels and files, and
// image files back into pixels.
//
// Place in the data flow: the generator (Gorgonia in the trainer, or ONNX
// Runtime in the runtime package) produces NCHW float32 batches in about
// [-1, 1]; this package converts them to uint8 exactly as the official
// TransGAN evaluation does (x*127.5+127.5, clamp to [0, 255], truncate),
// tiles them into sample grids for training logs (Grid), and writes PNG files
// atomically (SavePNG, SaveEach: 000000.png, 000001.png, ... for FID/IS).
// In the other direction LoadImage and Planar decode PNG/JPEG files for the
// folder dataset (internal/data/dataset) and for scoring images with D.
package imageio
