package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The files in testdata were made by NumPy 1.24 with:
//
//	/usr/bin/python3 -c "import numpy as np; np.save('testdata/small_f4.npy', np.arange(6, dtype='<f4').reshape(2, 3) / 4); np.savez_compressed('testdata/stats.npz', mu=np.array([0.5, -1.25], dtype='<f8'), sigma=np.array([[1.0, 0.1], [0.1, 2.0]], dtype='<f8'), n=np.array(7, dtype='<i8'))"

func TestReadNumPyFile(t *testing.T) {
	data, shape, err := ReadFloat32("testdata/small_f4.npy")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 3}; !reflect.DeepEqual(shape, want) {
		t.Errorf("shape %v, want %v", shape, want)
	}
	if want := []float32{0, .25, .5, .75, 1, 1.25}; !reflect.DeepEqual(data, want) {
		t.Errorf("data %v, want %v", data, want)
	}
	// Our encoder reproduces NumPy's bytes exactly.
	raw, _ := os.ReadFile("testdata/small_f4.npy")
	var buf bytes.Buffer
	if err := Encode(&buf, &Array{Shape: shape, F32: data}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), raw) {
		t.Errorf("encoded bytes differ from NumPy's:\n%q\n%q", buf.Bytes(), raw)
	}
}

func TestReadNumPyNPZ(t *testing.T) {
	m, err := ReadNPZ("testdata/stats.npz")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*Array{
		"mu":    {Shape: []int{2}, F64: []float64{0.5, -1.25}},
		"sigma": {Shape: []int{2, 2}, F64: []float64{1, 0.1, 0.1, 2}},
		"n":     {Shape: []int{}, I64: []int64{7}},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %+v, want %+v", m, want)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]*Array{
		"f32":    {Shape: []int{2, 1, 3}, F32: []float32{1, -2, 3.5, 4, 5, 6e-30}},
		"f64":    {Shape: []int{3}, F64: []float64{1e300, -2, 0.1}},
		"i64":    {Shape: []int{2, 2}, I64: []int64{-1, 1 << 62, 0, 5}},
		"scalar": {Shape: []int{}, F32: []float32{42}},
		"empty":  {Shape: []int{0, 4}, F32: []float32{}},
	}
	for name, a := range cases {
		path := filepath.Join(dir, name+".npy")
		if err := Write(path, a); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("%s: got %+v, want %+v", name, got, a)
		}
	}
	path := filepath.Join(dir, "all.npz")
	if err := WriteNPZ(path, cases); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cases) {
		t.Errorf("npz round trip: got %+v", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// rawNPY builds a .npy file by hand from a header string and data bytes.
func rawNPY(major byte, hdr string, data []byte) []byte {
	b := []byte(magic)
	b = append(b, major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	}
	return append(append(b, hdr...), data...)
}

func TestHandWrittenHeaders(t *testing.T) {
	one := binary.LittleEndian.AppendUint32(nil, 0x3f800000)         // 1.0f
	two := binary.LittleEndian.AppendUint64(nil, 0x4000000000000000) // 2.0
	good := []struct {
		name string
		raw  []byte
		want *Array
	}{
		{"v1", rawNPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", one),
			&Array{Shape: []int{1}, F32: []float32{1}}},
		{"v2", rawNPY(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }\n", two),
			&Array{Shape: []int{1, 1}, F64: []float64{2}}},
		{"no trailing comma, other key order", rawNPY(1, `{"shape": (), "fortran_order": False, "descr": "<f4"}`, one),
			&Array{Shape: []int{}, F32: []float32{1}}},
	}
	for _, c := range good {
		got, err := Decode(bytes.NewReader(c.raw))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestCorruptInputs(t *testing.T) {
	one := make([]byte, 4)
	bad := map[string]struct {
		raw  []byte
		want string
	}{
		"fortran":    {rawNPY(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", one), "fortran_order"},
		"big-endian": {rawNPY(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", one), "big-endian"},
		"dtype":      {rawNPY(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", one), `dtype "<i2"`},
		"truncated":  {rawNPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", one), "truncated data"},
		"trailing":   {rawNPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", append(one, 0)), "trailing bytes"},
		"short hdr":  {rawNPY(1, "{'descr': '<f4'", nil)[:15], "truncated"},
		"magic":      {[]byte("PK\x03\x04 not numpy at all"), "bad magic"},
		"no shape":   {rawNPY(1, "{'descr': '<f4', 'fortran_order': False}", one), `missing "shape"`},
		"version":    {rawNPY(9, "{}", nil), "version 9.0"},
		"empty":      {nil, "truncated"},
	}
	dir := t.TempDir()
	for name, c := range bad {
		path := filepath.Join(dir, name+".npy")
		os.WriteFile(path, c.raw, 0o644)
		_, err := Read(path)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q should be one line naming the file and containing %q", name, msg, c.want)
		}
	}
	if _, _, err := ReadFloat32(filepath.Join(dir, "missing.npy")); err == nil {
		t.Error("missing file: no error")
	}
	// A float64 file is not a float32 file.
	p := filepath.Join(dir, "f8.npy")
	Write(p, &Array{Shape: []int{1}, F64: []float64{1}})
	if _, _, err := ReadFloat32(p); err == nil || !strings.Contains(err.Error(), "<f8") {
		t.Errorf("ReadFloat32 of <f8: %v", err)
	}
	if err := Write(p, &Array{Shape: []int{3}, F32: []float32{1}}); err == nil {
		t.Error("shape/data mismatch: no error")
	}
	if _, err := ReadNPZ("testdata/small_f4.npy"); err == nil || !strings.Contains(err.Error(), "small_f4.npy") {
		t.Errorf("ReadNPZ of a .npy: %v", err)
	}
}

func TestWriteKeepsOldFileOnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.npy")
	if err := WriteFloat32(p, []float32{1, 2}, []int{2}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	err := writeAtomic(p, func(w io.Writer) error {
		w.Write([]byte("half a file"))
		return errors.New("disk full")
	})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing write: %v", err)
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Error("old file changed")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
