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
// Device memory: a [Device] ([Env.OpenDevice]) is one provider's memory
// (host memory on CPU, device memory on CUDA; [Memory] "Cpu" or "Cuda"),
// where [Tensor]s stay across runs, written in place by [BoundSession]s
// through an IoBinding ([BoundSession.BindOutputToDevice], Synchronize*),
// and copied to and from Go ([Device.Upload], [Device.Download]) only for
// checkpoints and the like. onnxruntime_go lacks these calls, so a small
// cgo shim (device_shim.c) calls ONNX Runtime's C API through the loaded
// library's OrtApi table and owns the sessions it serves; that is smaller
// and cleaner than a fork of onnxruntime_go pinned by a replace directive
// (device.go says why).
//
// This package never imports Gorgonia: it only knows files and tensors.
package runtime
