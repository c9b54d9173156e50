package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// TestInstalled installs the built binary as scripts/setup.sh --prefix does
// (PREFIX/bin/tgan, PREFIX/lib/libonnxruntime.so.1) and runs it from an
// unrelated working directory with a clean environment: no
// $ONNXRUNTIME_SHARED_LIBRARY_PATH, no LD_LIBRARY_PATH, no .ort above.
func TestInstalled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	lib := testkit.RequireORT(t, runtime.FindLibrary)
	built := buildTgan(t)

	t.Run("prefix", func(t *testing.T) {
		prefix := t.TempDir()
		exe := filepath.Join(prefix, "bin", "tgan")
		installed := filepath.Join(prefix, "lib", "libonnxruntime.so.1")
		copyFile(t, built, exe, 0o755)
		copyFile(t, lib, installed, 0o644)
		work := t.TempDir()

		out, errOut := runClean(t, work, exe, 0, "version")
		for _, want := range []string{"tgan:         " + version, "go:           go1.",
			"library:      " + installed + " (next to the executable)", "CPUExecutionProvider", "blas:         "} {
			if !strings.Contains(out, want) {
				t.Errorf("tgan version lacks %q:\n%s%s", want, out, errOut)
			}
		}

		// A tiny model exported by the installed binary, then images from it.
		saveTiny(t, filepath.Join(work, "ckpt.safetensors"))
		runClean(t, work, exe, 0, "export", "--onnx", "onnx", "ckpt.safetensors")
		_, errOut = runClean(t, work, exe, 0, "infer", "--verbose", "--n", "3", "--out", "each", "onnx/generator.onnx")
		if want := "ort lookup: next to the executable: " + installed + ": found"; !strings.Contains(errOut, want) {
			t.Errorf("infer --verbose lacks %q:\n%s", want, errOut)
		}
		cfg, _ := model.Preset("tiny")
		pngs, _ := filepath.Glob(filepath.Join(work, "each", "*.png"))
		if len(pngs) != 3 {
			t.Fatalf("infer wrote %d PNGs, want 3: %v", len(pngs), pngs)
		}
		for _, p := range pngs {
			if b := readPNG(t, p).Bounds(); b.Dx() != cfg.ImageSize || b.Dy() != cfg.ImageSize {
				t.Errorf("%s is %v, want %dx%d", p, b, cfg.ImageSize, cfg.ImageSize)
			}
		}

		// Through a symlink elsewhere (as in ~/bin): the library is still
		// found beside the real file.
		link := filepath.Join(work, "links", "tgan")
		os.MkdirAll(filepath.Dir(link), 0o755)
		if err := os.Symlink(exe, link); err != nil {
			t.Fatal(err)
		}
		if out, _ := runClean(t, work, link, 0, "--version"); !strings.Contains(out, "library:      "+installed) {
			t.Errorf("tgan --version through a symlink:\n%s", out)
		}
	})

	t.Run("no library anywhere", func(t *testing.T) {
		prefix := t.TempDir()
		exe := filepath.Join(prefix, "bin", "tgan")
		copyFile(t, built, exe, 0o755)
		work := t.TempDir()
		tinyGen, err := filepath.Abs("../../testdata/onnx/tiny_gen.onnx")
		if err != nil {
			t.Fatal(err)
		}
		out, errOut := runClean(t, work, exe, 1, "version")
		if strings.Contains(out, "(system loader)") {
			t.Skip("this machine has ONNX Runtime installed system-wide")
		}
		for _, want := range []string{"tgan:         ", "go:           ", "onnxruntime:  not usable", "blas:         "} {
			if !strings.Contains(out, want) {
				t.Errorf("tgan version without a library lacks %q:\n%s", want, out)
			}
		}
		_, inferErr := runClean(t, work, exe, 1, "infer", tinyGen)
		for name, msg := range map[string]string{"version": errOut, "infer": inferErr} {
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "tgan: runtime: ONNX Runtime library not found; tried: ") {
				t.Errorf("%s: want one line saying the library was not found, got:\n%s", name, msg)
			}
			for _, place := range []string{
				filepath.Join(prefix, "bin", "libonnxruntime.so.1"),
				filepath.Join(prefix, "lib", "libonnxruntime.so.1"),
				filepath.Join(prefix, "bin", ".ort", "lib", "libonnxruntime.so.1") + " (no .ort above)",
				filepath.Join(work, ".ort", "lib", "libonnxruntime.so.1") + " (no .ort above)",
				"system loader libonnxruntime.so.1 (LD_LIBRARY_PATH unset, /etc/ld.so.cache",
			} {
				if !strings.Contains(msg, place) {
					t.Errorf("%s: the error does not name %q:\n%s", name, place, msg)
				}
			}
		}
	})
}

// runClean runs exe in dir with only PATH and HOME set and checks its exit
// status; it returns stdout and stderr.
func runClean(t *testing.T, dir, exe string, wantCode int, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != wantCode {
		t.Fatalf("tgan %s: exit %d (%v), want %d\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), code, err, wantCode, &stdout, &stderr)
	}
	return stdout.String(), stderr.String()
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestVersionAlias(t *testing.T) {
	for in, want := range map[string]string{
		"tgan --version":           "tgan version",
		"tgan -v --version":        "tgan -v version",
		"tgan infer --version":     "tgan infer --version", // a command's flag, not the global one
		"tgan version --ort-lib x": "tgan version --ort-lib x",
	} {
		if got := strings.Join(versionAlias(strings.Fields(in)), " "); got != want {
			t.Errorf("versionAlias(%q) = %q, want %q", in, got, want)
		}
	}
}
