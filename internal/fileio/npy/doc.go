// Package npy reads and writes NumPy .npy arrays and .npz archives.
//
// tgan exchanges plain arrays with the Python world through these files:
// golden test vectors from the official PyTorch code (latents, images,
// generator outputs), latent batches given to `tgan infer`, and FID
// statistics (`mu`, `sigma` in a TTUR-style .npz). Only little-endian,
// C-ordered float32 ('<f4'), float64 ('<f8') and int64 ('<i8') arrays are
// supported; anything else is rejected with an error naming the file.
package npy
