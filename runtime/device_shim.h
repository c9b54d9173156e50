// The C half of runtime's device shim (device.go): the few ONNX Runtime C
// API calls that onnxruntime_go v1.27 does not offer, made through the
// library's own OrtApi table. Every ONNX Runtime object is an opaque
// pointer here; every call returns NULL or an error message that the
// caller frees.
#ifndef TGAN_DEVICE_SHIM_H
#define TGAN_DEVICE_SHIM_H

#include <stddef.h>
#include <stdint.h>

// tgan_dev_opts are the session settings of runtime.SessionOptions that a
// training session uses (session.go's configure and appendCUDA).
typedef struct {
	int intra_threads;   // > 0: set; otherwise ONNX Runtime's default
	int spinning;        // session.intra_op.allow_spinning
	int cpu_arena;
	const char *profile; // NULL: no profiling
	int cuda;            // append the CUDA provider
	const char *device_id;
	const char *use_tf32;
} tgan_dev_opts;

char *tgan_dev_init(const char *library, uint32_t api_version);
char *tgan_dev_env(void **env);
void tgan_dev_release_env(void *env);
char *tgan_dev_session(void *env, const void *model, size_t len, const tgan_dev_opts *o, void **session);
void tgan_dev_release_session(void *session);
char *tgan_dev_memory_info(const char *name, int device_id, void **info);
void tgan_dev_release_memory_info(void *info);
char *tgan_dev_allocator(void *session, void *info, void **allocator);
void tgan_dev_release_allocator(void *allocator);
char *tgan_dev_tensor(void *allocator, const int64_t *shape, size_t rank, void **value);
char *tgan_dev_view(void *info, void *data, size_t bytes, const int64_t *shape, size_t rank, void **value);
char *tgan_dev_data(void *value, void **data);
char *tgan_dev_shape(void *value, int64_t *shape, size_t max_rank, size_t *rank);
void tgan_dev_release_value(void *value);
char *tgan_dev_binding(void *session, void **binding);
void tgan_dev_release_binding(void *binding);
char *tgan_dev_bind_input(void *binding, const char *name, void *value);
char *tgan_dev_bind_output(void *binding, const char *name, void *value);
char *tgan_dev_bind_output_to_device(void *binding, const char *name, void *info);
void tgan_dev_clear(void *binding);
char *tgan_dev_sync_inputs(void *binding);
char *tgan_dev_sync_outputs(void *binding);
char *tgan_dev_run(void *session, void *binding);
char *tgan_dev_bound_outputs(void *binding, void ***values, size_t *count);
void tgan_dev_free_bound(void **values);

#endif
