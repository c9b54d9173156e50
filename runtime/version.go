package runtime

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// OrtApiBase is the library's entry point (onnxruntime_c_api.h): stable
// across every ONNX Runtime release, so it is declared here rather than
// taken from a copied header.
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} tgan_api_base;

typedef struct {
	void *handle;
	const tgan_api_base *base;
	char *path;  // the file the loader opened (malloc'd), from dladdr
	char *err;   // the loader's message on failure (malloc'd)
} tgan_probe;

// tgan_open loads name (a path, or a bare name searched by the system
// loader) and finds OrtGetApiBase. dlopen and dlerror run in one C call so
// that the error message belongs to this thread.
static tgan_probe tgan_open(const char *name) {
	tgan_probe r = {0};
	void *h = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		r.err = strdup(e ? e : "dlopen failed");
		return r;
	}
	void *sym = dlsym(h, "OrtGetApiBase");
	if (!sym) {
		r.err = strdup("not an ONNX Runtime library (no OrtGetApiBase symbol)");
		dlclose(h);
		return r;
	}
	Dl_info info;
	if (dladdr(sym, &info) && info.dli_fname) {
		r.path = strdup(info.dli_fname);
	}
	r.handle = h;
	r.base = ((const tgan_api_base *(*)(void))sym)();
	return r;
}

static const char *tgan_version(const tgan_api_base *b) { return b->GetVersionString(); }

// OrtApi is a table of function pointers whose order is part of ONNX
// Runtime's ABI (entries are only ever appended); these are the indices in
// onnxruntime_c_api.h of the entries used here.
enum { tganGetErrorMessage = 2, tganReleaseStatus = 93, tganGetAvailableProviders = 125, tganReleaseAvailableProviders = 126 };

typedef void *(*tgan_get_providers_fn)(char ***out, int *n);
typedef void *(*tgan_release_providers_fn)(char **p, int n);
typedef const char *(*tgan_error_message_fn)(const void *status);
typedef void (*tgan_release_status_fn)(void *status);

// tgan_providers lists the execution providers built into the library.
// It returns 0 on success, 1 when the API version is unavailable, 2 when
// the call failed (err is then the library's message, malloc'd).
static int tgan_providers(const tgan_api_base *b, uint32_t api_version, char ***out, int *n, char **err) {
	void *const *api = (void *const *)b->GetApi(api_version);
	if (!api) return 1;
	void *status = ((tgan_get_providers_fn)api[tganGetAvailableProviders])(out, n);
	if (status) {
		*err = strdup(((tgan_error_message_fn)api[tganGetErrorMessage])(status));
		((tgan_release_status_fn)api[tganReleaseStatus])(status);
		return 2;
	}
	return 0;
}

static void tgan_release_providers(const tgan_api_base *b, uint32_t api_version, char **p, int n) {
	void *const *api = (void *const *)b->GetApi(api_version);
	void *status = ((tgan_release_providers_fn)api[tganReleaseAvailableProviders])(p, n);
	if (status) ((tgan_release_status_fn)api[tganReleaseStatus])(status);
}

static char *tgan_provider_at(char **p, int i) { return p[i]; }
*/
import "C"

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// requiredAPI is the C API version onnxruntime_go v1.27.0 asks the library
// for (ORT_API_VERSION of the ONNX Runtime 1.24 headers it is built with).
// Since ONNX Runtime 1.x the API version equals the minor release number.
const requiredAPI = 24

// libInfo is what probing a library file tells.
type libInfo struct {
	path      string // the file the system loader opened
	version   string
	providers []string
}

// probed caches probes by the file opened: a probed library stays loaded
// for the life of the process (onnxruntime_go loads the same file next, and
// the loader then hands out the same copy).
var probed struct {
	sync.Mutex
	byPath map[string]libInfo
}

// loadError is a library the loader could not open (or that lacks
// OrtGetApiBase); msg is the loader's own message.
type loadError struct{ name, msg string }

func (e *loadError) Error() string {
	return "runtime: load ONNX Runtime " + e.name + ": " + e.msg
}

// probeLibrary loads name (a path, or libonnxruntime.so.1 for the system
// loader's own search) and checks that it is an ONNX Runtime new enough for
// this build. Errors are one line naming the file.
func probeLibrary(name string) (libInfo, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	r := C.tgan_open(cname)
	if r.err != nil {
		defer C.free(unsafe.Pointer(r.err))
		return libInfo{}, &loadError{name: name, msg: C.GoString(r.err)}
	}
	path := name
	if r.path != nil {
		path = C.GoString(r.path)
		C.free(unsafe.Pointer(r.path))
	}
	probed.Lock()
	defer probed.Unlock()
	if info, ok := probed.byPath[path]; ok {
		C.dlclose(r.handle) // drop this extra reference; the first one stays
		return info, nil
	}
	info, err := describe(r.base, path)
	if err != nil {
		C.dlclose(r.handle)
		return libInfo{}, err
	}
	if probed.byPath == nil {
		probed.byPath = map[string]libInfo{}
	}
	probed.byPath[path] = info
	return info, nil
}

// describe reads the version and the providers of a loaded library.
func describe(base *C.tgan_api_base, path string) (libInfo, error) {
	info := libInfo{path: path, version: C.GoString(C.tgan_version(base))}
	if !versionAtLeast(info.version, 1, requiredAPI) {
		// Checked before GetApi: an older library prints its own complaint
		// to stderr when asked for an API version it lacks.
		return libInfo{}, fmt.Errorf("runtime: ONNX Runtime %s is version %s; tgan needs 1.%d or newer (C API %d)",
			path, info.version, requiredAPI, requiredAPI)
	}
	var list **C.char
	var n C.int
	var cerr *C.char
	switch C.tgan_providers(base, requiredAPI, &list, &n, &cerr) {
	case 1:
		return libInfo{}, fmt.Errorf("runtime: ONNX Runtime %s (version %s) does not offer C API %d",
			path, info.version, requiredAPI)
	case 2:
		defer C.free(unsafe.Pointer(cerr))
		return libInfo{}, fmt.Errorf("runtime: ONNX Runtime %s: list providers: %s", path, C.GoString(cerr))
	}
	for i := 0; i < int(n); i++ {
		info.providers = append(info.providers, C.GoString(C.tgan_provider_at(list, C.int(i))))
	}
	C.tgan_release_providers(base, requiredAPI, list, n)
	return info, nil
}

// versionAtLeast reports whether v ("1.30.0") is at least major.minor. A
// version it cannot parse passes: the API lookup then decides.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || (ma == major && mi >= minor)
}
