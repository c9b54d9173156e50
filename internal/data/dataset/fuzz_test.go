package dataset

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzFile writes data to dir/name (one file per worker process, rewritten
// per input: a fresh t.TempDir per input would slow fuzzing down).
func fuzzFile(t *testing.T, dir, name string, data []byte) string {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkMemory verifies that a loaded dataset is self-consistent.
func checkMemory(t *testing.T, m *Memory, size int) {
	if m.Len() == 0 || m.ImageSize() != size || len(m.pix) != m.Len()*m.channels*size*size {
		t.Fatalf("inconsistent dataset %v (%d bytes)", m, len(m.pix))
	}
	dst := make([]float32, 3*size*size)
	m.Read(m.Len()-1, true, dst)
}

// FuzzLoadIDX feeds arbitrary bytes (plain or gzip'd) to LoadIDX.
func FuzzLoadIDX(f *testing.F) {
	pix := make([]byte, 2*5*4)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	good := idxBytes(idxUbyte, 3, []uint32{2, 5, 4}, pix)
	f.Add(good)
	f.Add(gz(good))
	f.Add(good[:20])
	f.Add(idxBytes(idxUbyte, 3, []uint32{1, 1 << 14, 1 << 14}, nil)) // forged dims
	f.Add(idxBytes(idxUbyte, 1, []uint32{3}, []byte{1, 2, 3}))       // a label file
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadIDX(FashionMNIST, fuzzFile(t, dir, "f.idx", data), 8)
		if err == nil {
			checkMemory(t, m, 8)
		}
	})
}

// FuzzLoadCIFAR10 feeds arbitrary bytes to LoadCIFAR10 as one batch file.
func FuzzLoadCIFAR10(f *testing.F) {
	recs := cifarRecords(2)
	f.Add(recs)
	f.Add(recs[:cifarRecord+100])
	f.Add([]byte{10})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadCIFAR10(fuzzFile(t, dir, "data_batch_1.bin", data), 8)
		if err == nil {
			checkMemory(t, m, 8)
		}
	})
}
