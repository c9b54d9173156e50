package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestToUint8(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		x    float32
		want uint8
	}{
		{-1, 0}, {1, 255}, {0, 127}, {0.999, 254}, {-0.999, 0}, {-0.99, 1},
		{2, 255}, {-3, 0}, {0.5, 191}, {-0.5, 63}, {1.0 / 127.5, 128},
		{float32(math.Inf(1)), 255}, {float32(math.Inf(-1)), 0}, {nan, 0},
	}
	for _, tt := range tests {
		if got := ToUint8(tt.x); got != tt.want {
			t.Errorf("ToUint8(%v) = %d, want %d", tt.x, got, tt.want)
		}
	}
}

func TestToFloatRoundTrip(t *testing.T) {
	for p := 0; p < 256; p++ {
		f := ToFloat(uint8(p))
		if want := float64(p)/127.5 - 1; math.Abs(float64(f)-want) > 1e-7 {
			t.Errorf("ToFloat(%d) = %v, want %v", p, f, want)
		}
		if got := ToUint8(f); int(got) != p && int(got) != p-1 {
			t.Errorf("ToUint8(ToFloat(%d)) = %d", p, got)
		}
	}
	if ToFloat(0) != -1 || ToFloat(255) != 1 {
		t.Errorf("ends: %v %v", ToFloat(0), ToFloat(255))
	}
}

func TestToImageChannels(t *testing.T) {
	// 1x2 image, RGB planes: pixel 0 = (-1, 0, 1), pixel 1 = (1, 1, -1).
	img, err := ToImage([]float32{-1, 1, 0, 1, 1, -1}, 3, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.NRGBAAt(0, 0), (color.NRGBA{0, 127, 255, 255}); got != want {
		t.Errorf("pixel 0 = %v, want %v", got, want)
	}
	if got, want := img.NRGBAAt(1, 0), (color.NRGBA{255, 255, 0, 255}); got != want {
		t.Errorf("pixel 1 = %v, want %v", got, want)
	}
	gray, err := ToImage([]float32{0.5}, 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gray.NRGBAAt(0, 0), (color.NRGBA{191, 191, 191, 255}); got != want {
		t.Errorf("gray = %v, want %v", got, want)
	}
}

func TestBadShapes(t *testing.T) {
	tests := []struct {
		name       string
		n, c, h, w int
		len        int
		want       string
	}{
		{"short", 2, 3, 4, 4, 95, "95 values"},
		{"channels", 1, 2, 4, 4, 32, "2 channels"},
		{"zero height", 1, 3, 0, 4, 0, "bad shape"},
		{"negative n", -1, 3, 4, 4, 0, "bad shape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Grid(make([]float32, tt.len), tt.n, tt.c, tt.h, tt.w, GridOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestGridLayout(t *testing.T) {
	const n, h, w = 5, 2, 3
	x := make([]float32, n*3*h*w)
	for i := 0; i < n; i++ { // image i is uniformly gray with value i*10
		for j := 0; j < 3*h*w; j++ {
			x[i*3*h*w+j] = float32(i*10)/127.5 - 1 + 1e-4
		}
	}
	tests := []struct {
		opt        GridOptions
		wantW, wid int // image width and height
		wantH      int
	}{
		{GridOptions{}, 3*(w+1) + 1, 0, 2*(h+1) + 1},
		{GridOptions{Cols: 5, Pad: -1}, 5 * w, 0, h},
		{GridOptions{Cols: 2, Pad: 2, Scale: 4}, 2*(4*w+2) + 2, 0, 3*(4*h+2) + 2},
	}
	for _, tt := range tests {
		g, err := Grid(x, n, 3, h, w, tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		if g.Rect.Dx() != tt.wantW || g.Rect.Dy() != tt.wantH {
			t.Errorf("%+v: size %v, want %dx%d", tt.opt, g.Rect.Size(), tt.wantW, tt.wantH)
		}
	}
	// Default layout: 3 columns, pad 1. Tile 4 starts at (1+1*(w+1), 1+1*(h+1)).
	g, _ := Grid(x, n, 3, h, w, GridOptions{})
	if got := g.NRGBAAt(1+w+1, 1+h+1); got != (color.NRGBA{40, 40, 40, 255}) {
		t.Errorf("tile 4 pixel = %v", got)
	}
	if got := g.NRGBAAt(0, 0); got != (color.NRGBA{0, 0, 0, 255}) {
		t.Errorf("padding = %v", got)
	}
	// The missing sixth tile is background.
	if got := g.NRGBAAt(1+2*(w+1), 1+h+1); got != (color.NRGBA{0, 0, 0, 255}) {
		t.Errorf("empty tile = %v", got)
	}
}

func TestGridScale(t *testing.T) {
	// 1 image 1x2 gray: left -1, right 1; scale 3 without padding.
	g, err := Grid([]float32{-1, 1}, 1, 1, 1, 2, GridOptions{Pad: -1, Scale: 3})
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 3; y++ {
		for x := 0; x < 6; x++ {
			want := uint8(0)
			if x >= 3 {
				want = 255
			}
			if got := g.NRGBAAt(x, y).R; got != want {
				t.Errorf("(%d,%d) = %d, want %d", x, y, got, want)
			}
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	imgs, err := Images([]float32{-1, 0, 1, 0.999, -1, 1, 0, 0.5}, 2, 1, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveEach(filepath.Join(dir, "out"), 7, imgs[0], imgs[1]); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "out"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != "000007.png,000008.png" {
		t.Fatalf("files = %s (temp files must not remain)", got)
	}
	back, err := LoadImage(filepath.Join(dir, "out", "000008.png"))
	if err != nil {
		t.Fatal(err)
	}
	pix, w, h := Planar(back)
	want := []uint8{0, 255, 127, 191}
	if w != 2 || h != 2 || !bytes.Equal(pix[:4], want) || !bytes.Equal(pix[4:8], want) {
		t.Errorf("planar = %v (%dx%d), want R=G=B=%v", pix, w, h, want)
	}
}

func TestSavePNGBadDir(t *testing.T) {
	err := SavePNG(filepath.Join(t.TempDir(), "missing", "x.png"), image.NewGray(image.Rect(0, 0, 1, 1)))
	if err == nil || !strings.Contains(err.Error(), "x.png") {
		t.Fatalf("err = %v, want one naming x.png", err)
	}
}

func TestLoadImageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.png")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	tests := []struct{ path, want string }{
		{bad, "decode " + bad},
		{filepath.Join(dir, "none.png"), "no such file"},
	}
	for _, tt := range tests {
		if _, err := LoadImage(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadImage(%s) err = %v, want containing %q", tt.path, err, tt.want)
		}
	}
}

func TestPlanarJPEGAndSubImage(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for i := range src.Pix {
		src.Pix[i] = 200 // alpha too: Planar must drop it, not composite
	}
	src.SetNRGBA(5, 6, color.NRGBA{1, 2, 3, 255})
	sub := src.SubImage(image.Rect(4, 4, 8, 8))
	pix, w, h := Planar(sub)
	if w != 4 || h != 4 || pix[2*4+1] != 1 || pix[16+2*4+1] != 2 || pix[32+2*4+1] != 3 {
		t.Errorf("sub-image planar wrong: %v", pix)
	}
	var buf bytes.Buffer
	flat := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range flat.Pix {
		flat.Pix[i] = 200
	}
	if err := jpeg.Encode(&buf, flat, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	dec, _ := jpeg.Decode(&buf) // YCbCr: goes through image/draw
	pix, _, _ = Planar(dec)
	if d := int(pix[0]) - 200; d < -3 || d > 3 {
		t.Errorf("jpeg pixel = %d, want about 200", pix[0])
	}
	x, _, _ := ToTensor(dec)
	if len(x) != 3*64 || math.Abs(float64(x[0])-(200/127.5-1)) > 0.03 {
		t.Errorf("ToTensor: len %d, x[0] = %v", len(x), x[0])
	}
}
