// Package model describes the TransGAN architectures as plain data: the
// configuration of a generator/discriminator pair, the presets of the
// official code and the paper, validation, and the list of parameters each
// network owns (official PyTorch names and shapes).
//
// It is the contract that the other packages share without importing each
// other: the Gorgonia networks (trainer side), the checkpoint format, the
// importer of official .pth files and the ONNX exporter all walk the same
// []Param lists, so a parameter name is defined exactly once, here. The
// package imports neither Gorgonia nor ONNX Runtime.
package model
