package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// TestPNGText: EncodePNG's text chunks read back with PNGText, the image
// still decodes to the same pixels, and without text the bytes are
// png.Encode's.
func TestPNGText(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.NRGBA{R: 200, G: 10, B: 30, A: 255})
	var with, plain, ref bytes.Buffer
	text := map[string]string{"tgan.truncation": "0.5", "Software": "tgan"}
	if err := EncodePNG(&with, img, text); err != nil {
		t.Fatal(err)
	}
	got, err := PNGText(with.Bytes())
	if err != nil || len(got) != 2 || got["tgan.truncation"] != "0.5" || got["Software"] != "tgan" {
		t.Fatalf("text %v (%v)", got, err)
	}
	back, err := png.Decode(bytes.NewReader(with.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.At(1, 1) != img.At(1, 1) || back.At(0, 0) != img.At(0, 0) {
		t.Error("pixels changed")
	}
	EncodePNG(&plain, img, nil)
	png.Encode(&ref, img)
	if !bytes.Equal(plain.Bytes(), ref.Bytes()) {
		t.Error("without text the bytes differ from png.Encode")
	}
	if err := EncodePNG(&plain, img, map[string]string{"": "x"}); err == nil {
		t.Error("an empty keyword was accepted")
	}
	if _, err := PNGText([]byte("GIF89a")); err == nil {
		t.Error("a GIF read as PNG")
	}
}
