package dataset

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stlValue is pixel (row y, column x) of channel c in record k of the
// fixtures: asymmetric in x and y, so a missing transpose changes it.
func stlValue(k, c, y, x int) uint8 { return uint8(7*y + 3*x + 50*c + 11*k) }

// stlRecords writes n records in the official layout: each channel stored
// column-major, byte c*96*96 + x*96 + y holding pixel (y, x).
func stlRecords(n, k0 int) []byte {
	b := make([]byte, n*stlRecord)
	for k := 0; k < n; k++ {
		for c := 0; c < 3; c++ {
			for x := 0; x < stlSide; x++ {
				for y := 0; y < stlSide; y++ {
					b[k*stlRecord+c*stlSide*stlSide+x*stlSide+y] = stlValue(k0+k, c, y, x)
				}
			}
		}
	}
	return b
}

func TestSTL10OrientationAndSplits(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, STLDir)
	writeFile(t, dir, "train_X.bin", stlRecords(2, 0))
	writeFile(t, dir, "unlabeled_X.bin", stlRecords(3, 2))
	for _, c := range []struct {
		path string
		n    int
		k0   int // record index of image 0
	}{
		{root, 5, 0}, // the parent of stl10_binary: train+unlabeled
		{dir, 5, 0},
		{filepath.Join(dir, "train_X.bin"), 2, 0},
		{filepath.Join(dir, "unlabeled_X.bin"), 3, 2},
	} {
		src, err := Open("stl10", c.path, 96)
		if err != nil {
			t.Fatal(err)
		}
		s := src.(*STL10)
		if s.Len() != c.n || s.ImageSize() != 96 {
			t.Fatalf("%s: %v", c.path, s)
		}
		for i := 0; i < c.n; i++ {
			p := s.Pixels(i)
			for _, q := range [][3]int{{0, 0, 1}, {0, 1, 0}, {1, 5, 90}, {2, 95, 3}} {
				ch, y, x := q[0], q[1], q[2]
				if got, want := p[(ch*96+y)*96+x], stlValue(c.k0+i, ch, y, x); got != want {
					t.Fatalf("%s image %d channel %d (%d, %d) = %d, want %d (column-major transpose)", c.path, i, ch, y, x, got, want)
				}
			}
		}
		s.Close()
	}
	src, _ := Open("stl10", dir, 96)
	x := make([]float32, 3*96*96)
	src.Read(3, true, x) // unlabeled record 1, mirrored
	if want := floatLUT[stlValue(3, 1, 2, 0)]; x[(96+2)*96+95] != want {
		t.Errorf("flipped Read = %v, want %v", x[(96+2)*96+95], want)
	}
}

// refPIL is an independent float reference of PIL's bilinear resize for
// one axis: triangle weights over [center - support, center + support],
// normalised, rounded half up to uint8.
func refPIL(in []float64, out int) []float64 {
	n := len(in)
	scale := float64(n) / float64(out)
	fs := math.Max(scale, 1)
	res := make([]float64, out)
	for o := range res {
		center := (float64(o) + 0.5) * scale
		var sum, wsum float64
		for j := 0; j < n; j++ {
			d := math.Abs(float64(j)+0.5-center) / fs
			if d < 1 {
				sum += (1 - d) * in[j]
				wsum += 1 - d
			}
		}
		res[o] = math.Floor(sum/wsum + 0.5)
	}
	return res
}

// Resizing 96 -> 48 follows PIL's bilinear with antialias (taps 1/8, 3/8,
// 3/8, 1/8; 3/7, 3/7, 1/7 at the edges), horizontal pass first with 8-bit
// rounding, not area averaging.
func TestSTL10ResizeLikePIL(t *testing.T) {
	dir := t.TempDir()
	rec := make([]byte, stlRecord)
	rng := rand.New(rand.NewSource(1))
	for i := range rec[:stlSide*stlSide] { // R: random
		rec[i] = byte(rng.Intn(256))
	}
	for x := 0; x < stlSide; x++ { // G: a vertical edge at column 48
		for y := 0; y < stlSide; y++ {
			if x >= 48 {
				rec[stlSide*stlSide+x*stlSide+y] = 160
			}
		}
	}
	writeFile(t, dir, "train_X.bin", rec)
	src, err := Open("stl10", filepath.Join(dir, "train_X.bin"), 48)
	if err != nil {
		t.Fatal(err)
	}
	got := src.(*STL10).Pixels(0)
	if g := got[48*48+10*48:]; g[23] != 20 || g[24] != 140 || g[22] != 0 || g[25] != 160 {
		t.Errorf("edge row = %v, want 0 20 140 160 at columns 22..25", g[22:26])
	}
	// R plane against the float reference, rows first.
	plane := make([][]float64, stlSide)
	for y := range plane {
		plane[y] = make([]float64, stlSide)
		for x := range plane[y] {
			plane[y][x] = float64(rec[x*stlSide+y])
		}
	}
	rows := make([][]float64, stlSide)
	for y := range rows {
		rows[y] = refPIL(plane[y], 48)
	}
	for x := 0; x < 48; x++ {
		col := make([]float64, stlSide)
		for y := range col {
			col[y] = rows[y][x]
		}
		for y, v := range refPIL(col, 48) {
			if float64(got[y*48+x]) != v {
				t.Fatalf("R (%d, %d) = %d, want %v", y, x, got[y*48+x], v)
			}
		}
	}
}

func TestSTL10Errors(t *testing.T) {
	dir := t.TempDir()
	short := writeFile(t, dir, "short/train_X.bin", stlRecords(2, 0)[:2*stlRecord-5])
	writeFile(t, dir, "nounl/train_X.bin", stlRecords(1, 0))
	other := writeFile(t, dir, "other.bin", stlRecords(1, 0))
	for _, c := range []struct {
		path string
		size int
		want string
	}{
		{short, 48, "stl10: " + short + ": 55291 bytes is not a positive whole number of 3x96x96 images (27648 bytes each"},
		{filepath.Join(dir, "nounl"), 48, filepath.Join(dir, "nounl", "unlabeled_X.bin") + ": no such file"},
		{other, 48, "stl10: " + other + ": want the stl10_binary folder, train_X.bin or unlabeled_X.bin"},
		{filepath.Join(dir, "nounl"), 256, "images are 96x96, too small for a 256x256 model"},
		{filepath.Join(dir, "absent"), 48, "no such file"},
	} {
		_, err := Open("stl10", c.path, c.size)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(%s, %d) = %v\nwant containing %q", c.path, c.size, err, c.want)
		}
	}
	// A file that shrinks after Open: the Loader reports the read failure.
	f := writeFile(t, dir, "late/train_X.bin", stlRecords(4, 0))
	src, err := Open("stl10", f, 48)
	if err != nil {
		t.Fatal(err)
	}
	os.Truncate(f, stlRecord)
	l := NewLoader(src, 1)
	err = l.NextInto(make([]float32, 4*3*48*48))
	if err == nil || !strings.Contains(err.Error(), "stl10: "+f+": image ") {
		t.Errorf("read after truncation: %v", err)
	}
}

// Kind images squashes a non-square file to S x S with PIL's filter.
func TestImagesSquash(t *testing.T) {
	dir := t.TempDir()
	wide := image.NewNRGBA(image.Rect(0, 0, 8, 4)) // red left half
	for y := 0; y < 4; y++ {
		for x := 0; x < 8; x++ {
			r := uint8(0)
			if x < 4 {
				r = 200
			}
			wide.SetNRGBA(x, y, color.NRGBA{r, 30, 0, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, wide)
	writeFile(t, dir, "a/wide.png", buf.Bytes())
	writeFile(t, dir, "b.png", encodeImage(t, 4, 4, color.NRGBA{1, 2, 3, 255}, false))
	src, err := Open("images", dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != 2 || src.ImageSize() != 4 {
		t.Fatalf("%v", src)
	}
	x := make([]float32, 3*16)
	src.Read(0, false, x)
	// Horizontal 8 -> 4: taps 3/7 3/7 1/7 | 1/8 3/8 3/8 1/8 ...: 200 175 25 0
	// (a center crop would give 200 200 0 0).
	for y := 0; y < 4; y++ {
		for i, want := range []uint8{200, 175, 25, 0} {
			if x[y*4+i] != floatLUT[want] || x[16+y*4+i] != floatLUT[30] {
				t.Fatalf("row %d: R %v G %v, want %d and 30", y, x[y*4:y*4+4], x[16+y*4:16+y*4+4], want)
			}
		}
	}
	// A file that disappears after Open fails the batch, naming it.
	os.Remove(filepath.Join(dir, "b.png"))
	err = NewLoader(src, 1).NextInto(make([]float32, 2*3*16))
	if err == nil || !strings.Contains(err.Error(), "images: ") || !strings.Contains(err.Error(), "b.png") {
		t.Errorf("vanished file: %v", err)
	}
}

func TestImagesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad/x.jpg", []byte("not a jpeg"))
	small := writeFile(t, dir, "small/s.png", encodeImage(t, 6, 40, color.NRGBA{}, false))
	writeFile(t, dir, "empty/readme.txt", []byte("x"))
	for _, c := range []struct{ path, want string }{
		{filepath.Dir(bad), "images: " + bad + ": not a PNG or JPEG image"},
		{filepath.Dir(small), "images: " + small + ": images are 6x6, too small for a 16x16 model"},
		{filepath.Join(dir, "empty"), "images: no PNG or JPEG images under"},
	} {
		_, err := Open("images", c.path, 16)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Open(images, %s) = %v\nwant prefix %q", c.path, err, c.want)
		}
	}
}

// A folder beyond MaxInMemory is read lazily, with the same pixels.
func TestFolderLazyEqualsMemory(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(3))
	for i, wh := range [][2]int{{10, 10}, {12, 7}, {5, 9}} {
		img := image.NewNRGBA(image.Rect(0, 0, wh[0], wh[1]))
		rng.Read(img.Pix)
		for j := 3; j < len(img.Pix); j += 4 {
			img.Pix[j] = 255
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		writeFile(t, dir, string(rune('a'+i))+".png", buf.Bytes())
	}
	mem, err := Open("folder", dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer func(v int64) { MaxInMemory = v }(MaxInMemory)
	MaxInMemory = 3*3*8*8 - 1
	lazy, err := Open("folder", dir, 8)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := lazy.(*Lazy); !ok {
		t.Fatalf("over MaxInMemory: %T, want *Lazy", lazy)
	}
	// The Loader reads lazy sources in parallel: the same batches.
	lm, ll := NewLoader(mem, 9), NewLoader(lazy, 9)
	for step := 0; step < 4; step++ {
		bm, _ := lm.Next(2)
		bl, err := ll.Next(2)
		if err != nil {
			t.Fatal(err)
		}
		for j := range bm {
			if bm[j] != bl[j] {
				t.Fatalf("batch %d value %d: memory %v, lazy %v", step, j, bm[j], bl[j])
			}
		}
	}
	a, b := make([]float32, 3*64), make([]float32, 3*64)
	for i := 0; i < 3; i++ {
		mem.Read(i, i == 1, a)
		lazy.Read(i, i == 1, b)
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("image %d value %d: memory %v, lazy %v", i, j, a[j], b[j])
			}
		}
	}
}

// A model much larger than the dataset's images is refused before loading.
func TestEnlargeRefused(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "data_batch_1.bin", cifarRecords(2))
	idx := writeFile(t, dir, "train-images-idx3-ubyte", idxBytes(8, 3, []uint32{1, 28, 28}, make([]byte, 784)))
	for _, c := range []struct {
		kind, path string
		size       int
		want       string
	}{
		{"cifar10", dir, 256, "cifar10: " + dir + ": images are 32x32, too small for a 256x256 model (enlarging more than 2x; use a dataset of at least 128x128 images or a smaller model)"},
		{"mnist", idx, 57, "mnist: " + idx + ": images are 28x28, too small for a 57x57 model"},
	} {
		_, err := Open(c.kind, c.path, c.size)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Open(%s, %d) = %v\nwant %q", c.kind, c.size, err, c.want)
		}
	}
	for _, c := range []struct {
		kind, path string
		size       int
	}{{"cifar10", dir, 64}, {"mnist", idx, 56}} {
		if _, err := Open(c.kind, c.path, c.size); err != nil {
			t.Errorf("Open(%s, %d): %v (2x is allowed)", c.kind, c.size, err)
		}
	}
}

// The lazy sources expose their pixels as Memory does (tgan stats reads
// datasets through Pixels and Channels).
var (
	_ interface {
		Pixels(int) []uint8
		Channels() int
		Err() error
	} = (*STL10)(nil)
	_ interface {
		Pixels(int) []uint8
		Channels() int
		Err() error
	} = (*Lazy)(nil)
)
