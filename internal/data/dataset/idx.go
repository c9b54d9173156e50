package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// idxUbyte is the IDX element type code of unsigned bytes.
const idxUbyte = 0x08

// maxIDXSide bounds the rows and columns an IDX header may declare, so that
// a forged header cannot make the reader allocate a huge image buffer.
const maxIDXSide = 4096

// IDXImages is the training image file name of MNIST and Fashion-MNIST.
const IDXImages = "train-images-idx3-ubyte"

// LoadIDX reads gray images from an IDX file (gzip'd or not, detected from
// its first bytes) with dimensions [n, rows, cols]; path may also be a
// directory holding train-images-idx3-ubyte[.gz]. kind names the dataset in
// errors.
func LoadIDX(kind Kind, path string, size int) (*Memory, error) {
	path, err := idxPath(kind, path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	defer f.Close()
	r, err := maybeGunzip(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", kind, path, err)
	}
	m, err := readIDX(r, string(kind), size)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", kind, path, err)
	}
	return m, nil
}

// idxPath resolves a directory to the training image file inside it.
func idxPath(kind Kind, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", kind, err)
	}
	if !st.IsDir() {
		return path, nil
	}
	for _, name := range []string{IDXImages + ".gz", IDXImages} {
		if _, err := os.Stat(filepath.Join(path, name)); err == nil {
			return filepath.Join(path, name), nil
		}
	}
	return "", fmt.Errorf("%s: no %s[.gz] in %s", kind, IDXImages, path)
}

// maybeGunzip returns a gzip reader when r starts with the gzip magic.
func maybeGunzip(r *bufio.Reader) (io.Reader, error) {
	head, err := r.Peek(2)
	if err != nil && len(head) < 2 {
		return r, nil // too short for either format: readIDX reports it
	}
	if head[0] != 0x1f || head[1] != 0x8b {
		return r, nil
	}
	return gzip.NewReader(r)
}

// readIDX parses the header and the pixels of an IDX image stream.
func readIDX(r io.Reader, name string, size int) (*Memory, error) {
	var head [16]byte
	if n, err := io.ReadFull(r, head[:4]); err != nil {
		return nil, fmt.Errorf("truncated header (%d of 4 magic bytes)", n)
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("bad magic % x (want 00 00 08 03)", head[:4])
	}
	if head[2] != idxUbyte {
		return nil, fmt.Errorf("bad magic % x: element type 0x%02x, want 0x08 (unsigned byte)", head[:4], head[2])
	}
	if head[3] != 3 {
		return nil, fmt.Errorf("bad magic % x: %d dimensions, want 3 (images x rows x cols; a label file?)", head[:4], head[3])
	}
	if _, err := io.ReadFull(r, head[4:16]); err != nil {
		return nil, fmt.Errorf("truncated header: %w", err)
	}
	n := int(binary.BigEndian.Uint32(head[4:]))
	h := int(binary.BigEndian.Uint32(head[8:]))
	w := int(binary.BigEndian.Uint32(head[12:]))
	if n == 0 || h == 0 || w == 0 || h > maxIDXSide || w > maxIDXSide || int64(n)*int64(h)*int64(w) > 1<<34 {
		return nil, fmt.Errorf("implausible dims %dx%dx%d", n, h, w)
	}
	if err := checkEnlarge(min(h, w), size); err != nil {
		return nil, err
	}
	return readIDXPixels(r, name, n, h, w, size)
}

// readIDXPixels reads n gray h x w images and checks that nothing follows.
func readIDXPixels(r io.Reader, name string, n, h, w, size int) (*Memory, error) {
	m := NewMemory(name, 1, size)
	img := make([]byte, h*w)
	for i := 0; i < n; i++ {
		got, err := io.ReadFull(r, img)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("dims %dx%dx%d inconsistent with size: truncated at image %d (expected %d bytes, got %d)", n, h, w, i, h*w, got)
			}
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		if err := m.Add(img, h, w); err != nil {
			return nil, err
		}
	}
	extra, err := io.Copy(io.Discard, r)
	if err != nil {
		return nil, fmt.Errorf("corrupt or truncated after the last image: %w", err)
	}
	if extra > 0 {
		return nil, fmt.Errorf("dims %dx%dx%d inconsistent with size: %d bytes after the last image", n, h, w, extra)
	}
	return m, nil
}
