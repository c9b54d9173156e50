// Package trainer trains TransGAN generators and discriminators with
// Gorgonia, following the official recipe (SPEC.md "Training recipe").
//
// Place in the data flow: dataset -> trainer -> checkpoint. A Trainer holds
// the weights of G, its EMA copy and D, the Adam moments of both nets and
// the step counters; Step runs one iteration (a D step, and a G step every
// NCritic iterations); Checkpoint and Resume carry that state. A Trainer
// knows no folder: package runfolder, above it, drives Step with a run
// folder (checkpoints, sample grids, metrics.jsonl, charts, evaluation).
//
// Each step is one Gorgonia graph (nets.go), the same for both executors:
// the D step (real and fake batch through DiffAugment and D, the D loss),
// the WGAN-GP penalty (double backprop through D and DiffAugment's
// transpose), the G step (z through G, DiffAugment and D in one graph, the
// G loss; with the leak, D's parameter gradients of it too) and forward-only
// G graphs for fakes and samples. The losses are ordinary graph arithmetic
// (loss.go); DiffAugment is one graph op (augop.go) whose parameters are
// drawn in Go before each run and read by the op on the tape machine and
// by the lowered graph's inputs on ONNX Runtime (executor_lower.go).
//
// What executes the graphs is an executor (executor.go): Gorgonia's tape
// machine (the package default and the reference), or, after
// UseExecutor("ort", ...) (tgan train's default where ONNX Runtime is found),
// the same graphs lowered to ONNX by internal/lower and run by ONNX Runtime
// on CPU or CUDA (executor_ort.go). The update is graphs too (update.go):
// gradient accumulation and the G loss's leak, the gradient norm for
// clipping, Adam and the EMA run on the same executor, over gradient
// buffers the step graphs write and state the update writes in place, so
// on ONNX Runtime weights, moments, EMA and gradients stay where it runs;
// Go feeds the batch, z, noise, augmentation draws and scalars, and reads
// losses, statistics and the norm. Batches, z, masks, noise and draws are
// read from the graphs' input nodes at each run, so the random streams are
// the same on both executors. ONNX Runtime plans buffers by liveness,
// which is where its memory saving comes from.
//
// Options.SRWeight > 0 adds the v1 paper's multi-task co-training (never in
// the official code; tgan's design is described in sr.go): one more G graph
// starts from the real batch box-averaged to the bottom resolution, embedded
// per pixel by sr_embed (3 -> g_dim) in place of l1(z), and its weighted MSE
// to the real batch is added to every G step's loss.
//
// Every random draw of an iteration comes from a source seeded by (seed,
// iteration), in the order StepOn documents, and the data loader's cursor
// is three integers, so a run stopped and resumed from a checkpoint
// computes the same weights as an uninterrupted one. The zoo's noised
// generators (ViT_custom, Celeba256_gen, the church 256 G) draw their
// attention noise in training as the official code does: for the fakes,
// for every G micro-batch, and for the sample grids (from a fixed seed, so
// grids differ only by the weights); the noise inputs are graph inputs, so
// ONNX Runtime reads them like z.
package trainer
