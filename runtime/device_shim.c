// The C half of runtime's device shim; see device_shim.h and device.go.
//
// OrtApi is a table of function pointers whose order is part of ONNX
// Runtime's ABI (entries are only ever appended). The indices below are
// the positions of the entries in onnxruntime_c_api.h (C API 24), and the
// function types are their declarations there; version.go reads the same
// table the same way.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "device_shim.h"

enum {
	iGetErrorMessage = 2, iCreateEnv = 3, iCreateSessionFromArray = 8,
	iCreateSessionOptions = 10, iEnableProfiling = 14, iEnableCpuMemArena = 18,
	iDisableCpuMemArena = 19, iSetGraphOptimizationLevel = 23,
	iSetIntraOpNumThreads = 24, iSetInterOpNumThreads = 25, iCreateRunOptions = 39,
	iCreateTensorAsOrtValue = 48, iCreateTensorWithDataAsOrtValue = 49,
	iGetTensorMutableData = 51, iGetDimensionsCount = 61, iGetDimensions = 62,
	iGetTensorTypeAndShape = 65, iCreateMemoryInfo = 68, iAllocatorFree = 76,
	iGetAllocatorWithDefaultOptions = 78, iReleaseEnv = 92, iReleaseStatus = 93,
	iReleaseMemoryInfo = 94, iReleaseSession = 95, iReleaseValue = 96,
	iReleaseRunOptions = 97, iReleaseTensorTypeAndShapeInfo = 99,
	iReleaseSessionOptions = 100, iAddSessionConfigEntry = 130,
	iCreateAllocator = 131, iReleaseAllocator = 132, iRunWithBinding = 133,
	iCreateIoBinding = 134, iReleaseIoBinding = 135, iBindInput = 136,
	iBindOutput = 137, iBindOutputToDevice = 138, iGetBoundOutputValues = 140, iClearBoundInputs = 141, iClearBoundOutputs = 142,
	iSynchronizeBoundInputs = 202, iSynchronizeBoundOutputs = 203,
	iAppendCUDA_V2 = 204, iCreateCUDAProviderOptions = 205,
	iUpdateCUDAProviderOptions = 206, iReleaseCUDAProviderOptions = 208,
};

enum { kLoggingError = 3, kEnableAll = 99, kDeviceAllocator = 0, kMemTypeDefault = 0, kFloat = 1 };

typedef void *status;
static void *const *api;

// CALL casts entry i of the table to a function returning an OrtStatus*
// with the given parameter types; RELEASE to one returning nothing.
#define CALL(i, ...) ((status(*)(__VA_ARGS__))api[i])
#define RELEASE(i, p) do { if (p) ((void (*)(void *))api[i])(p); } while (0)

// check turns a status into a malloc'd message (NULL for success).
static char *check(status s) {
	if (!s) return NULL;
	char *msg = strdup(((const char *(*)(status))api[iGetErrorMessage])(s));
	((void (*)(status))api[iReleaseStatus])(s);
	return msg;
}

typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} api_base;

char *tgan_dev_init(const char *library, uint32_t api_version) {
	if (api) return NULL;
	void *h = dlopen(library, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		return strdup(e ? e : "dlopen failed");
	}
	void *sym = dlsym(h, "OrtGetApiBase");
	if (!sym) return strdup("not an ONNX Runtime library (no OrtGetApiBase symbol)");
	const api_base *b = ((const api_base *(*)(void))sym)();
	void *const *table = (void *const *)b->GetApi(api_version);
	if (!table) return strdup("the library does not offer the C API version asked for");
	api = table; // the handle stays open: the library stays loaded
	return NULL;
}

char *tgan_dev_env(void **env) {
	return check(CALL(iCreateEnv, int, const char *, void **)(kLoggingError, "tgan", env));
}

void tgan_dev_release_env(void *env) { RELEASE(iReleaseEnv, env); }

// configure applies o to fresh session options so.
static char *configure(void *so, const tgan_dev_opts *o) {
	char *err = check(CALL(iSetGraphOptimizationLevel, void *, int)(so, kEnableAll));
	if (!err && o->intra_threads > 0)
		err = check(CALL(iSetIntraOpNumThreads, void *, int)(so, o->intra_threads));
	if (!err) err = check(CALL(iSetInterOpNumThreads, void *, int)(so, 1));
	if (!err)
		err = check(CALL(iAddSessionConfigEntry, void *, const char *, const char *)(
			so, "session.intra_op.allow_spinning", o->spinning ? "1" : "0"));
	if (!err) err = check(CALL(o->cpu_arena ? iEnableCpuMemArena : iDisableCpuMemArena, void *)(so));
	if (!err && o->profile) err = check(CALL(iEnableProfiling, void *, const char *)(so, o->profile));
	return err;
}

// append_cuda adds the CUDA provider; Update comes first because it loads
// the provider library and says precisely what is missing.
static char *append_cuda(void *so, const tgan_dev_opts *o) {
	void *co = NULL;
	char *err = check(CALL(iCreateCUDAProviderOptions, void **)(&co));
	if (err) return err;
	const char *keys[] = {"device_id", "use_tf32"};
	const char *vals[] = {o->device_id, o->use_tf32};
	err = check(CALL(iUpdateCUDAProviderOptions, void *, const char *const *, const char *const *, size_t)(co, keys, vals, 2));
	if (!err) err = check(CALL(iAppendCUDA_V2, void *, void *)(so, co));
	RELEASE(iReleaseCUDAProviderOptions, co);
	return err;
}

char *tgan_dev_session(void *env, const void *model, size_t len, const tgan_dev_opts *o, void **session) {
	void *so = NULL;
	char *err = check(CALL(iCreateSessionOptions, void **)(&so));
	if (err) return err;
	err = configure(so, o);
	if (!err && o->cuda) err = append_cuda(so, o);
	if (!err)
		err = check(CALL(iCreateSessionFromArray, void *, const void *, size_t, void *, void **)(env, model, len, so, session));
	RELEASE(iReleaseSessionOptions, so);
	return err;
}

void tgan_dev_release_session(void *session) { RELEASE(iReleaseSession, session); }

char *tgan_dev_memory_info(const char *name, int device_id, void **info) {
	return check(CALL(iCreateMemoryInfo, const char *, int, int, int, void **)(name, kDeviceAllocator, device_id, kMemTypeDefault, info));
}

void tgan_dev_release_memory_info(void *info) { RELEASE(iReleaseMemoryInfo, info); }

char *tgan_dev_allocator(void *session, void *info, void **allocator) {
	return check(CALL(iCreateAllocator, void *, void *, void **)(session, info, allocator));
}

void tgan_dev_release_allocator(void *allocator) { RELEASE(iReleaseAllocator, allocator); }

char *tgan_dev_tensor(void *allocator, const int64_t *shape, size_t rank, void **value) {
	return check(CALL(iCreateTensorAsOrtValue, void *, const int64_t *, size_t, int, void **)(allocator, shape, rank, kFloat, value));
}

char *tgan_dev_view(void *info, void *data, size_t bytes, const int64_t *shape, size_t rank, void **value) {
	return check(CALL(iCreateTensorWithDataAsOrtValue, void *, void *, size_t, const int64_t *, size_t, int, void **)(
		info, data, bytes, shape, rank, kFloat, value));
}

char *tgan_dev_data(void *value, void **data) {
	return check(CALL(iGetTensorMutableData, void *, void **)(value, data));
}

char *tgan_dev_shape(void *value, int64_t *shape, size_t max_rank, size_t *rank) {
	void *ts = NULL;
	char *err = check(CALL(iGetTensorTypeAndShape, void *, void **)(value, &ts));
	if (err) return err;
	err = check(CALL(iGetDimensionsCount, void *, size_t *)(ts, rank));
	if (!err && *rank > max_rank) err = strdup("tensor rank too large");
	if (!err) err = check(CALL(iGetDimensions, void *, int64_t *, size_t)(ts, shape, *rank));
	RELEASE(iReleaseTensorTypeAndShapeInfo, ts);
	return err;
}

void tgan_dev_release_value(void *value) { RELEASE(iReleaseValue, value); }

char *tgan_dev_binding(void *session, void **binding) {
	return check(CALL(iCreateIoBinding, void *, void **)(session, binding));
}

void tgan_dev_release_binding(void *binding) { RELEASE(iReleaseIoBinding, binding); }

char *tgan_dev_bind_input(void *binding, const char *name, void *value) {
	return check(CALL(iBindInput, void *, const char *, void *)(binding, name, value));
}

char *tgan_dev_bind_output(void *binding, const char *name, void *value) {
	return check(CALL(iBindOutput, void *, const char *, void *)(binding, name, value));
}

char *tgan_dev_bind_output_to_device(void *binding, const char *name, void *info) {
	return check(CALL(iBindOutputToDevice, void *, const char *, void *)(binding, name, info));
}

// tgan_dev_clear drops every bound input and output.
void tgan_dev_clear(void *binding) {
	((void (*)(void *))api[iClearBoundInputs])(binding);
	((void (*)(void *))api[iClearBoundOutputs])(binding);
}

char *tgan_dev_sync_inputs(void *binding) { return check(CALL(iSynchronizeBoundInputs, void *)(binding)); }

char *tgan_dev_sync_outputs(void *binding) { return check(CALL(iSynchronizeBoundOutputs, void *)(binding)); }

char *tgan_dev_run(void *session, void *binding) {
	void *ro = NULL;
	char *err = check(CALL(iCreateRunOptions, void **)(&ro));
	if (!err) err = check(CALL(iRunWithBinding, void *, void *, void *)(session, ro, binding));
	RELEASE(iReleaseRunOptions, ro);
	return err;
}

// default_allocator is ONNX Runtime's CPU allocator, which
// GetBoundOutputValues uses for the array it returns.
static void *default_allocator(void) {
	void *a = NULL;
	char *err = check(CALL(iGetAllocatorWithDefaultOptions, void **)(&a));
	free(err);
	return a;
}

char *tgan_dev_bound_outputs(void *binding, void ***values, size_t *count) {
	return check(CALL(iGetBoundOutputValues, void *, void *, void ***, size_t *)(binding, default_allocator(), values, count));
}

void tgan_dev_free_bound(void **values) {
	if (values) free(check(CALL(iAllocatorFree, void *, void *)(default_allocator(), values)));
}
