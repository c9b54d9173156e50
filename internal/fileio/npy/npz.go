package npy

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ReadNPZ reads every array of a .npz archive (as written by np.savez or
// np.savez_compressed: stored or deflated members). The keys are the member
// names without the ".npy" suffix.
func ReadNPZ(path string) (map[string]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("npz %s: %w", path, err)
	}
	defer zr.Close()
	out := make(map[string]*Array, len(zr.File))
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		a, err := readMember(f)
		if err != nil {
			return nil, fmt.Errorf("npz %s: member %q: %w", path, f.Name, err)
		}
		out[name] = a
	}
	return out, nil
}

func readMember(f *zip.File) (*Array, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	a, err := Decode(br)
	if err != nil {
		return nil, err
	}
	// Reading to the end lets the zip reader verify the CRC.
	if n, err := io.Copy(io.Discard, br); err != nil {
		return nil, err
	} else if n > 0 {
		return nil, errors.New("trailing bytes after the data")
	}
	return a, nil
}

// WriteNPZ writes arrays as an uncompressed .npz archive (like np.savez),
// members in sorted order, atomically (see Write). Names must not be empty
// and gain the ".npy" suffix inside the archive.
func WriteNPZ(path string, arrays map[string]*Array) error {
	names := make([]string, 0, len(arrays))
	for name, a := range arrays {
		if name == "" {
			return fmt.Errorf("npz %s: empty array name", path)
		}
		if err := a.check(); err != nil {
			return fmt.Errorf("npz %s: array %q: %w", path, name, err)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return writeAtomic(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, name := range names {
			mw, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
			if err != nil {
				return err
			}
			if err := Encode(mw, arrays[name]); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}
