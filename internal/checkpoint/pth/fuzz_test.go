package pth

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary bytes to Import as a .pth file (zip or legacy
// pickle): it must return an error or a valid checkpoint, never panic.
func FuzzImport(f *testing.F) {
	for _, name := range []string{"tensors.pth", "list.pth", "not_tensors.pth"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)*2/3])
	}
	dir := f.TempDir() // one file per worker process, rewritten per input
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.pth")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ck, _, err := Import(path, Options{})
		if err != nil {
			return
		}
		if err := ck.Validate(); err != nil {
			t.Fatalf("Import returned an invalid checkpoint: %v", err)
		}
	})
}
