package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// LibraryEnvVar names the environment variable that points at the ONNX
// Runtime shared library. It is consulted after an explicit path.
const LibraryEnvVar = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// libName is the file name scripts/setup.sh installs under .ort/lib,
// .ort/cuda and PREFIX/lib, and the name the system loader is asked for.
const libName = "libonnxruntime.so.1"

// The lookup steps, as reported in verbose output and in Library.Source.
const (
	SourceFlag   = "--ort-lib"
	SourceEnv    = "$" + LibraryEnvVar
	SourceExe    = "next to the executable"
	SourceRepo   = ".ort of the checkout"
	SourceSystem = "system loader"
)

// Library is the ONNX Runtime shared library a lookup settled on, checked
// to be loadable and new enough.
type Library struct {
	Path      string   // absolute path of the file
	Source    string   // the lookup step that found it (one of the Source constants)
	Version   string   // ONNX Runtime version, for example "1.30.0"
	Providers []string // execution providers built into it, for example CPUExecutionProvider
}

var lookupLog struct {
	sync.Mutex
	w io.Writer
}

// SetLookupLog makes every library lookup report its steps to w, one line
// each (the CLI's --verbose); nil turns the report off.
func SetLookupLog(w io.Writer) {
	lookupLog.Lock()
	defer lookupLog.Unlock()
	lookupLog.w = w
}

func logf(format string, args ...any) {
	lookupLog.Lock()
	defer lookupLog.Unlock()
	if lookupLog.w != nil {
		fmt.Fprintf(lookupLog.w, "ort lookup: "+format+"\n", args...)
	}
}

// FindLibrary returns the path of the ONNX Runtime library to load; see
// LookupLibrary for the order.
func FindLibrary(explicit string, cuda bool) (string, error) {
	lib, err := LookupLibrary(explicit, cuda)
	return lib.Path, err
}

// LookupLibrary finds the ONNX Runtime shared library and checks it. The
// first step that names a file wins:
//
//  1. explicit (the --ort-lib flag);
//  2. $ONNXRUNTIME_SHARED_LIBRARY_PATH;
//  3. next to the executable (symlinks resolved): <exe dir>/libonnxruntime.so.1,
//     then <exe dir>/../lib/libonnxruntime.so.1, the layout of
//     scripts/setup.sh --prefix;
//  4. <repo>/.ort/lib/libonnxruntime.so.1, where <repo> is the nearest
//     directory holding .ort above the executable, then above the working
//     directory (a checkout set up by scripts/setup.sh). When cuda is true,
//     <repo>/.ort/cuda/ (the version-matched CUDA set of setup.sh --cuda) is
//     preferred, because the CUDA provider libraries must match the core;
//  5. the system loader's own search for libonnxruntime.so.1
//     (LD_LIBRARY_PATH, /etc/ld.so.cache, the default directories), done by
//     dlopen of the bare name; the file it opened is reported.
//
// An explicit path or environment variable that names a missing file is an
// error; it does not fall through to the next step. The file found is then
// loaded and checked: not a library, or a version older than the C API this
// build needs, is a one-line error naming the file. A failed search is one
// line naming every place tried.
func LookupLibrary(explicit string, cuda bool) (Library, error) {
	l := lookup{explicit: explicit, envPath: os.Getenv(LibraryEnvVar), cuda: cuda}
	l.exeDir, l.wd = executableDir(), workingDir()
	return l.run()
}

// lookup holds the inputs of one search, so tests can place the executable.
type lookup struct {
	explicit, envPath string
	exeDir, wd        string // "" when unknown
	cuda              bool
}

func (l lookup) run() (Library, error) {
	lib, err := l.locate()
	if err != nil {
		return Library{}, err
	}
	info, err := probeLibrary(lib.Path)
	if err != nil {
		return Library{}, err
	}
	lib.Version, lib.Providers = info.version, info.providers
	logf("using %s (ONNX Runtime %s, providers %s)", lib.Path, lib.Version, strings.Join(lib.Providers, ", "))
	return lib, nil
}

// locate walks the steps in order and returns the first file found, with
// Path and Source set. The system step loads the library to learn its path.
func (l lookup) locate() (Library, error) {
	if l.explicit != "" {
		logf("%s: %s", SourceFlag, l.explicit)
		return checkFile(l.explicit, SourceFlag)
	}
	logf("%s: not given", SourceFlag)
	if l.envPath != "" {
		logf("%s: %s", SourceEnv, l.envPath)
		return checkFile(l.envPath, SourceEnv)
	}
	logf("%s: not set", SourceEnv)
	var tried []string
	for _, step := range []func() (Library, []string, bool){l.besideExe, l.inCheckout} {
		lib, t, ok := step()
		if ok {
			return lib, nil
		}
		tried = append(tried, t...)
	}
	lib, t, err := l.system()
	if err != nil || lib.Path != "" {
		return lib, err
	}
	tried = append(tried, t...)
	hint := "run scripts/setup.sh"
	if l.cuda {
		hint = "run scripts/setup.sh --cuda"
	}
	return Library{}, fmt.Errorf("runtime: ONNX Runtime library not found; tried: %s; %s, pass --ort-lib, or set %s",
		strings.Join(tried, ", "), hint, LibraryEnvVar)
}

// besideExe is step 3: <exe dir>/ and <exe dir>/../lib/.
func (l lookup) besideExe() (Library, []string, bool) {
	if l.exeDir == "" {
		logf("%s: executable path unknown", SourceExe)
		return Library{}, []string{"next to the executable (path unknown)"}, false
	}
	var tried []string
	for _, dir := range []string{l.exeDir, filepath.Join(l.exeDir, "..", "lib")} {
		p := filepath.Join(dir, libName)
		if fileExists(p) {
			logf("%s: %s: found", SourceExe, p)
			return Library{Path: p, Source: SourceExe}, nil, true
		}
		logf("%s: %s: no such file", SourceExe, p)
		tried = append(tried, p)
	}
	return Library{}, tried, false
}

// inCheckout is step 4: .ort/ above the executable, then above the working
// directory.
func (l lookup) inCheckout() (Library, []string, bool) {
	subdirs := []string{"lib"}
	if l.cuda {
		subdirs = []string{"cuda", "lib"}
	}
	var tried []string
	for _, start := range uniqueNonEmpty(l.exeDir, l.wd) {
		repo, ok := findOrtRoot(start)
		if !ok {
			p := filepath.Join(start, ".ort", "lib", libName) + " (no .ort above)"
			logf("%s: %s", SourceRepo, p)
			tried = append(tried, p)
			continue
		}
		for _, sub := range subdirs {
			p := filepath.Join(repo, ".ort", sub, libName)
			if fileExists(p) {
				logf("%s: %s: found", SourceRepo, p)
				return Library{Path: p, Source: SourceRepo}, nil, true
			}
			logf("%s: %s: no such file", SourceRepo, p)
			tried = append(tried, p)
		}
	}
	return Library{}, tried, false
}

// system is step 5: dlopen("libonnxruntime.so.1"), which searches
// LD_LIBRARY_PATH (as it was when the process started), /etc/ld.so.cache
// and the default directories, exactly as the loader does for any program.
// Nothing found returns the place tried; a library found but unusable
// (too old) is an error naming it.
func (l lookup) system() (Library, []string, error) {
	where := "LD_LIBRARY_PATH unset"
	if v := os.Getenv("LD_LIBRARY_PATH"); v != "" {
		where = "LD_LIBRARY_PATH=" + v
	}
	where += ", /etc/ld.so.cache, /lib, /usr/lib"
	info, err := probeLibrary(libName)
	var notFound *loadError
	switch {
	case errors.As(err, &notFound):
		t := fmt.Sprintf("%s %s (%s): %s", SourceSystem, libName, where, strings.TrimPrefix(notFound.msg, libName+": "))
		logf("%s", t)
		return Library{}, []string{t}, nil
	case err != nil:
		return Library{}, nil, err
	}
	path, _ := filepath.Abs(info.path)
	logf("%s: %s (%s): found %s", SourceSystem, libName, where, path)
	return Library{Path: path, Source: SourceSystem}, nil, nil
}

func checkFile(p, source string) (Library, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return Library{}, fmt.Errorf("runtime: ONNX Runtime library %s from %s: %w", p, source, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return Library{}, fmt.Errorf("runtime: ONNX Runtime library from %s: %w", source, err)
	}
	if st.IsDir() {
		return Library{}, fmt.Errorf("runtime: ONNX Runtime library from %s: %s is a directory", source, abs)
	}
	return Library{Path: abs, Source: source}, nil
}

// executableDir is the directory of the running executable, symlinks
// resolved (a `tgan` symlinked into ~/bin still finds PREFIX/lib); "" when
// unknown.
func executableDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(exe)
}

func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd
}

func uniqueNonEmpty(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		if d != "" && (len(out) == 0 || out[len(out)-1] != d) {
			out = append(out, d)
		}
	}
	return out
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
