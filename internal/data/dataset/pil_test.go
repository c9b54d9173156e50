package dataset

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestParityPILResize compares pilResize with Pillow's own
// Image.resize(BILINEAR) (testdata/pil, written by make_pil_golden.py):
// byte-exact for a 2x and a 4x downscale, a non-square squash, an
// enlargement and a one-axis resize.
func TestParityPILResize(t *testing.T) {
	dir := filepath.Join("testdata", "pil")
	f, err := os.Open(filepath.Join(dir, "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var name string
		var w, h, ow, oh int
		if _, err := fmt.Sscan(sc.Text(), &name, &w, &h, &ow, &oh); err != nil {
			t.Fatalf("cases.txt: %q: %v", sc.Text(), err)
		}
		in := readGolden(t, filepath.Join(dir, name+".in"), 3*w*h)
		want := readGolden(t, filepath.Join(dir, name+".out"), 3*ow*oh)
		got := pilResize(hwcToCHW(in, h, w), 3, h, w, oh, ow)
		wantCHW := hwcToCHW(want, oh, ow)
		for i := range got {
			if got[i] != wantCHW[i] {
				c, y, x := i/(oh*ow), i/ow%oh, i%ow
				t.Fatalf("%s: channel %d (%d, %d) = %d, PIL %d", name, c, y, x, got[i], wantCHW[i])
			}
		}
		n++
	}
	if n != 5 {
		t.Fatalf("%d cases, want 5", n)
	}
}

func readGolden(t *testing.T, path string, n int) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) != n {
		t.Fatalf("%s: %d bytes, %v (want %d)", path, len(b), err, n)
	}
	return b
}

// hwcToCHW turns PIL's interleaved RGB into planes.
func hwcToCHW(b []byte, h, w int) []uint8 {
	out := make([]uint8, len(b))
	for i := 0; i < h*w; i++ {
		for c := 0; c < 3; c++ {
			out[c*h*w+i] = b[3*i+c]
		}
	}
	return out
}
