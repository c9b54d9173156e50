package serve

import (
	"bytes"
	"image/png"
	"slices"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/imageio"
	"github.com/tgan-dev/tgan/internal/infer/engine"
)

// TestTruncationParameter: ?truncation=T on samples, grids and strips
// draws engine.SampleLatents(seed, 1, dim, T) (tgan infer --truncation T),
// records T in the PNG text and the X-Tgan-Truncation header, a huge T
// gives the untruncated pixels, and bad values are 400s.
func TestTruncationParameter(t *testing.T) {
	m := tinyModel(t)
	r := start(t, m, Config{BatchWait: -1})
	dim, s := m.Config().LatentDim, m.Config().ImageSize
	pixels := func(body []byte) []uint8 {
		t.Helper()
		img, err := png.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		pix, _, _ := imageio.Planar(img)
		return pix
	}
	want := func(seed int64, trunc float64) []uint8 {
		x, err := m.Run(engine.SampleLatents(seed, 1, dim, trunc), 1)
		if err != nil {
			t.Fatal(err)
		}
		img, err := imageio.ToImage(x, 3, s, s)
		if err != nil {
			t.Fatal(err)
		}
		pix, _, _ := imageio.Planar(img)
		return pix
	}
	code, hdr, body := r.get(t, "/v1/samples/7.png?truncation=0.5")
	if code != 200 || hdr.Get("X-Tgan-Truncation") != "0.5" {
		t.Fatalf("truncation=0.5: %d, header %q: %s", code, hdr.Get("X-Tgan-Truncation"), body)
	}
	if text, err := imageio.PNGText(body); err != nil || text["tgan.truncation"] != "0.5" {
		t.Errorf("PNG text %v (%v)", text, err)
	}
	trunc := pixels(body)
	if !slices.Equal(trunc, want(7, 0.5)) {
		t.Error("sample 7 at truncation 0.5 differs from engine.SampleLatents(7, 1, dim, 0.5) through the model")
	}
	_, hdr, body = r.get(t, "/v1/samples/7.png")
	plain := pixels(body)
	if hdr.Get("X-Tgan-Truncation") != "" || slices.Equal(plain, trunc) {
		t.Errorf("no truncation: header %q, same pixels as at 0.5: %v", hdr.Get("X-Tgan-Truncation"), slices.Equal(plain, trunc))
	}
	for _, q := range []string{"truncation=1e9", "truncation=none", "truncation=0"} {
		if _, _, body := r.get(t, "/v1/samples/7.png?"+q); !slices.Equal(pixels(body), plain) {
			t.Errorf("%s differs from no truncation", q)
		}
	}
	// Grid tile 1 of seeds 6.. and the strip's first tile are sample 7 at 0.5.
	code, _, body = r.get(t, "/v1/grid.png?n=2&seed=6&cols=2&truncation=0.5")
	g, _ := png.Decode(bytes.NewReader(body))
	code2, _, sbody := r.get(t, "/v1/interpolate.png?a=7&b=9&k=3&truncation=0.5")
	strip, _ := png.Decode(bytes.NewReader(sbody))
	one, _ := png.Decode(bytes.NewReader(mustGet(t, r, "/v1/samples/7.png?truncation=0.5")))
	if code != 200 || code2 != 200 || g == nil || strip == nil {
		t.Fatalf("grid %d, strip %d", code, code2)
	}
	for y := range s {
		for x := range s {
			if g.At(1+(s+1)+x, 1+y) != one.At(x, y) || strip.At(1+x, 1+y) != one.At(x, y) {
				t.Fatalf("pixel (%d, %d): grid tile or strip start differs from sample 7 at truncation 0.5", x, y)
			}
		}
	}
	for _, q := range []string{"-1", "0.001", "abc", "nan", "inf"} {
		if code, _, body := r.get(t, "/v1/grid.png?truncation="+q); code != 400 || !bytes.Contains(body, []byte("truncation")) {
			t.Errorf("truncation=%s: %d %q, want 400 naming truncation", q, code, body)
		}
	}
}

func mustGet(t *testing.T, r *running, path string) []byte {
	t.Helper()
	code, _, body := r.get(t, path)
	if code != 200 {
		t.Fatalf("%s: %d %s", path, code, body)
	}
	return body
}
