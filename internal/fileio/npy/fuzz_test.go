package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Seeds come from testdata/ (valid files) and testdata/fuzz/ (committed
// broken inputs). Run with go test -fuzz FuzzDecode ./internal/fileio/npy.

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"testdata/small_f4.npy"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	var buf bytes.Buffer
	Encode(&buf, &Array{Shape: []int{2, 2}, I64: []int64{1, 2, 3, 4}})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := a.check(); err != nil {
			t.Fatalf("Decode returned an inconsistent array: %v", err)
		}
		// Whatever decodes must encode and decode to the same shape.
		var out bytes.Buffer
		if err := Encode(&out, a); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		b, err := Decode(&out)
		if err != nil || b.Len() != a.Len() || b.Descr() != a.Descr() {
			t.Fatalf("round trip: %v (shape %v -> %v)", err, a.Shape, b)
		}
	})
}

func FuzzReadNPZ(f *testing.F) {
	b, err := os.ReadFile("testdata/stats.npz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-30])
	dir := f.TempDir() // one file per worker process, rewritten per input
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.npz")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		arrays, err := ReadNPZ(path)
		if err != nil {
			return
		}
		for name, a := range arrays {
			if err := a.check(); err != nil {
				t.Fatalf("member %q: inconsistent array: %v", name, err)
			}
		}
	})
}
