package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// realCIFAR is a real CIFAR-10 batch that tests may read (never copy).
const realCIFAR = "/work/shared/datasets/cifar10/data_batch_1.bin"

// needFile skips the test when path is absent.
func needFile(tb testing.TB, path string) {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("skipping: %s not available (%v)", path, err)
	}
}

// cifarRecords builds n CIFAR-10 records; record i has label i%10 and
// R = i, G = 100+i, B = 200+i at every pixel, except R at pixel (0, 31) = 255.
func cifarRecords(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		rec := make([]byte, cifarRecord)
		rec[0] = byte(i % 10)
		for c := 0; c < 3; c++ {
			for p := 0; p < 1024; p++ {
				rec[1+c*1024+p] = byte(100*c + i)
			}
		}
		rec[1+31] = 255
		b = append(b, rec...)
	}
	return b
}

// writeFile writes data to dir/name and returns the path.
func writeFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// idxBytes builds an IDX header (magic type/ndim, dims) followed by pixels.
func idxBytes(typ, ndim byte, dims []uint32, pixels []byte) []byte {
	b := []byte{0, 0, typ, ndim}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, pixels...)
}

// gz compresses data.
func gz(data []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// grayMemory returns n gray images of side s; image i is uniformly i except
// its top-left pixel, which is 255.
func grayMemory(tb testing.TB, n, s int) *Memory {
	tb.Helper()
	m := NewMemory("test", 1, s)
	for i := 0; i < n; i++ {
		img := bytes.Repeat([]byte{byte(i)}, s*s)
		img[0] = 255
		if err := m.Add(img, s, s); err != nil {
			tb.Fatal(err)
		}
	}
	return m
}
