// Package runtime runs exported tgan models with ONNX Runtime.
//
// It is the last arrow of tgan's data flow:
//
//	.onnx file (from exporter) -> ONNX Runtime session (CPU or CUDA) -> float32 tensors -> images
//
// An [Env] owns onnxruntime_go's process-global environment: it finds and loads
// the ONNX Runtime shared library (see [FindLibrary]; scripts/setup.sh puts it in
// <repo>/.ort/) and must be closed when done. [Env.OpenModel] opens a .onnx
// file as a [Model]: it reports the model's inputs, outputs and metadata_props
// (for example "tgan.config"), and [Model.Run] / [Model.RunBatched] run a
// model with one float32 input and one float32 output whose first axis is the
// batch.
//
// Sessions: every ONNX Runtime session, a Model's and the training graphs'
// of internal/lower, is a [Session] created by [Env.NewSession] or
// [Env.OpenSession] from a [SessionOptions] (provider, CUDA device, threads,
// spinning, CPU arena, TF32, profiling, the fused rewrite of a tgan file),
// whose defaults per use are [InferenceSessionOptions] and
// [TrainingSessionOptions]; [ApplyEnv] is the one place environment
// variables override them.
//
// Execution providers: [CPU], [CUDA] and [Auto]. CUDA is strict: every failure
// while enabling it is an error that names CUDA and the reason; it never falls
// back to CPU silently. Auto tries CUDA and, when it fails, runs on CPU and
// records why in [Model.FallbackReason].
//
// This package never imports Gorgonia: it only knows files and tensors.
package runtime
