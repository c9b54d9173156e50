package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
)

func TestParseProvider(t *testing.T) {
	for in, want := range map[string]Provider{"": CPU, "cpu": CPU, "CUDA": CUDA, " auto ": Auto} {
		if got, err := ParseProvider(in); err != nil || got != want {
			t.Errorf("ParseProvider(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseProvider("tpu"); err == nil || !strings.Contains(err.Error(), "cpu, cuda or auto") {
		t.Errorf("ParseProvider(tpu): %v", err)
	}
}

// touch creates an empty file (the lookup order is about where files are,
// not what they hold; loading is tested below with real libraries).
func touch(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// systemFinds reports whether the system loader finds libonnxruntime.so.1
// in this process; the last step of the order depends on it.
func systemFinds() bool {
	_, err := probeLibrary(libName)
	var le *loadError
	return !errors.As(err, &le)
}

func TestFindLibraryOrder(t *testing.T) {
	// An installed prefix (bin/, lib/) inside a checkout with .ort/{lib,cuda};
	// the working directory is a subfolder of the checkout.
	root := t.TempDir()
	bin := filepath.Join(root, "prefix", "bin")
	wd := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	explicit := touch(t, filepath.Join(root, "explicit.so"))
	fromEnv := touch(t, filepath.Join(root, "env.so"))
	beside := touch(t, filepath.Join(bin, libName))
	prefixLib := touch(t, filepath.Join(root, "prefix", "lib", libName))
	cpuLib := touch(t, filepath.Join(root, ".ort", "lib", libName))
	cudaLib := touch(t, filepath.Join(root, ".ort", "cuda", libName))

	var log strings.Builder
	SetLookupLog(&log)
	defer SetLookupLog(nil)
	l := lookup{explicit: explicit, envPath: fromEnv, exeDir: bin, wd: wd}
	steps := []struct {
		drop       func()
		path, from string
	}{
		{func() {}, explicit, SourceFlag},
		{func() { l.explicit = "" }, fromEnv, SourceEnv},
		{func() { l.envPath = "" }, beside, SourceExe},
		{func() { os.Remove(beside) }, prefixLib, SourceExe},
		{func() { os.Remove(prefixLib) }, cpuLib, SourceRepo},
		{func() { l.cuda = true }, cudaLib, SourceRepo},
		{func() { os.Remove(cudaLib) }, cpuLib, SourceRepo},
	}
	for i, s := range steps {
		s.drop()
		got, err := l.locate()
		if err != nil || got.Path != s.path || got.Source != s.from {
			t.Errorf("step %d: locate = %+v, %v; want %s from %s", i, got, err, s.path, s.from)
		}
	}
	for _, want := range []string{"--ort-lib: not given", "$" + LibraryEnvVar + ": not set",
		"next to the executable: " + beside + ": no such file", ".ort of the checkout: " + cudaLib + ": no such file"} {
		if !strings.Contains(log.String(), "ort lookup: "+want+"\n") {
			t.Errorf("verbose log lacks %q:\n%s", want, log.String())
		}
	}

	// Nothing left but the system loader.
	os.Remove(cpuLib)
	got, err := l.locate()
	if systemFinds() {
		if err != nil || got.Source != SourceSystem {
			t.Errorf("system step: %+v, %v", got, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("empty search found %+v", got)
	}
	msg := err.Error()
	places := []string{beside, prefixLib, cudaLib, cpuLib, "system loader " + libName, "scripts/setup.sh --cuda"}
	for _, want := range places {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
}

func TestFindLibraryExplicitAndEnv(t *testing.T) {
	dir := t.TempDir()
	lib := touch(t, filepath.Join(dir, "lib.so"))
	l := lookup{envPath: lib}
	if got, err := l.locate(); err != nil || got.Path != lib {
		t.Errorf("env var: %+v, %v", got, err)
	}
	// A missing file named by the flag or the variable is an error, not a
	// fall-through to the next step.
	l.explicit = filepath.Join(dir, "nope.so")
	if _, err := l.locate(); err == nil || !strings.Contains(err.Error(), "--ort-lib") {
		t.Errorf("missing explicit path: %v", err)
	}
	l = lookup{envPath: filepath.Join(dir, "gone.so"), exeDir: dir}
	touch(t, filepath.Join(dir, libName))
	if _, err := l.locate(); err == nil || !strings.Contains(err.Error(), LibraryEnvVar) {
		t.Errorf("missing env path: %v", err)
	}
	t.Setenv(LibraryEnvVar, "")
	// No .ort above the executable or the working directory.
	l = lookup{exeDir: filepath.Join(dir, "bin"), wd: filepath.Join(dir, "w")}
	_, err := l.locate()
	if systemFinds() {
		return
	}
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "w", ".ort", "lib", libName)+" (no .ort above)") ||
		!strings.Contains(err.Error(), "scripts/setup.sh,") {
		t.Errorf("no .ort: %v", err)
	}
}

// TestLookupLibraryChecksVersion loads a library that reports ONNX Runtime
// 1.20.1 (built here with the C compiler cgo uses; its OrtGetApiBase has
// only the version string): one line naming the file and its version.
func TestLookupLibraryChecksVersion(t *testing.T) {
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "old.c")
	code := `#include <stddef.h>
#include <stdint.h>
static const void *get_api(uint32_t v) { (void)v; return NULL; }
static const char *version(void) { return "1.20.1"; }
static const struct { const void *(*a)(uint32_t); const char *(*b)(void); } base = {get_api, version};
const void *OrtGetApiBase(void) { return &base; }
`
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "lib", libName)
	os.MkdirAll(filepath.Dir(old), 0o755)
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", old, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	_, err = LookupLibrary(old, false)
	want := "runtime: ONNX Runtime " + old + " is version 1.20.1; tgan needs 1.24 or newer (C API 24)"
	if err == nil || err.Error() != want {
		t.Errorf("old library: %v\nwant %s", err, want)
	}
	// The same file found next to the executable gives the same line.
	if _, err := (lookup{exeDir: filepath.Join(dir, "bin")}).run(); err == nil || err.Error() != want {
		t.Errorf("old library beside the executable: %v", err)
	}
	// A file that is a library but not ONNX Runtime.
	if _, err := LookupLibrary(src, false); err == nil || !strings.Contains(err.Error(), src) {
		t.Errorf("C source as a library: %v", err)
	}
}

// TestLookupLibraryReal checks the real library's version and providers.
func TestLookupLibraryReal(t *testing.T) {
	testkit.RequireORT(t, FindLibrary)
	lib, err := LookupLibrary("", false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(lib.Version, "1.") || !slices.Contains(lib.Providers, "CPUExecutionProvider") ||
		lib.Source == "" || !filepath.IsAbs(lib.Path) {
		t.Errorf("LookupLibrary = %+v", lib)
	}
}

// TestLookupSystemLoader runs this test binary again with LD_LIBRARY_PATH
// (read by the loader at process start, so it needs a new process) pointing
// at a folder holding the library, from a working directory with no .ort
// above and a clean environment: the system loader step finds it.
func TestLookupSystemLoader(t *testing.T) {
	if os.Getenv("TGAN_LOOKUP_CHILD") == "1" {
		lib, err := LookupLibrary("", false)
		fmt.Printf("path=%s source=%s version=%s err=%v\n", lib.Path, lib.Source, lib.Version, err)
		return
	}
	testkit.RequireORT(t, FindLibrary)
	real, err := LookupLibrary("", false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	libDir := filepath.Join(dir, "syslib")
	os.MkdirAll(libDir, 0o755)
	if err := os.Symlink(real.Path, filepath.Join(libDir, libName)); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := findOrtRoot(filepath.Dir(exe)); ok {
		t.Skip("the test binary is inside a checkout with .ort")
	}
	cmd := exec.Command(exe, "-test.run=^TestLookupSystemLoader$")
	cmd.Dir = dir
	cmd.Env = []string{"TGAN_LOOKUP_CHILD=1", "LD_LIBRARY_PATH=" + libDir}
	out, err := cmd.CombinedOutput()
	want := fmt.Sprintf("path=%s source=%s version=%s err=<nil>", filepath.Join(libDir, libName), SourceSystem, real.Version)
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("child: %v\n%s\nwant %s", err, out, want)
	}
}

func TestEnvRefcount(t *testing.T) {
	a := openEnv(t, Options{})
	b, err := Open(Options{LibraryPath: a.LibraryPath()})
	if err != nil {
		t.Fatalf("second Open with the same library: %v", err)
	}
	// The same library under another name (a symlink) loads, but is a
	// different path than the one already loaded.
	other := filepath.Join(t.TempDir(), libName)
	if err := os.Symlink(a.LibraryPath(), other); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{LibraryPath: other}); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Errorf("Open with another library while open: %v", err)
	}
	m := openModel(t, b, "tiny_gen.onnx")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := m.Run(make([]float32, 8), []int64{1, 8}); err == nil {
		t.Error("model still runs after its Env closed")
	}
	// a still works: the environment survives b's Close.
	m2 := openModel(t, a, "tiny_gen.onnx")
	if _, _, err := m2.Run(make([]float32, 8), []int64{1, 8}); err != nil {
		t.Fatalf("run after the other Env closed: %v", err)
	}
	if v := a.Version(); !strings.HasPrefix(v, "1.") {
		t.Errorf("Version() = %q", v)
	}
	if _, err := b.OpenModel(tinyPath("tiny_gen.onnx")); err == nil {
		t.Error("OpenModel on a closed Env succeeded")
	}
}

func TestOpenBadLibrary(t *testing.T) {
	bad := filepath.Join(t.TempDir(), libName)
	if err := os.WriteFile(bad, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{LibraryPath: bad})
	if err == nil || !strings.Contains(err.Error(), "runtime: load ONNX Runtime "+bad) {
		t.Fatalf("Open(bad library): %v", err)
	}
	// The failure leaves nothing behind: a good library still opens.
	openEnv(t, Options{})
}
