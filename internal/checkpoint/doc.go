// Package checkpoint reads and writes tgan's own checkpoint: one
// safetensors file that holds everything needed to sample from, export or
// resume a model without any other file.
//
// Layout (safetensors: 8-byte little-endian header length, a JSON header,
// then raw little-endian tensor data):
//
//   - metadata "format" = "tgan-checkpoint", "format_version" = "1",
//     "config" = the model.Config as JSON, "tgan_version", plus free string
//     entries for the trainer (step counters, RNG state as JSON, ...);
//   - tensors "gen.<name>" (generator), "avg_gen.<name>" (its EMA, the one
//     to sample from) and "dis.<name>" (discriminator), where <name> is the
//     official PyTorch parameter name; any other tensor (optimizer moments
//     "opt.gen.m.<name>", ...) is kept in Checkpoint.Extra.
//
// Float tensors are F32, integer buffers I64. In the data flow the trainer
// and the .pth importer (internal/checkpoint/pth) write checkpoints; the exporter,
// `tgan infer` and resumed training read them.
package checkpoint
