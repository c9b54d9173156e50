// Package metrics computes the GAN evaluation metrics: Fréchet Inception
// Distance (FID), Kernel Inception Distance (KID) and Inception Score (IS).
//
// Place in the data flow:
//
//	images (dataset, or generator -> uint8 truncation) -> Network (Inception
//	ONNX through runtime) -> Features (pool, logits) -> Stats (mu, sigma .npz)
//	-> FrechetDistance / KID / InceptionScore
//
// [Network] feeds uint8 images to a feature network exported to ONNX (see
// tools/inception): pixels p become float32 p/255 (or another [Range]), are
// resized bilinearly like F.interpolate(align_corners=False) when the
// network's input size differs, and go through ONNX Runtime in batches; the
// pooled features and logits come back by output name.
//
// [Stats] are read and written in the TTUR / pytorch-fid .npz format ("mu",
// "sigma", float64), so reference statistics from those tools work as they
// are. [FrechetDistance] equals pytorch-fid's scipy-based value (tested to
// 1e-5 relative on 2048-d statistics) but uses symmetric eigendecompositions
// from LAPACK (OpenBLAS through cgo) instead of sqrtm: a few seconds for
// 2048-d. Build with -tags noblas for pure Go (gonum; minutes for 2048-d).
//
// Everything here is float64 where it accumulates; no Python is needed.
package metrics
