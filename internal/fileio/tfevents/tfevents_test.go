package tfevents_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/tfevents"
	"github.com/tgan-dev/tgan/internal/fileio/tfevents/tfread"
)

// testImage is a w x h picture whose pixels depend on seed.
func testImage(w, h, seed int, opaque bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := uint8(255)
			if !opaque {
				a = uint8(x * 40)
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(x*31 + seed), uint8(y*17 + seed), uint8(seed * 7), a})
		}
	}
	return img
}

// writeHistory writes steps 1..n with two scalars each and an image every
// third step, and returns the file's path.
func writeHistory(t *testing.T, dir string, n int) string {
	t.Helper()
	w, err := tfevents.Create(dir, 1.7e9, 0)
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= n; s++ {
		e := tfevents.Event{WallTime: 1.7e9 + float64(s), Step: int64(s),
			Scalars: []tfevents.Scalar{{Tag: "loss/d", Value: float64(s) * 0.25}, {Tag: "loss/g", Value: -float64(s)}}}
		if s%3 == 0 {
			e.Images = []tfevents.Image{{Tag: "samples", Image: testImage(5, 4, s, true)}}
		}
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Path()
}

// TestRoundTrip writes scalars and images and reads them back with the
// independent reader: file_version first, every value at its step.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := writeHistory(t, dir, 7)
	if !strings.HasPrefix(filepath.Base(path), "events.out.tfevents.1700000000.") {
		t.Errorf("file name %s", filepath.Base(path))
	}
	events, tail, err := tfread.ReadFile(path)
	if err != nil || tail != nil {
		t.Fatalf("read: %v, tail %v", err, tail)
	}
	if len(events) != 8 || events[0].FileVersion != "brain.Event:2" || events[0].WallTime != 1.7e9 {
		t.Fatalf("%d events, first %+v", len(events), events[0])
	}
	for i, e := range events[1:] {
		s := int64(i + 1)
		if e.Step != s || e.WallTime != 1.7e9+float64(s) {
			t.Fatalf("event %d: step %d wall %v", i+1, e.Step, e.WallTime)
		}
		want := 2
		if s%3 == 0 {
			want = 3
		}
		if len(e.Values) != want {
			t.Fatalf("step %d: %d values, want %d", s, len(e.Values), want)
		}
		if v := e.Values[0]; v.Tag != "loss/d" || v.Simple == nil || *v.Simple != float32(s)*0.25 {
			t.Errorf("step %d: %+v", s, v)
		}
		if v := e.Values[1]; v.Tag != "loss/g" || v.Simple == nil || *v.Simple != -float32(s) {
			t.Errorf("step %d: %+v", s, v)
		}
		if want == 3 {
			checkImage(t, e.Values[2], "samples", testImage(5, 4, int(s), true), 3)
		}
	}
}

// checkImage decodes an image value and compares it with want.
func checkImage(t *testing.T, v tfread.Value, tag string, want *image.NRGBA, colorspace int) {
	t.Helper()
	if v.Tag != tag || v.Image == nil || v.Simple != nil {
		t.Fatalf("value %q: not the image %q", v.Tag, tag)
	}
	im := v.Image
	b := want.Bounds()
	if im.Width != b.Dx() || im.Height != b.Dy() || im.Colorspace != colorspace {
		t.Errorf("image %dx%d colorspace %d, want %dx%d %d", im.Width, im.Height, im.Colorspace, b.Dx(), b.Dy(), colorspace)
	}
	got, err := png.Decode(bytes.NewReader(im.Encoded))
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			if g, w := color.NRGBAModel.Convert(got.At(x, y)), want.At(x, y); g != w {
				t.Fatalf("pixel %d,%d: %v, want %v", x, y, g, w)
			}
		}
	}
}

// TestTransparentImage: an image with alpha is stored as RGBA.
func TestTransparentImage(t *testing.T) {
	dir := t.TempDir()
	w, err := tfevents.Create(dir, 1.7e9, 0)
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(3, 6, 9, false)
	if err := w.Write(tfevents.Event{Step: 4, Images: []tfevents.Image{{Tag: "x", Image: img}}}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	events, _, err := tfread.ReadFile(w.Path())
	if err != nil || len(events) != 2 {
		t.Fatalf("%d events, %v", len(events), err)
	}
	checkImage(t, events[1].Values[0], "x", img, 4)
}

// TestFramingKnownBytes: one record framed by hand with Python's crcmod
// (an independent CRC32C) equals what the reader accepts, and CRC32C of
// the standard check string is the published 0xe3069283.
func TestFramingKnownBytes(t *testing.T) {
	const want = "0d000000000000003c37b8347467616e2074666576656e747306566f05"
	rec, _ := hex.DecodeString(want)
	var got []string
	if err := tfread.ReadRecords(bytes.NewReader(rec), func(b []byte) error {
		got = append(got, string(b))
		return nil
	}); err != nil || len(got) != 1 || got[0] != "tgan tfevents" {
		t.Fatalf("reader on a known record: %q, %v", got, err)
	}
	if b := tfevents.Frame([]byte("tgan tfevents")); hex.EncodeToString(b) != want {
		t.Errorf("framed %x, want %s", b, want)
	}
}

// TestTruncatedEveryByte cuts a file at every length, as SIGKILL may leave
// it: the reader gets every complete record before the cut and reports the
// torn tail, and Prune leaves exactly those records in a clean file.
func TestTruncatedEveryByte(t *testing.T) {
	dir := t.TempDir()
	path := writeHistory(t, dir, 4)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Record ends, from the reader's own walk over the whole file.
	var ends []int
	off := 0
	if err := tfread.ReadRecords(bytes.NewReader(full), func(b []byte) error {
		off += 8 + 4 + len(b) + 4
		ends = append(ends, off)
		return nil
	}); err != nil || off != len(full) {
		t.Fatalf("whole file: %v, %d of %d bytes", err, off, len(full))
	}
	cutDir := t.TempDir()
	cut := filepath.Join(cutDir, filepath.Base(path))
	for n := 0; n <= len(full); n++ {
		complete := 0
		for complete < len(ends) && ends[complete] <= n {
			complete++
		}
		if err := os.WriteFile(cut, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		events, tail, err := tfread.ReadFile(cut)
		if err != nil || len(events) != complete {
			t.Fatalf("cut at %d: %d events, want %d (%v)", n, len(events), complete, err)
		}
		atBoundary := n == 0 || (complete > 0 && ends[complete-1] == n)
		if atBoundary != (tail == nil) || (tail != nil && !errors.Is(tail, tfread.ErrTorn)) {
			t.Fatalf("cut at %d: tail %v", n, tail)
		}
		if !pruneAt(n, ends) {
			continue
		}
		if err := tfevents.Prune(cutDir, 100); err != nil {
			t.Fatal(err)
		}
		events, tail, err = tfread.ReadFile(cut)
		if complete < 2 { // no summary left: the file goes
			if !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("cut at %d: a file without summaries was kept (%v)", n, err)
			}
			continue
		}
		if err != nil || tail != nil || len(events) != complete {
			t.Fatalf("cut at %d, pruned: %d events, tail %v, %v", n, len(events), tail, err)
		}
	}
}

// pruneAt picks the cuts whose Prune is checked (each rewrite syncs the
// disk): every seventh byte and the bytes around each record end.
func pruneAt(n int, ends []int) bool {
	for _, e := range ends {
		if n >= e-1 && n <= e+1 {
			return true
		}
	}
	return n%7 == 0
}

// TestCorruptRecord: a flipped byte stops the reader at that record with a
// checksum error; Prune keeps the records before it.
func TestCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	path := writeHistory(t, dir, 5)
	b, _ := os.ReadFile(path)
	events, _, _ := tfread.ReadFile(path)
	// Flip a byte inside the data of the fourth record (step 3).
	off := 0
	for i := 0; i < 3; i++ {
		off += 16 + int(uint64(b[off])|uint64(b[off+1])<<8)
	}
	b[off+12+5] ^= 0x40
	os.WriteFile(path, b, 0o644)
	got, tail, err := tfread.ReadFile(path)
	if err != nil || !errors.Is(tail, tfread.ErrChecksum) || len(got) != 3 {
		t.Fatalf("%d events, tail %v, %v", len(got), tail, err)
	}
	if err := tfevents.Prune(dir, 100); err != nil {
		t.Fatal(err)
	}
	got, tail, err = tfread.ReadFile(path)
	if err != nil || tail != nil || len(got) != 3 || got[2].Step != events[2].Step {
		t.Fatalf("pruned: %d events, tail %v, %v", len(got), tail, err)
	}
}

// TestPruneAndResume: Prune drops the steps after the checkpoint, a new
// file sorts after the old one and starts with SessionLog START, and the
// folder then holds every step once.
func TestPruneAndResume(t *testing.T) {
	dir := t.TempDir()
	path := writeHistory(t, dir, 9)
	before, _ := os.Stat(path)
	if err := tfevents.Prune(dir, 9); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("Prune rewrote a file that had nothing to drop")
	}
	if err := tfevents.Prune(dir, 6); err != nil {
		t.Fatal(err)
	}
	w, err := tfevents.Create(dir, 1.7e9, 6) // same second as the first file
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(w.Path()) <= filepath.Base(path) {
		t.Fatalf("new file %s does not sort after %s", filepath.Base(w.Path()), filepath.Base(path))
	}
	for s := 7; s <= 10; s++ {
		if err := w.Write(tfevents.Event{Step: int64(s), Scalars: []tfevents.Scalar{{Tag: "loss/d", Value: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	events, torn, err := tfread.ReadDir(dir)
	if err != nil || len(torn) != 0 {
		t.Fatalf("%v %v", err, torn)
	}
	var steps []int64
	starts := 0
	for _, e := range events {
		if e.SessionLog == 1 {
			starts++
			if e.Step != 7 {
				t.Errorf("SessionLog START at step %d, want 7", e.Step)
			}
		}
		for _, v := range e.Values {
			if v.Tag == "loss/d" {
				steps = append(steps, e.Step)
			}
		}
	}
	if starts != 1 || len(steps) != 10 {
		t.Fatalf("START events %d, loss/d steps %v", starts, steps)
	}
	for i, s := range steps {
		if s != int64(i+1) {
			t.Fatalf("loss/d steps %v: want 1..10 once each", steps)
		}
	}
	// A fresh run in the folder removes every events file.
	if err := tfevents.Prune(dir, -1); err != nil {
		t.Fatal(err)
	}
	if names, _ := tfevents.Files(dir); len(names) != 0 {
		t.Errorf("after Prune(-1): %v", names)
	}
}
