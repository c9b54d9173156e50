package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LibraryEnvVar names the environment variable that points at the ONNX
// Runtime shared library. It is consulted after an explicit path.
const LibraryEnvVar = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// libName is the file name scripts/setup.sh installs under .ort/lib and .ort/cuda.
const libName = "libonnxruntime.so.1"

// FindLibrary returns the ONNX Runtime shared library to load.
//
// The order is: explicit (the --ort-lib flag), then $ONNXRUNTIME_SHARED_LIBRARY_PATH,
// then <repo>/.ort/lib/libonnxruntime.so.1, where <repo> is the nearest directory
// holding .ort found by walking up from the executable's directory and then
// from the working directory. When cuda is true, <repo>/.ort/cuda/ (the
// version-matched CUDA set from scripts/setup.sh --cuda) is preferred over
// .ort/lib, because the CUDA provider libraries must match the core exactly.
//
// An explicit path or environment variable that names a missing file is an
// error; it does not fall through to the next candidate. The error of a failed
// search names every path tried.
func FindLibrary(explicit string, cuda bool) (string, error) {
	if explicit != "" {
		return checkFile(explicit, "--ort-lib")
	}
	if p := os.Getenv(LibraryEnvVar); p != "" {
		return checkFile(p, "$"+LibraryEnvVar)
	}
	subdirs := []string{"lib"}
	if cuda {
		subdirs = []string{"cuda", "lib"}
	}
	var tried []string
	for _, start := range searchStarts() {
		repo, ok := findOrtRoot(start)
		if !ok {
			tried = append(tried, filepath.Join(start, ".ort", "lib", libName)+" (no .ort above)")
			continue
		}
		for _, sub := range subdirs {
			p := filepath.Join(repo, ".ort", sub, libName)
			if fileExists(p) {
				return p, nil
			}
			tried = append(tried, p)
		}
	}
	hint := "run scripts/setup.sh"
	if cuda {
		hint = "run scripts/setup.sh --cuda"
	}
	return "", fmt.Errorf("runtime: ONNX Runtime library not found; tried: %s; %s, pass --ort-lib, or set %s",
		strings.Join(tried, ", "), hint, LibraryEnvVar)
}

func checkFile(p, source string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("runtime: ONNX Runtime library %s from %s: %w", p, source, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("runtime: ONNX Runtime library from %s: %w", source, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("runtime: ONNX Runtime library from %s: %s is a directory", source, abs)
	}
	return abs, nil
}

// searchStarts returns the executable's directory and the working directory.
func searchStarts() []string {
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil && (len(starts) == 0 || starts[0] != wd) {
		starts = append(starts, wd)
	}
	return starts
}

// findOrtRoot walks up from dir to the first directory that contains .ort.
func findOrtRoot(dir string) (string, bool) {
	for {
		st, err := os.Stat(filepath.Join(dir, ".ort"))
		if err == nil && st.IsDir() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
