package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
)

// Array is an n-dimensional array in C (row-major) order. Exactly one of
// F32, F64 and I64 holds the data; its length is the product of Shape
// (an empty Shape is a scalar with one element).
type Array struct {
	Shape []int
	F32   []float32
	F64   []float64
	I64   []int64
}

// Descr returns the NumPy dtype string of the array ('<f4', '<f8' or '<i8'),
// or "" when no data slice is set.
func (a *Array) Descr() string {
	switch {
	case a.F32 != nil:
		return "<f4"
	case a.F64 != nil:
		return "<f8"
	case a.I64 != nil:
		return "<i8"
	}
	return ""
}

// Len is the number of elements implied by the shape.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

func (a *Array) dataLen() int {
	switch {
	case a.F32 != nil:
		return len(a.F32)
	case a.F64 != nil:
		return len(a.F64)
	}
	return len(a.I64)
}

// check verifies that exactly one data slice is set and matches the shape.
func (a *Array) check() error {
	set := 0
	for _, ok := range []bool{a.F32 != nil, a.F64 != nil, a.I64 != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("array needs exactly one of F32, F64, I64 (has %d)", set)
	}
	for _, d := range a.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", a.Shape)
		}
	}
	if a.dataLen() != a.Len() {
		return fmt.Errorf("shape %v needs %d elements, the data has %d", a.Shape, a.Len(), a.dataLen())
	}
	return nil
}

// ReadFloat32 reads a '<f4' .npy file.
func ReadFloat32(path string) (data []float32, shape []int, err error) {
	a, err := Read(path)
	if err != nil {
		return nil, nil, err
	}
	if a.F32 == nil {
		return nil, nil, fmt.Errorf("npy %s: dtype %s, want <f4 (float32)", path, a.Descr())
	}
	return a.F32, a.Shape, nil
}

// WriteFloat32 writes data with the given shape as a '<f4' .npy file,
// atomically (see Write).
func WriteFloat32(path string, data []float32, shape []int) error {
	if data == nil {
		data = []float32{}
	}
	return Write(path, &Array{Shape: shape, F32: data})
}

// Read reads a .npy file of any supported dtype.
func Read(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	a, err := Decode(br)
	if err == nil {
		if _, e := br.ReadByte(); e == nil {
			err = errors.New("trailing bytes after the data (shape and file size disagree)")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("npy %s: %w", path, err)
	}
	return a, nil
}

// Write writes a as a .npy file. The file appears atomically: the data goes
// to a temporary file in the same folder that is renamed over path only
// once it is complete, so a reader never sees half a file.
func Write(path string, a *Array) error {
	if err := a.check(); err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error { return Encode(w, a) })
}

const magic = "\x93NUMPY"

// Encode writes a in the .npy format (version 1.0, or 2.0 when the header
// does not fit in 64 KiB), padded so that the data starts at a multiple of
// 64 bytes as NumPy does.
func Encode(w io.Writer, a *Array) error {
	if err := a.check(); err != nil {
		return err
	}
	header := []byte(fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
		a.Descr(), shapeString(a.Shape)))
	major, lenSize := 1, 2
	if len(header)+1+10 > math.MaxUint16 {
		major, lenSize = 2, 4
	}
	pre := len(magic) + 2 + lenSize
	pad := 64 - (pre+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header = append(header, bytes.Repeat([]byte{' '}, pad)...)
	header = append(header, '\n')
	buf := []byte(magic)
	buf = append(buf, byte(major), 0)
	if lenSize == 2 {
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(header)))
	} else {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(header)))
	}
	if _, err := w.Write(append(buf, header...)); err != nil {
		return err
	}
	return writeData(w, a)
}

func shapeString(shape []int) string {
	switch len(shape) {
	case 0:
		return "()"
	case 1:
		return fmt.Sprintf("(%d,)", shape[0])
	}
	s := "("
	for i, d := range shape {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(d)
	}
	return s + ")"
}

// writeData writes the elements little-endian in chunks.
func writeData(w io.Writer, a *Array) error {
	const chunk = 1 << 14
	buf := make([]byte, 0, chunk*8)
	n := a.dataLen()
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		buf = buf[:0]
		for i := start; i < end; i++ {
			switch {
			case a.F32 != nil:
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(a.F32[i]))
			case a.F64 != nil:
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(a.F64[i]))
			default:
				buf = binary.LittleEndian.AppendUint64(buf, uint64(a.I64[i]))
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// Decode reads one .npy array from r. It reads exactly the array's bytes,
// so several arrays may follow each other in a stream.
func Decode(r io.Reader) (*Array, error) {
	pre := make([]byte, len(magic)+2)
	if _, err := io.ReadFull(r, pre); err != nil {
		return nil, fmt.Errorf("not a .npy file: %w", eofAsTruncated(err))
	}
	if string(pre[:len(magic)]) != magic {
		return nil, errors.New("not a .npy file (bad magic)")
	}
	var hlen int
	switch major := pre[len(magic)]; major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, eofAsTruncated(err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, eofAsTruncated(err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
		if hlen > 1<<24 {
			return nil, fmt.Errorf("header length %d is implausible", hlen)
		}
	default:
		return nil, fmt.Errorf("unsupported .npy format version %d.%d", major, pre[len(magic)+1])
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, eofAsTruncated(err)
	}
	h, err := parseHeader(string(header))
	if err != nil {
		return nil, err
	}
	return readData(r, h)
}

func eofAsTruncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated file")
	}
	return err
}

// maxElements bounds the element count a header may declare (16 GiB of
// float32), so that a forged shape fails with an error instead of
// overflowing.
const maxElements = 1 << 32

// elements is the product of shape, or false when it exceeds maxElements.
func elements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > maxElements/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// readData reads the elements described by h. The slices grow as data
// arrives, so a header that promises more than the stream holds costs no
// more memory than the stream.
func readData(r io.Reader, h header) (*Array, error) {
	a := &Array{Shape: h.shape}
	n, ok := elements(h.shape)
	if !ok {
		return nil, fmt.Errorf("shape %v is implausibly large", h.shape)
	}
	size := 8
	if h.descr == "<f4" {
		size = 4
	}
	const chunk = 1 << 14
	first := min(n, chunk)
	switch h.descr {
	case "<f4":
		a.F32 = make([]float32, 0, first)
	case "<f8":
		a.F64 = make([]float64, 0, first)
	default:
		a.I64 = make([]int64, 0, first)
	}
	buf := make([]byte, first*size)
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		b := buf[:(end-start)*size]
		if _, err := io.ReadFull(r, b); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("truncated data: shape %v needs %d bytes", h.shape, n*size)
			}
			return nil, err
		}
		for o := 0; o < len(b); o += size {
			switch {
			case a.F32 != nil:
				a.F32 = append(a.F32, math.Float32frombits(binary.LittleEndian.Uint32(b[o:])))
			case a.F64 != nil:
				a.F64 = append(a.F64, math.Float64frombits(binary.LittleEndian.Uint64(b[o:])))
			default:
				a.I64 = append(a.I64, int64(binary.LittleEndian.Uint64(b[o:])))
			}
		}
	}
	return a, nil
}

// writeAtomic writes path through atomicfile, naming the file in errors.
func writeAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("npy %s: %w", path, err)
	}
	return nil
}
