package dataset

import (
	"bytes"
	"testing"
)

func TestCropSquare(t *testing.T) {
	tests := []struct {
		name      string
		h, w      int
		wantFirst byte // value of the first kept pixel; pixel (y, x) = 10*y + x
		wantSide  int
	}{
		{"square", 3, 3, 0, 3},
		{"tall odd", 5, 2, 20, 2},  // top = round(1.5) = 2 (half to even)
		{"tall even", 7, 2, 20, 2}, // top = round(2.5) = 2
		{"wide", 2, 6, 2, 2},       // left = 2
	}
	for _, tt := range tests {
		pix := make([]byte, tt.h*tt.w)
		for y := 0; y < tt.h; y++ {
			for x := 0; x < tt.w; x++ {
				pix[y*tt.w+x] = byte(10*y + x)
			}
		}
		out, side := cropSquare(pix, 1, tt.h, tt.w)
		if side != tt.wantSide || out[0] != tt.wantFirst || len(out) != side*side {
			t.Errorf("%s: side %d first %d len %d; want %d %d", tt.name, side, out[0], len(out), tt.wantSide, tt.wantFirst)
		}
	}
}

func TestResize(t *testing.T) {
	// Shrink 4 -> 2: exact 2x2 block means (rounded half up).
	in := []byte{
		0, 2, 10, 20,
		4, 6, 30, 41,
		100, 100, 255, 255,
		100, 101, 255, 254,
	}
	if got, want := resize(in, 1, 4, 2), []byte{3, 25, 100, 255}; !bytes.Equal(got, want) {
		t.Errorf("4->2 = %v, want %v", got, want)
	}
	// Shrink 3 -> 2: area weights 2/3, 1/3 | 1/3, 2/3 along each axis.
	in = []byte{90, 0, 0, 0, 0, 0, 0, 0, 0}
	if got, want := resize(in, 1, 3, 2), []byte{40, 0, 0, 0}; !bytes.Equal(got, want) {
		t.Errorf("3->2 = %v, want %v", got, want) // 90 * 4/9
	}
	// Enlarge 2 -> 4: half-pixel bilinear, edges clamped.
	in = []byte{0, 100, 0, 100}
	if got, want := resize(in, 1, 2, 4)[:4], []byte{0, 25, 75, 100}; !bytes.Equal(got, want) {
		t.Errorf("2->4 row = %v, want %v", got, want)
	}
	// Identity returns the input; constant images stay constant at any size.
	if got := resize(in, 1, 2, 2); &got[0] != &in[0] {
		t.Error("same size should not copy")
	}
	flat := bytes.Repeat([]byte{77}, 3*28*28)
	for _, s := range []int{7, 16, 32, 48, 64} {
		if got := resize(flat, 3, 28, s); !bytes.Equal(got, bytes.Repeat([]byte{77}, 3*s*s)) {
			t.Errorf("28->%d changed a constant image", s)
		}
	}
}
