package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint"
)

// runApp runs the tgan CLI with args, returning its output.
func runApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run(append([]string{"tgan"}, args...))
	return out.String(), err
}

func TestImportCommand(t *testing.T) {
	src := "../../internal/checkpoint/pth/testdata/variants.pth"
	dst := filepath.Join(t.TempDir(), "ckpt.safetensors")
	out, err := runApp(t, "import", "--out", dst, src)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"official final code", "latent 8, width 16", "gen ", "warning: ", "wrote " + dst} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	ck, err := checkpoint.Load(dst)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta[checkpoint.MetaTganVersion] != version || ck.AvgGen == nil || ck.Dis == nil {
		t.Errorf("meta %v, AvgGen %v, Dis %v", ck.Meta, ck.AvgGen != nil, ck.Dis != nil)
	}
	if _, err := runApp(t, "import", "--out", dst); err == nil {
		t.Error("no source: no error")
	}
	if _, err := runApp(t, "import", "--out", dst, "../../internal/checkpoint/pth/testdata/list.pth"); err == nil ||
		!strings.Contains(err.Error(), "list.pth") {
		t.Errorf("bad source: %v", err)
	}
}
