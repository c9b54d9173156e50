package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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

func TestFindLibraryOrder(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib.so")
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(LibraryEnvVar, lib)
	if got, err := FindLibrary("", false); err != nil || got != lib {
		t.Errorf("env var: %q, %v", got, err)
	}
	if _, err := FindLibrary(filepath.Join(dir, "nope.so"), false); err == nil ||
		!strings.Contains(err.Error(), "--ort-lib") {
		t.Errorf("missing explicit path: %v", err)
	}
	t.Setenv(LibraryEnvVar, filepath.Join(dir, "gone.so"))
	if _, err := FindLibrary("", false); err == nil || !strings.Contains(err.Error(), LibraryEnvVar) {
		t.Errorf("missing env path: %v", err)
	}

	// A repo layout: <root>/.ort/{lib,cuda}; search from a subdirectory.
	t.Setenv(LibraryEnvVar, "")
	root := t.TempDir()
	sub := filepath.Join(root, "a", "b")
	for _, d := range []string{sub, filepath.Join(root, ".ort", "lib"), filepath.Join(root, ".ort", "cuda")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(sub)
	_, err := FindLibrary("", false)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, ".ort", "lib", libName)) ||
		!strings.Contains(err.Error(), "scripts/setup.sh") {
		t.Errorf("empty .ort: %v", err)
	}
	cpuLib := filepath.Join(root, ".ort", "lib", libName)
	cudaLib := filepath.Join(root, ".ort", "cuda", libName)
	for _, p := range []string{cpuLib, cudaLib} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := FindLibrary("", false); got != cpuLib {
		t.Errorf("cpu lookup = %q, want %q", got, cpuLib)
	}
	if got, _ := FindLibrary("", true); got != cudaLib {
		t.Errorf("cuda lookup = %q, want %q", got, cudaLib)
	}
}

func TestEnvRefcount(t *testing.T) {
	a := openEnv(t, Options{})
	b, err := Open(Options{LibraryPath: a.LibraryPath()})
	if err != nil {
		t.Fatalf("second Open with the same library: %v", err)
	}
	other := filepath.Join(t.TempDir(), libName)
	if err := os.WriteFile(other, nil, 0o644); err != nil {
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
