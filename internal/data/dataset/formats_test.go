package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/imageio"
)

func TestCIFAR10Synthetic(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "data_batch_1.bin", cifarRecords(3))
	writeFile(t, dir, "data_batch_3.bin", cifarRecords(2)) // 2 is missing: use what exists
	writeFile(t, dir, "test_batch.bin", cifarRecords(4))   // never part of training
	src, err := Open("cifar10", dir, 32)
	if err != nil {
		t.Fatal(err)
	}
	m := src.(*Memory)
	if m.Len() != 5 || m.ImageSize() != 32 || m.Channels() != 3 {
		t.Fatalf("got %v", m)
	}
	if p := m.Pixels(4); p[31] != 255 || p[1] != 1 || p[1024] != 101 || p[2048+5] != 201 {
		t.Errorf("image 4 planes wrong: R %d %d G %d B %d", p[31], p[1], p[1024], p[2048+5])
	}
	x := make([]float32, 3*32*32)
	m.Read(1, false, x)
	if x[31] != 1 || x[0] != imageio.ToFloat(1) || x[1024] != imageio.ToFloat(101) {
		t.Errorf("Read: %v %v %v", x[31], x[0], x[1024])
	}
	m.Read(1, true, x) // mirrored: the bright pixel moves to column 0
	if x[0] != 1 || x[31] != imageio.ToFloat(1) {
		t.Errorf("flipped Read: %v %v", x[0], x[31])
	}
}

func TestCIFAR10Errors(t *testing.T) {
	dir := t.TempDir()
	trunc := writeFile(t, dir, "trunc/data_batch_1.bin", append(cifarRecords(2), make([]byte, 100)...))
	empty := writeFile(t, dir, "empty/data_batch_1.bin", nil)
	label := cifarRecords(3)
	label[2*cifarRecord] = 12
	badLabel := writeFile(t, dir, "label/data_batch_1.bin", label)
	os.MkdirAll(filepath.Join(dir, "none"), 0o755)
	tests := []struct {
		name, path, want string
	}{
		{"truncated", filepath.Dir(trunc), trunc + ": truncated at record 2 (expected 3073 bytes, got 100)"},
		{"truncated file", trunc, "truncated at record 2"},
		{"empty", empty, empty + ": empty file"},
		{"label", badLabel, "record 2: label 12 out of range"},
		{"no batches", filepath.Join(dir, "none"), "no data_batch_1.bin .. data_batch_5.bin in"},
		{"missing", filepath.Join(dir, "absent"), "no such file"},
		{"no path", "", "cifar10: no dataset path given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open("cifar10", tt.path, 32)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "cifar10: ") {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestCIFAR10Real(t *testing.T) {
	needFile(t, realCIFAR)
	raw, err := os.ReadFile(realCIFAR)
	if err != nil {
		t.Fatal(err)
	}
	src, err := Open("cifar10", realCIFAR, 32)
	if err != nil {
		t.Fatal(err)
	}
	m := src.(*Memory)
	if m.Len() != 10000 {
		t.Fatalf("Len = %d, want 10000", m.Len())
	}
	for _, i := range []int{0, 1234, 9999} {
		if !bytes.Equal(m.Pixels(i), raw[i*cifarRecord+1:(i+1)*cifarRecord]) {
			t.Errorf("image %d differs from the file", i)
		}
	}
	small, err := Open("cifar10", filepath.Dir(realCIFAR), 16)
	if err != nil {
		t.Fatal(err)
	}
	if small.Len() != 10000 || small.ImageSize() != 16 {
		t.Fatalf("16px: %d images of %d", small.Len(), small.ImageSize())
	}
	// Area shrinking by 2 averages 2x2 blocks: check one pixel by hand.
	p, q := raw[1:], small.(*Memory).Pixels(0)
	sum := int(p[2*32+2]) + int(p[2*32+3]) + int(p[3*32+2]) + int(p[3*32+3])
	if d := int(q[1*16+1]) - (sum+2)/4; d < -1 || d > 1 {
		t.Errorf("16px pixel (1,1) = %d, want about %d", q[16+1], (sum+2)/4)
	}
}

func TestIDX(t *testing.T) {
	dir := t.TempDir()
	pix := make([]byte, 2*3*3)
	for i := range pix {
		pix[i] = byte(10 * i)
	}
	good := idxBytes(8, 3, []uint32{2, 3, 3}, pix)
	plain := writeFile(t, dir, "plain/train-images-idx3-ubyte", good)
	zipped := writeFile(t, dir, "zipped/train-images-idx3-ubyte.gz", gz(good))
	for _, p := range []string{plain, zipped, filepath.Dir(zipped)} {
		src, err := Open("mnist", p, 3)
		if err != nil {
			t.Fatal(err)
		}
		m := src.(*Memory)
		if m.Len() != 2 || m.Channels() != 1 || !bytes.Equal(m.Pixels(1), pix[9:]) {
			t.Fatalf("%s: %v %v", p, m, m.Pixels(1))
		}
		x := make([]float32, 27)
		m.Read(1, false, x) // gray replicated to RGB
		if x[0] != imageio.ToFloat(90) || x[9] != x[0] || x[18] != x[0] || x[26] != imageio.ToFloat(170) {
			t.Fatalf("Read: %v", x)
		}
	}
}

func TestIDXErrors(t *testing.T) {
	dir := t.TempDir()
	pix := make([]byte, 2*4*4)
	noise := make([]byte, 4*16*16)
	for i := range noise {
		noise[i] = byte(i * i * 7919 >> 3)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"magic", append([]byte{1, 2}, idxBytes(8, 3, []uint32{2, 4, 4}, pix)[2:]...), "bad magic 01 02 08 03"},
		{"type", idxBytes(0x0d, 3, []uint32{2, 4, 4}, pix), "element type 0x0d"},
		{"labels", idxBytes(8, 1, []uint32{32}, pix), "1 dimensions, want 3"},
		{"truncated", idxBytes(8, 3, []uint32{3, 4, 4}, pix[:20]), "dims 3x4x4 inconsistent with size: truncated at image 1 (expected 16 bytes, got 4)"},
		{"missing image", idxBytes(8, 3, []uint32{3, 4, 4}, pix), "truncated at image 2 (expected 16 bytes, got 0)"},
		{"trailing", idxBytes(8, 3, []uint32{1, 4, 4}, pix), "inconsistent with size: 16 bytes after the last image"},
		{"zero dims", idxBytes(8, 3, []uint32{0, 4, 4}, nil), "implausible dims 0x4x4"},
		{"short header", []byte{0, 0, 8, 3, 0, 0}, "truncated header"},
		{"tiny", []byte{0}, "truncated header"},
		{"gzip", gz(idxBytes(8, 3, []uint32{4, 16, 16}, noise))[:600], "truncated at image"},
		{"gzip trailer", gz(idxBytes(8, 3, []uint32{2, 4, 4}, pix))[:30], "corrupt or truncated after the last image: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, tt.name, tt.data)
			_, err := Open("fashion-mnist", p, 4)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "fashion-mnist: "+p+": ") {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
	if _, err := Open("mnist", dir, 4); err == nil || !strings.Contains(err.Error(), "no train-images-idx3-ubyte[.gz] in") {
		t.Errorf("dir without file: %v", err)
	}
}

func TestFashionMNISTReal(t *testing.T) {
	needFile(t, DefaultFashionMNIST)
	src, err := Open("fashion-mnist", "", 28)
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != 60000 || src.(*Memory).Channels() != 1 {
		t.Fatalf("got %v", src)
	}
	if testing.Short() {
		return
	}
	up, err := Open("fashion-mnist", "", 32)
	if err != nil {
		t.Fatal(err)
	}
	if up.Len() != 60000 || up.ImageSize() != 32 {
		t.Fatalf("got %v", up)
	}
}

// writePNG encodes an RGBA image of w x h filled with c, with an optional
// marker pixel at (0, 0).
func encodeImage(t *testing.T, w, h int, c color.NRGBA, asJPEG bool) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	var err error
	if asJPEG {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "b/z.png", encodeImage(t, 8, 8, color.NRGBA{10, 20, 30, 255}, false))
	writeFile(t, dir, "a.JPG", encodeImage(t, 16, 16, color.NRGBA{200, 200, 200, 255}, true))
	writeFile(t, dir, "b/notes.txt", []byte("ignored"))
	// 4 wide, 12 high: center crop keeps rows 4..7, the green band.
	tall := image.NewNRGBA(image.Rect(0, 0, 4, 12))
	for y := 0; y < 12; y++ {
		for x := 0; x < 4; x++ {
			g := uint8(0)
			if y >= 4 && y < 8 {
				g = 250
			}
			tall.SetNRGBA(x, y, color.NRGBA{0, g, 0, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, tall)
	writeFile(t, dir, "c/tall.png", buf.Bytes())
	src, err := Open("folder", dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	m := src.(*Memory)
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
	if p := m.Pixels(0); p[0] < 197 || p[0] > 203 { // a.JPG, shrunk 16 -> 8
		t.Errorf("a.JPG pixel %d", p[0])
	}
	if p := m.Pixels(1); p[0] != 10 || p[64] != 20 || p[128] != 30 {
		t.Errorf("b/z.png pixel %v %v %v", p[0], p[64], p[128])
	}
	for i, v := range m.Pixels(2)[64:128] { // tall.png green plane, 4 -> 8 upscaled
		if v != 250 {
			t.Fatalf("tall.png green %d = %d, want 250 everywhere", i, v)
		}
	}
}

func TestFolderErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad/x.png", []byte("not a png"))
	writeFile(t, dir, "empty/readme.txt", []byte("x"))
	file := writeFile(t, dir, "file.png", encodeImage(t, 2, 2, color.NRGBA{}, false))
	tests := []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope"), "no such file or directory"},
		{"not dir", file, "is not a directory"},
		{"no images", filepath.Join(dir, "empty"), "no PNG or JPEG images under"},
		{"corrupt", filepath.Dir(bad), bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open("folder", tt.path, 8)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "folder: ") {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		kind string
		size int
		want string
	}{
		{"imagenet", 32, `unknown kind "imagenet"`},
		{"cifar10", 0, "image size 0 out of range"},
		{"folder", -4, "image size -4 out of range"},
		{"mnist", 32, "mnist: no dataset path given"},
	}
	for _, tt := range tests {
		if _, err := Open(tt.kind, "", tt.size); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q, %d) err = %v, want %q", tt.kind, tt.size, err, tt.want)
		}
	}
}
