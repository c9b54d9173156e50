package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"

	"github.com/tgan-dev/tgan/model"
)

// maxHeader bounds the JSON header so that random bytes fail fast.
const maxHeader = 100 << 20

// entry is one tensor of the safetensors JSON header.
type entry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// WriteTensors writes tensors and string metadata as one safetensors file,
// atomically: the data goes to a temporary file in the same folder, which is
// synced and renamed over path only when complete. On error the old file (if
// any) is untouched and no temporary file stays behind. Tensors are stored
// in sorted name order; F32 tensors as "F32", I64 tensors as "I64".
func WriteTensors(path string, tensors map[string]*model.Tensor, meta map[string]string) error {
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		if err := checkTensor(t); err != nil {
			return fmt.Errorf("checkpoint %s: tensor %q: %w", path, name, err)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	header := make(map[string]any, len(names)+1)
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	for _, name := range names {
		t := tensors[name]
		e := entry{DType: "F32", Shape: append([]int{}, t.Shape...)}
		n := int64(len(t.F32)) * 4
		if t.I64 != nil {
			e.DType, n = "I64", int64(len(t.I64))*8
		}
		e.DataOffsets = [2]int64{off, off + n}
		off += n
		header[name] = e
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	// Pad with spaces so the data starts 8-byte aligned, as the reference
	// implementation does.
	js = append(js, bytes.Repeat([]byte{' '}, (8-len(js)%8)%8)...)
	err = atomicfile.Write(path, func(w io.Writer) error {
		if err := binary.Write(w, binary.LittleEndian, uint64(len(js))); err != nil {
			return err
		}
		if _, err := w.Write(js); err != nil {
			return err
		}
		for _, name := range names {
			if err := writeData(w, tensors[name]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}

func checkTensor(t *model.Tensor) error {
	switch {
	case t == nil:
		return errors.New("nil tensor")
	case (t.F32 == nil) == (t.I64 == nil):
		return errors.New("needs exactly one of F32 and I64")
	case t.F32 != nil && len(t.F32) != t.Len(), t.I64 != nil && len(t.I64) != t.Len():
		return fmt.Errorf("shape %v does not match its %d elements", t.Shape, max(len(t.F32), len(t.I64)))
	}
	return nil
}

// writeData writes a tensor's elements little-endian in chunks.
func writeData(w io.Writer, t *model.Tensor) error {
	const chunk = 1 << 14
	buf := make([]byte, 0, chunk*8)
	n := max(len(t.F32), len(t.I64))
	for start := 0; start < n; start += chunk {
		buf = buf[:0]
		for i := start; i < min(start+chunk, n); i++ {
			if t.F32 != nil {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(t.F32[i]))
			} else {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(t.I64[i]))
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// ReadTensors reads a safetensors file holding F32 and I64 tensors. Errors
// are one line and name the file (and the tensor, where one is at fault).
func ReadTensors(path string) (map[string]*model.Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	fail := func(format string, a ...any) error {
		return fmt.Errorf("checkpoint %s: %s", path, fmt.Sprintf(format, a...))
	}
	var hlen uint64
	if err := binary.Read(f, binary.LittleEndian, &hlen); err != nil {
		return nil, nil, fail("not a safetensors file (shorter than 8 bytes)")
	}
	if hlen < 2 || hlen > maxHeader || int64(hlen)+8 > st.Size() {
		return nil, nil, fail("not a safetensors file or truncated (header length %d, file size %d)", hlen, st.Size())
	}
	js := make([]byte, hlen)
	if _, err := io.ReadFull(f, js); err != nil {
		return nil, nil, fail("reading header: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, nil, fail("not a safetensors file (bad JSON header: %v)", err)
	}
	meta := map[string]string{}
	entries := map[string]entry{}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fail("metadata: %v", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fail("tensor %q: %v", name, err)
		}
		entries[name] = e
	}
	dataLen := st.Size() - 8 - int64(hlen)
	data := make([]byte, dataLen)
	if _, err := io.ReadFull(bufio.NewReaderSize(f, 1<<20), data); err != nil {
		return nil, nil, fail("reading data: %v", err)
	}
	tensors := make(map[string]*model.Tensor, len(entries))
	for name, e := range entries {
		t, err := decode(e, data)
		if err != nil {
			return nil, nil, fail("tensor %q: %v", name, err)
		}
		tensors[name] = t
	}
	return tensors, meta, nil
}

// decode turns one header entry into a tensor, checking its byte range.
func decode(e entry, data []byte) (*model.Tensor, error) {
	t := &model.Tensor{Shape: e.Shape}
	if t.Shape == nil {
		t.Shape = []int{}
	}
	n := int64(1)
	for _, d := range e.Shape {
		// n stays at most the data size, so n*d cannot overflow.
		if d < 0 || d > math.MaxInt32 || (d > 0 && n > int64(len(data))/int64(d)) {
			return nil, fmt.Errorf("bad shape %v for %d bytes of data", e.Shape, len(data))
		}
		n *= int64(d)
	}
	size := int64(4)
	switch e.DType {
	case "F32":
	case "I64":
		size = 8
	default:
		return nil, fmt.Errorf("dtype %s is not supported (want F32 or I64)", e.DType)
	}
	b, end := e.DataOffsets[0], e.DataOffsets[1]
	if b < 0 || end < b || end-b != n*size {
		return nil, fmt.Errorf("data offsets %v do not fit shape %v %s", e.DataOffsets, e.Shape, e.DType)
	}
	if end > int64(len(data)) {
		return nil, fmt.Errorf("data offsets %v run past the end of the file (truncated?)", e.DataOffsets)
	}
	raw := data[b:end]
	if size == 4 {
		t.F32 = make([]float32, n)
		for i := range t.F32 {
			t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	} else {
		t.I64 = make([]int64, n)
		for i := range t.I64 {
			t.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	}
	return t, nil
}
