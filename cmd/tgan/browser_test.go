package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
)

// findChromium returns the browser for the page test. Without one the test
// skips, except where CI or TGAN_REQUIRE_BROWSER is set (scripts/test.sh
// sets it and installs Debian's chromium), so it
// cannot pass silently there.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" || os.Getenv("TGAN_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not found on PATH, and CI or TGAN_REQUIRE_BROWSER is set: install Debian's chromium (apt-get install chromium; scripts/test.sh does)")
	}
	t.Skip("chromium not installed: the browser test of the serve page skips (apt-get install chromium; scripts/test.sh installs it and never skips)")
	return ""
}

// startServe runs `tgan serve` on a free port and returns its base URL.
func startServe(t *testing.T, bin string, models ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--batch-wait", "0"}, models...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	found := make(chan string, 1)
	var log bytes.Buffer
	go func() {
		re := regexp.MustCompile(`on (http://\S+)/ `)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case url, ok := <-found:
		if !ok {
			t.Fatalf("tgan serve exited before serving")
		}
		return url
	case <-time.After(60 * time.Second):
		t.Fatal("tgan serve did not start in 60 s")
	}
	return ""
}

// inferred caches inferSample by model path and seed.
var inferred = map[string]image.Image{}

// inferSample is `tgan infer --seed S --n 1` of path, decoded.
func inferSample(t *testing.T, bin, path string, seed int) image.Image {
	t.Helper()
	key := fmt.Sprint(path, seed)
	if img, ok := inferred[key]; ok {
		return img
	}
	dir := filepath.Join(t.TempDir(), "infer")
	if out, err := exec.Command(bin, "infer", "--seed", fmt.Sprint(seed), "--n", "1", "--out", dir, path).CombinedOutput(); err != nil {
		t.Fatalf("tgan infer: %v\n%s", err, out)
	}
	inferred[key] = readPNG(t, filepath.Join(dir, "000000.png"))
	return inferred[key]
}

// readPNG decodes the PNG file at path (the browser and install tests).
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// shownImage is one figure of the page as the browser has it: the state of
// its holder, the URL it fetched, and the pixels the browser decoded
// (drawn into a canvas and read back as PNG).
type shownImage struct {
	Model  string `json:"model"`
	State  string `json:"state"`
	URL    string `json:"url"`
	Width  int    `json:"w"`
	Height int    `json:"h"`
	PNG    string `json:"png"`
	Error  string `json:"error"`
}

const readFigures = `[...document.querySelectorAll(%q)].map((f) => {
  const h = f.querySelector(".img"), img = h.querySelector("img");
  let png = "";
  if (img) {
    const c = document.createElement("canvas");
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    c.getContext("2d").drawImage(img, 0, 0);
    png = c.toDataURL("image/png");
  }
  return { model: f.dataset.model, state: h.dataset.state, url: h.dataset.url,
    w: img ? img.naturalWidth : 0, h: img ? img.naturalHeight : 0, png, error: img ? "" : h.textContent };
})`

// poll waits until the expression is truthy and returns its value. Right
// after a navigation the page's JavaScript context can still be the old
// one ("Cannot find context"): that is retried.
func poll[T any](ctx context.Context, expr string, timeout time.Duration) (T, error) {
	for try := 0; ; try++ {
		v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(timeout)))
		if err == nil || try == 5 || !strings.Contains(err.Error(), "Cannot find context") {
			return v, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// figures waits until every figure under sel has loaded (or failed), and
// its first one fetched a URL containing want, then reads them.
func figures(t *testing.T, ctx context.Context, sel, want string) []shownImage {
	t.Helper()
	ready := fmt.Sprintf(`(() => { const hs = [...document.querySelectorAll(%q)];
	  return hs.length > 0 && hs.every((h) => h.dataset.state !== "loading") && hs[0].dataset.url.includes(%q); })()`, sel+" .img", want)
	if _, err := poll[bool](ctx, ready, 30*time.Second); err != nil {
		t.Fatalf("waiting for %s to show %q: %v", sel, want, err)
	}
	figs, err := chromedp.Run(ctx, chromedp.Evaluate[[]shownImage](fmt.Sprintf(readFigures, sel)))
	if err != nil {
		t.Fatal(err)
	}
	return figs
}

func (s shownImage) decode(t *testing.T) image.Image {
	t.Helper()
	if s.State != "ok" {
		t.Fatalf("%s: %s, not an image: %s", s.URL, s.State, s.Error)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.PNG, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: the browser's pixels: %v", s.URL, err)
	}
	if b := img.Bounds(); b.Dx() != s.Width || b.Dy() != s.Height {
		t.Fatalf("%s: canvas %v, image %dx%d", s.URL, b, s.Width, s.Height)
	}
	return img
}

// tile is tile i of a grid with cols columns of side x side tiles (each
// pixel shown scale x scale) and 1-pixel padding, at image scale 1.
func tile(img image.Image, i, cols, side, scale int) image.Image {
	step := side*scale + 1
	x0, y0 := 1+(i%cols)*step, 1+(i/cols)*step
	out := image.NewNRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			out.Set(x, y, img.At(x0+x*scale, y0+y*scale))
		}
	}
	return out
}

// differing counts pixels whose channels differ by more than 1 level.
func differing(a, b image.Image) int {
	n := 0
	for y := range a.Bounds().Dy() {
		for x := range a.Bounds().Dx() {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y).RGBA()
			for _, d := range []int{int(r1) - int(r2), int(g1) - int(g2), int(b1) - int(b2)} {
				if d > 257 || d < -257 {
					n++
					break
				}
			}
		}
	}
	return n
}

// writeTinyCheckpoint saves a random tiny-preset checkpoint "trained" for
// 7 steps (the step shows on the page).
func writeTinyCheckpoint(t *testing.T, path string, seed int64) {
	t.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed))
	ck := &checkpoint.Checkpoint{Config: cfg, Gen: model.InitWeights(cfg.GParams(), rng),
		AvgGen: model.InitWeights(cfg.GParams(), rng), Meta: map[string]string{"trainer_state": `{"g_steps": 7}`}}
	if err := checkpoint.Save(path, ck); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserServePage drives the page of a real `tgan serve` (a tiny
// checkpoint on Gorgonia next to an exported .onnx on ONNX Runtime) in
// headless Chromium: the grids, the next seeds, one sample large, an
// interpolation, the download and an error, each image checked against
// `tgan infer` for the same seed. TGAN_SCREENSHOT=path saves the page.
func TestBrowserServePage(t *testing.T) {
	chrome := findChromium(t)
	bin := buildTgan(t)
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "tiny-ema.safetensors")
	writeTinyCheckpoint(t, ckpt, 1)
	other := filepath.Join(dir, "other.safetensors")
	writeTinyCheckpoint(t, other, 2)
	if out, err := exec.Command(bin, "export", "--onnx", filepath.Join(dir, "onnx"), other).CombinedOutput(); err != nil {
		t.Fatalf("tgan export: %v\n%s", err, out)
	}
	onnxPath := filepath.Join(dir, "onnx", "generator.onnx")
	paths := map[string]string{"tiny-ema": ckpt, "generator": onnxPath}
	url := startServe(t, bin, ckpt, onnxPath)
	const side, scale = 16, 1

	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var exceptions []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*cdpruntime.EventExceptionThrown); ok {
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			mu.Lock()
			exceptions = append(exceptions, fmt.Sprintf("line %d: %s", d.LineNumber+1, msg))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		if len(exceptions) > 0 {
			t.Errorf("JavaScript exceptions on the page: %v", exceptions)
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/#n=4&seed=10&scale=1&a=10&b=14&k=5")); err != nil {
		t.Fatal(err)
	}
	// The exception listener works: an uncaught error reaches it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`setTimeout(() => { throw new Error("listener probe"); })`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		probed := len(exceptions) == 1 && strings.Contains(exceptions[0], "listener probe")
		if probed {
			exceptions = nil
		}
		mu.Unlock()
		if probed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exception listener saw no probe: %v", exceptions)
		}
	}

	// Two models side by side, seeds 10..13 as a 2x2 grid each.
	grids := figures(t, ctx, "#grids figure", "seed=10")
	if len(grids) != 2 || grids[0].Model != "tiny-ema" || grids[1].Model != "generator" {
		t.Fatalf("grids: %+v", grids)
	}
	first := map[string]image.Image{}
	for _, g := range grids {
		if g.Width != 2*(side+1)+1 || g.Height != g.Width {
			t.Errorf("%s grid is %dx%d", g.Model, g.Width, g.Height)
		}
		img := g.decode(t)
		first[g.Model] = tile(img, 0, 2, side, scale)
		for _, c := range []struct{ tile, seed int }{{0, 10}, {3, 13}} {
			if d := differing(tile(img, c.tile, 2, side, scale), inferSample(t, bin, paths[g.Model], c.seed)); d > 0 {
				t.Errorf("%s: tile %d differs from tgan infer --seed %d in %d pixels", g.Model, c.tile, c.seed, d)
			}
		}
	}
	if differing(first["tiny-ema"], first["generator"]) == 0 {
		t.Error("the two models show the same sample")
	}

	// Next: seeds 14..17.
	if err := chromedp.Do(ctx, chromedp.Click("#next")); err != nil {
		t.Fatal(err)
	}
	for _, g := range figures(t, ctx, "#grids figure", "seed=14") {
		img := g.decode(t)
		if differing(tile(img, 0, 2, side, scale), first[g.Model]) == 0 {
			t.Errorf("%s: seed 14 looks like seed 10", g.Model)
		}
		if d := differing(tile(img, 0, 2, side, scale), inferSample(t, bin, paths[g.Model], 14)); d > 0 {
			t.Errorf("%s: after next, tile 0 differs from tgan infer --seed 14 in %d pixels", g.Model, d)
		}
	}

	// Click tile 1 (seed 15) of the first grid: the sample opens large.
	xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
	  const img = document.querySelector("#grids figure .img img"), r = img.getBoundingClientRect(), k = r.width / img.naturalWidth;
	  return [r.left + (1 + %d + %d / 2) * k, r.top + (1 + %d / 2) * k]; })()`, side*scale+1, side*scale, side*scale)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
		t.Fatal(err)
	}
	for _, l := range figures(t, ctx, "#large figure", "samples/15.png") {
		img := l.decode(t)
		k := l.Width / side
		if l.Width != k*side || l.Height != l.Width || k < 2 {
			t.Fatalf("%s: large sample %dx%d", l.Model, l.Width, l.Height)
		}
		small := image.NewNRGBA(image.Rect(0, 0, side, side))
		for y := range side {
			for x := range side {
				small.Set(x, y, img.At(x*k, y*k))
			}
		}
		if d := differing(small, inferSample(t, bin, paths[l.Model], 15)); d > 0 {
			t.Errorf("%s: the large sample differs from tgan infer --seed 15 in %d pixels", l.Model, d)
		}
	}

	// "Interpolate from this seed" (15), then to seed 10 in 5 steps.
	if err := chromedp.Do(ctx, chromedp.Click("#set-a"), chromedp.SetValue("#b", "10"), chromedp.SetValue("#k", "5"), chromedp.Click("#interp")); err != nil {
		t.Fatal(err)
	}
	for _, s := range figures(t, ctx, "#strips figure", "a=15&b=10&k=5") {
		img := s.decode(t)
		if s.Width != 5*(side+1)+1 || s.Height != side+2 {
			t.Errorf("%s strip is %dx%d", s.Model, s.Width, s.Height)
		}
		from, to := inferSample(t, bin, paths[s.Model], 15), inferSample(t, bin, paths[s.Model], 10)
		if d := differing(tile(img, 0, 5, side, scale), from); d > 0 {
			t.Errorf("%s: the strip starts %d pixels away from tgan infer --seed 15", s.Model, d)
		}
		if d := differing(tile(img, 4, 5, side, scale), to); d > 0 {
			t.Errorf("%s: the strip ends %d pixels away from tgan infer --seed 10", s.Model, d)
		}
		if mid := tile(img, 2, 5, side, scale); differing(mid, from) == 0 || differing(mid, to) == 0 {
			t.Errorf("%s: the middle of the strip equals an end", s.Model)
		}
	}

	// The server table is filled from /metrics.
	if _, err := poll[bool](ctx, `document.querySelectorAll("#server tbody tr").length === 2 &&
	  Number(document.querySelector("#server tbody tr td:nth-child(4)").textContent) > 0`, 10*time.Second); err != nil {
		t.Errorf("the server table shows no images from /metrics: %v", err)
	}

	// Download: one PNG holding the grids and strips on screen.
	downloads := filepath.Join(dir, "downloads")
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click("#download")); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(downloads, "tgan-seed-14.png")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(saved); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after clicking Download", saved)
		}
	}
	if b := readPNG(t, saved).Bounds(); b.Dx() < 2*(2*(side+1)+1) || b.Dy() < 2*(2*(side+1)+1)+(side+2) {
		t.Errorf("the download is %v, too small for two grids and the strips", b)
	}

	// Bad input typed into the page: the reason shows instead of an image.
	if err := chromedp.Do(ctx, chromedp.SetValue("#seed", "-1"), chromedp.Click("#show")); err != nil {
		t.Fatal(err)
	}
	for _, g := range figures(t, ctx, "#grids figure", "seed=-1") {
		if g.State != "error" || !strings.Contains(g.Error, `400 Bad Request: seed="-1": want a seed from 0 to`) {
			t.Errorf("%s: seed -1 shows %s %q", g.Model, g.State, g.Error)
		}
	}
	if err := chromedp.Do(ctx, chromedp.SetValue("#k", "1000"), chromedp.Click("#interp")); err != nil {
		t.Fatal(err)
	}
	for _, s := range figures(t, ctx, "#strips figure", "k=1000") {
		if s.State != "error" || !strings.Contains(s.Error, `k="1000": want an integer from 2 to 64`) {
			t.Errorf("%s: k=1000 shows %s %q", s.Model, s.State, s.Error)
		}
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#grids img, #strips img").length`))
	if err != nil || n != 0 {
		t.Errorf("%d images (%v) left on the page after errors", n, err)
	}

	// A link naming a model the server does not have says so.
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/?link=1#models=nope")); err != nil {
		t.Fatal(err)
	}
	status, err := poll[string](ctx, `(() => { const s = document.getElementById("status");
	  return s.className === "bad" && s.textContent; })()`, 10*time.Second)
	if err != nil || status != `unknown model "nope" in the link: this server has tiny-ema, generator` {
		t.Errorf("unknown model in the link: %q (%v)", status, err)
	}
	screenshot(t, ctx, url)
}

// screenshot saves the page with 16 samples per model, zoomed, to
// $TGAN_SCREENSHOT when set (docs/serve-page.png).
func screenshot(t *testing.T, ctx context.Context, url string) {
	path := os.Getenv("TGAN_SCREENSHOT")
	if path == "" {
		return
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/?shot=1#n=16&seed=0&scale=4&a=3&b=11&k=8")); err != nil {
		t.Fatal(err)
	}
	figures(t, ctx, "#grids figure", "seed=0")
	figures(t, ctx, "#strips figure", "a=3")
	if _, err := poll[bool](ctx, `document.querySelectorAll("#server tbody tr").length === 2`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}
