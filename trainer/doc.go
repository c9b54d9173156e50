// Package trainer trains TransGAN generators and discriminators with
// Gorgonia, following the official recipe (SPEC.md "Training recipe").
//
// Place in the data flow: dataset -> trainer -> checkpoint. A Trainer holds
// the weights of G, its EMA copy and D, the Adam moments of both nets and
// the step counters; Step runs one iteration (a D step, and a G step every
// NCritic iterations). Run wraps a Trainer with a run folder: periodic
// checkpoints (atomic, the last few kept, plus a "latest" pointer), sample
// grids from a fixed z, metrics.jsonl, a loss chart and the effective config.
//
// The networks are separate Gorgonia graphs that share the weight tensors:
// a D graph whose cost is sum(logits * seed) (the loss derivative with
// respect to the logits is computed in Go and fed as the seed), a D graph
// for the WGAN-GP penalty (double backprop: the penalty is a function of
// dD/dx, differentiated again with respect to D's weights), a G graph seeded
// with the gradient that reaches G's output through D and DiffAugment, and
// forward-only G graphs for fakes and samples. DiffAugment runs in Go on
// every D input; its exact transpose carries gradients back to G and, as a
// custom graph op, into the penalty.
//
// What executes the graphs is an executor (executor.go): Gorgonia's tape
// machine (the package default and the reference), or, after
// UseExecutor("ort", ...) (tgan train's default where ONNX Runtime is found),
// the same graphs lowered to ONNX by internal/lower and run by ONNX Runtime
// on CPU or CUDA (executor_ort.go). The lowering covers the D step, the
// penalty's double backward (DiffAugment's sampled parameters become graph
// inputs), the G step with D, DiffAugment and the G loss inlined into one
// model, and G's forward pass; weights, batches, z, masks and attention noise
// are read from the graphs' input nodes at each run, so the random streams
// and the Go-side recipe (Adam, clipping, EMA) are unchanged. ONNX Runtime
// plans buffers by liveness, which is where its memory saving comes from.
// The MT-CT graph stays on the tape machine.
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
