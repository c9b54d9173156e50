package serve

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/model"
)

var (
	tmpDir   string
	tinyOnce sync.Once
	tinyPath string
	tinyErr  error
)

func TestMain(m *testing.M) {
	var err error
	if tmpDir, err = os.MkdirTemp("", "tgan-serve-test"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(tmpDir)
	os.Exit(code)
}

// tinyModel opens a random tiny-preset checkpoint (written once per test
// binary) with the Gorgonia engine.
func tinyModel(t *testing.T) engine.Model {
	t.Helper()
	tinyOnce.Do(func() {
		cfg, err := model.Preset("tiny")
		if err != nil {
			tinyErr = err
			return
		}
		rng := rand.New(rand.NewSource(1))
		ck := &checkpoint.Checkpoint{
			Config: cfg,
			Gen:    model.InitWeights(cfg.GParams(), rng),
			AvgGen: model.InitWeights(cfg.GParams(), rng),
			Dis:    model.InitWeights(cfg.DParams(), rng),
		}
		tinyPath = filepath.Join(tmpDir, "tiny.safetensors")
		tinyErr = checkpoint.Save(tinyPath, ck)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	m, err := engine.Open(tinyPath, engine.Generator, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

type running struct {
	srv    *Server
	url    string
	client *http.Client
	stop   func() error
}

// start serves m with cfg on 127.0.0.1:0 through Server.Serve.
func start(t *testing.T, m engine.Model, cfg Config) *running {
	t.Helper()
	srv, err := New(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return serveServer(t, srv)
}

// serveServer serves srv on 127.0.0.1:0 through Server.Serve.
func serveServer(t *testing.T, srv *Server) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	r := &running{srv: srv, url: "http://" + ln.Addr().String(), client: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
	var once sync.Once
	var serr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			serr = <-done
			tr.CloseIdleConnections()
		})
		return serr
	}
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *running) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := r.client.Get(r.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func decodePNG(t *testing.T, body []byte) (w, h int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not a PNG: %v (%q)", err, body[:min(len(body), 80)])
	}
	b := img.Bounds()
	return b.Dx(), b.Dy()
}

func TestSampleGridHealth(t *testing.T) {
	m := tinyModel(t)
	s := m.Config().ImageSize
	r := start(t, m, Config{})

	code, hdr, body := r.get(t, "/v1/samples/7.png")
	if code != 200 || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("sample: %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	if w, h := decodePNG(t, body); w != s || h != s {
		t.Errorf("sample is %dx%d, want %dx%d", w, h, s, s)
	}
	_, _, again := r.get(t, "/v1/samples/7.png")
	if !bytes.Equal(body, again) {
		t.Error("same seed gave different PNG bytes")
	}
	_, _, other := r.get(t, "/v1/samples/8.png")
	if bytes.Equal(body, other) {
		t.Error("seeds 7 and 8 gave the same image")
	}
	code, _, scaled := r.get(t, "/v1/samples/7.png?scale=2")
	if w, h := decodePNG(t, scaled); code != 200 || w != 2*s || h != 2*s {
		t.Errorf("scale=2: %d, %dx%d", code, w, h)
	}

	// Default grid: 16 tiles, 4x4, 1-pixel padding.
	code, _, body = r.get(t, "/v1/grid.png")
	if w, h := decodePNG(t, body); code != 200 || w != 4*(s+1)+1 || h != w {
		t.Errorf("grid: %d, %dx%d, want %d square", code, w, h, 4*(s+1)+1)
	}
	code, _, body = r.get(t, "/v1/grid.png?n=6&seed=3&cols=3")
	if w, h := decodePNG(t, body); code != 200 || w != 3*(s+1)+1 || h != 2*(s+1)+1 {
		t.Errorf("grid n=6 cols=3: %d, %dx%d", code, w, h)
	}
	code, _, body = r.get(t, "/v1/grid.png?n=64&seed=0")
	if w, h := decodePNG(t, body); code != 200 || w != 8*(s+1)+1 || h != w {
		t.Errorf("grid n=64: %d, %dx%d", code, w, h)
	}

	code, _, body = r.get(t, "/healthz")
	if code != 200 || !strings.HasPrefix(string(body), "ok ") || !strings.Contains(string(body), m.Backend()) {
		t.Errorf("healthz: %d %q", code, body)
	}
	if err := r.stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// A grid tile is the sample of its seed (seed, seed+1, ...).
func TestGridTilesAreSamples(t *testing.T) {
	m := tinyModel(t)
	s := m.Config().ImageSize
	r := start(t, m, Config{BatchWait: -1})
	_, _, gb := r.get(t, "/v1/grid.png?n=2&seed=5&cols=2")
	_, _, sb := r.get(t, "/v1/samples/6.png")
	g, _ := png.Decode(bytes.NewReader(gb))
	one, _ := png.Decode(bytes.NewReader(sb))
	var diff int
	for y := range s {
		for x := range s {
			r1, g1, b1, _ := g.At(1+(s+1)+x, 1+y).RGBA()
			r2, g2, b2, _ := one.At(x, y).RGBA()
			if d := absDiff(r1, r2) + absDiff(g1, g2) + absDiff(b1, b2); d > 3*257 {
				diff++
			}
		}
	}
	if diff > 0 {
		t.Errorf("tile 1 of grid seed=5 differs from sample 6 in %d pixels", diff)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestBadRequests(t *testing.T) {
	m := tinyModel(t)
	r := start(t, m, Config{})
	for _, c := range []struct {
		path string
		code int
	}{
		{"/v1/grid.png?n=0", 400},
		{"/v1/grid.png?n=65", 400},
		{"/v1/grid.png?n=-3", 400},
		{"/v1/grid.png?n=abc", 400},
		{"/v1/grid.png?seed=-1", 400},
		{"/v1/grid.png?seed=1.5", 400},
		{"/v1/grid.png?seed=99999999999999999999", 400},
		{"/v1/grid.png?n=2&seed=9223372036854775807", 400}, // seed+1 overflows
		{"/v1/grid.png?n=4&cols=5", 400},
		{"/v1/grid.png?scale=100", 400},
		{"/v1/samples/-1.png", 400},
		{"/v1/samples/abc.png", 400},
		{"/v1/samples/1.jpg", 404},
		{"/nope", 404},
	} {
		code, _, body := r.get(t, c.path)
		if code != c.code {
			t.Errorf("%s: %d %q, want %d", c.path, code, body, c.code)
		} else if c.code == 400 && len(strings.TrimSpace(string(body))) < 10 {
			t.Errorf("%s: 400 without a clear message: %q", c.path, body)
		}
	}
	if code, _, _ := r.get(t, "/v1/samples/9223372036854775807.png"); code != 200 {
		t.Errorf("largest seed: %d", code)
	}
	resp, err := r.client.Post(r.url+"/v1/grid.png", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}

// Many parallel clients: all answered, requests merged into shared runs, no
// goroutine left behind after shutdown.
func TestConcurrentBatchingNoLeak(t *testing.T) {
	m := tinyModel(t)
	before := runtime.NumGoroutine()
	r := start(t, m, Config{MaxBatch: 32, BatchWait: 20 * time.Millisecond})
	const clients = 64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	errs := make(chan error, clients)
	bodies := make([][]byte, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			resp, err := r.client.Get(fmt.Sprintf("%s/v1/samples/%d.png", r.url, i%8))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("client %d: %d %s", i, resp.StatusCode, body)
				return
			}
			bodies[i] = body
		}()
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := r.srv.Batcher().Stats()
	t.Logf("stats: %+v", st)
	if st.Requests != clients || st.Images != clients {
		t.Errorf("answered %d requests / %d images, want %d", st.Requests, st.Images, clients)
	}
	if st.MaxBatch < 2 || st.Runs >= clients {
		t.Errorf("no batching: %d runs, largest batch %d", st.Runs, st.MaxBatch)
	}
	if st.MaxBatch > 32 {
		t.Errorf("a run of %d rows exceeds --max-batch 32", st.MaxBatch)
	}
	for i := range clients {
		if bodies[i] != nil {
			decodePNG(t, bodies[i])
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if q := r.srv.Batcher().Queued(); q != 0 {
		t.Errorf("%d images still queued after shutdown", q)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutine leak: %d before, %d after shutdown\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// waitQueued polls until the batcher holds want images.
func waitQueued(t *testing.T, b *Batcher, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.Queued() != want {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d images, want %d", b.Queued(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestQueueFull(t *testing.T) {
	m := tinyModel(t)
	// A 2-image queue; the worker waits 500ms for a full batch, so a grid
	// of 2 holds the queue for that long.
	r := start(t, m, Config{Queue: 2, MaxBatch: 32, BatchWait: 500 * time.Millisecond})
	done := make(chan int, 1)
	go func() {
		resp, err := r.client.Get(r.url + "/v1/grid.png?n=2")
		if err != nil {
			done <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitQueued(t, r.srv.Batcher(), 2)
	code, hdr, body := r.get(t, "/v1/samples/1.png")
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("full queue: %d (Retry-After %q) %q, want 503 with Retry-After", code, hdr.Get("Retry-After"), body)
	}
	if code := <-done; code != 200 {
		t.Errorf("the queued grid got %d", code)
	}
	if code, _, _ := r.get(t, "/v1/grid.png?n=3"); code != 400 {
		t.Errorf("grid larger than the queue: %d, want 400", code)
	}
	if st := r.srv.Batcher().Stats(); st.Rejected != 1 {
		t.Errorf("rejected %d, want 1", st.Rejected)
	}
}

func TestTimeout(t *testing.T) {
	m := tinyModel(t)
	r := start(t, m, Config{Timeout: 50 * time.Millisecond, BatchWait: 400 * time.Millisecond})
	code, hdr, body := r.get(t, "/v1/samples/1.png")
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "timed out") {
		t.Errorf("timeout: %d %q", code, body)
	}
	// The abandoned job is skipped and its queue slot released.
	waitQueued(t, r.srv.Batcher(), 0)
}

// Shutdown drains a request that is waiting in the batcher.
func TestGracefulShutdownDrains(t *testing.T) {
	m := tinyModel(t)
	r := start(t, m, Config{BatchWait: 300 * time.Millisecond})
	done := make(chan int, 1)
	go func() {
		resp, err := r.client.Get(r.url + "/v1/samples/3.png")
		if err != nil {
			done <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitQueued(t, r.srv.Batcher(), 1)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 200 {
		t.Errorf("in-flight request during shutdown: %d, want 200", code)
	}
	if _, err := r.srv.Batcher().Generate(context.Background(), make([]float32, m.InSize()), 1); err != ErrClosed {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestConfigErrors(t *testing.T) {
	m := tinyModel(t)
	for _, c := range []Config{{MaxBatch: -1}, {Queue: -5}, {Queue: 8, MaxGrid: 16}} {
		if s, err := New(m, c); err == nil {
			s.Close()
			t.Errorf("%+v: no error", c)
		}
	}
}
