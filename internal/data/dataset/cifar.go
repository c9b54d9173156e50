package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// CIFAR-10 binary format: per record one label byte, then 1024 R, 1024 G
// and 1024 B bytes of a 32x32 image, row-major.
const (
	cifarSide   = 32
	cifarRecord = 1 + 3*cifarSide*cifarSide
	cifarFiles  = 5
)

// CIFARFiles returns the training batches present in dir, in order
// (data_batch_1.bin .. data_batch_5.bin).
func CIFARFiles(dir string) []string {
	var files []string
	for i := 1; i <= cifarFiles; i++ {
		f := filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i))
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			files = append(files, f)
		}
	}
	return files
}

// LoadCIFAR10 reads the CIFAR-10 training set from path, a directory of
// official binary batches (those of data_batch_1.bin .. data_batch_5.bin that
// exist) or one batch file, resized to size.
func LoadCIFAR10(path string, size int) (*Memory, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cifar10: %w", err)
	}
	if err := checkEnlarge(cifarSide, size); err != nil {
		return nil, fmt.Errorf("cifar10: %s: %w", path, err)
	}
	files := []string{path}
	if st.IsDir() {
		if files = CIFARFiles(path); len(files) == 0 {
			return nil, fmt.Errorf("cifar10: no data_batch_1.bin .. data_batch_%d.bin in %s", cifarFiles, path)
		}
	}
	m := NewMemory(string(CIFAR10), 3, size)
	for _, f := range files {
		if err := readCIFARFile(m, f); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readCIFARFile appends every record of one batch file to m.
func readCIFARFile(m *Memory, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cifar10: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	rec := make([]byte, cifarRecord)
	for i := 0; ; i++ {
		n, err := io.ReadFull(r, rec)
		switch {
		case err == io.EOF && i == 0:
			return fmt.Errorf("cifar10: %s: empty file", path)
		case err == io.EOF:
			return nil
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("cifar10: %s: truncated at record %d (expected %d bytes, got %d)", path, i, cifarRecord, n)
		case err != nil:
			return fmt.Errorf("cifar10: %s: record %d: %w", path, i, err)
		}
		if rec[0] > 9 {
			return fmt.Errorf("cifar10: %s: record %d: label %d out of range 0..9 (not a CIFAR-10 binary batch?)", path, i, rec[0])
		}
		if err := m.Add(rec[1:], cifarSide, cifarSide); err != nil {
			return err
		}
	}
}
