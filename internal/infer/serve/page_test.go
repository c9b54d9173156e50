package serve

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math/rand"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/model"
)

// writeTiny saves a tiny-preset checkpoint with weights from seed and the
// given metadata, and returns its path.
func writeTiny(t *testing.T, seed int64, meta map[string]string) string {
	t.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed))
	ck := &checkpoint.Checkpoint{Config: cfg, Gen: model.InitWeights(cfg.GParams(), rng),
		AvgGen: model.InitWeights(cfg.GParams(), rng), Meta: meta}
	path := filepath.Join(t.TempDir(), "tiny.safetensors")
	if err := checkpoint.Save(path, ck); err != nil {
		t.Fatal(err)
	}
	return path
}

// twoModels serves two tiny checkpoints with different weights as "a"
// (trained 42 steps, EMA) and "b" (raw weights).
func twoModels(t *testing.T, cfg Config) *running {
	t.Helper()
	var models []Model
	for i, c := range []struct {
		name string
		raw  bool
	}{{"a", false}, {"b", true}} {
		path := writeTiny(t, int64(10+i), map[string]string{checkpoint.MetaState: `{"g_steps": 42}`})
		m, info, err := Open(path, engine.Options{RawGenerator: c.raw})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		info.Name = c.name
		models = append(models, Model{Model: m, Info: info})
	}
	srv, err := NewModels(models, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return serveServer(t, srv)
}

func TestNames(t *testing.T) {
	got := Names([]string{"runA/ckpt.safetensors", "runB/ckpt.safetensors", "x/generator.onnx", "runs/demo", "a b+c.onnx", "ckpt-2.onnx"})
	want := []string{"ckpt", "ckpt-2", "generator", "demo", "a-b-c", "ckpt-2-2"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Names: %v, want %v", got, want)
	}
}

func TestOpenInfo(t *testing.T) {
	path := writeTiny(t, 3, map[string]string{checkpoint.MetaState: `{"g_steps": 1900, "iteration": 3800}`})
	for _, c := range []struct {
		raw     bool
		weights string
	}{{false, "ema"}, {true, "raw"}} {
		m, info, err := Open(path, engine.Options{RawGenerator: c.raw})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		if info.Weights != c.weights || info.Step == nil || *info.Step != 1900 || info.ImageSize != 16 ||
			info.File != "tiny.safetensors" || !strings.Contains(info.Architecture, "16x16") || !strings.HasPrefix(info.Backend, "gorgonia") {
			t.Errorf("raw=%v: %+v", c.raw, info)
		}
	}
	m, info, err := Open(writeTiny(t, 4, nil), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if info.Step != nil {
		t.Errorf("no trainer state: step %d, want nil", *info.Step)
	}
	if _, _, err := Open(filepath.Join(t.TempDir(), "missing.safetensors"), engine.Options{}); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: %v", err)
	}
}

func TestModelsJSON(t *testing.T) {
	r := twoModels(t, Config{MaxGrid: 32})
	code, hdr, body := r.get(t, "/v1/models")
	var list modelsAnswer
	if err := json.Unmarshal(body, &list); code != 200 || err != nil || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("/v1/models: %d %v %s", code, err, body)
	}
	if list.Default != "a" || len(list.Models) != 2 || list.Models[1].Name != "b" || list.MaxGrid != 32 || list.MaxScale != 8 {
		t.Errorf("/v1/models: %+v", list)
	}
	code, _, body = r.get(t, "/v1/models/b")
	var b Info
	if err := json.Unmarshal(body, &b); code != 200 || err != nil {
		t.Fatalf("/v1/models/b: %d %v %s", code, err, body)
	}
	if b.Weights != "raw" || b.Step == nil || *b.Step != 42 || b.Config == nil || b.Config.LatentDim != b.LatentDim {
		t.Errorf("/v1/models/b: %+v", b)
	}
}

// tiles cuts a grid PNG (1-pixel padding) into its tiles.
func tiles(t *testing.T, body []byte, n, cols, side int) []image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not a PNG: %v (%q)", err, body[:min(len(body), 80)])
	}
	rows := (n + cols - 1) / cols
	if b := img.Bounds(); b.Dx() != cols*(side+1)+1 || b.Dy() != rows*(side+1)+1 {
		t.Fatalf("grid is %dx%d, want %dx%d", b.Dx(), b.Dy(), cols*(side+1)+1, rows*(side+1)+1)
	}
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	out := make([]image.Image, n)
	for i := range out {
		x, y := 1+(i%cols)*(side+1), 1+(i/cols)*(side+1)
		out[i] = sub.SubImage(image.Rect(x, y, x+side, y+side))
	}
	return out
}

// pixelsDiffer counts pixels whose channels differ by more than 1 level.
func pixelsDiffer(a, b image.Image) int {
	n := 0
	ab, bb := a.Bounds(), b.Bounds()
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			if max(absDiff(r1, r2), absDiff(g1, g2), absDiff(b1, b2)) > 257 {
				n++
			}
		}
	}
	return n
}

func decodeImage(t *testing.T, body []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not a PNG: %v (%q)", err, body[:min(len(body), 80)])
	}
	return img
}

// The interpolation strip starts at sample a and ends at sample b, of the
// model named in the URL; the model-less URLs answer for the first model.
func TestInterpolateAndModels(t *testing.T) {
	r := twoModels(t, Config{BatchWait: -1})
	const side = 16
	for _, name := range []string{"a", "b"} {
		_, _, strip := r.get(t, "/v1/models/"+name+"/interpolate.png?a=3&b=9&k=5")
		ts := tiles(t, strip, 5, 5, side)
		_, _, s3 := r.get(t, "/v1/models/"+name+"/samples/3.png")
		_, _, s9 := r.get(t, "/v1/models/"+name+"/samples/9.png")
		if d := pixelsDiffer(ts[0], decodeImage(t, s3)); d > 0 {
			t.Errorf("%s: first frame differs from sample 3 in %d pixels", name, d)
		}
		if d := pixelsDiffer(ts[4], decodeImage(t, s9)); d > 0 {
			t.Errorf("%s: last frame differs from sample 9 in %d pixels", name, d)
		}
		if pixelsDiffer(ts[2], ts[0]) == 0 || pixelsDiffer(ts[2], ts[4]) == 0 {
			t.Errorf("%s: the middle frame equals an end", name)
		}
	}
	_, _, a := r.get(t, "/v1/models/a/grid.png?n=4&seed=7")
	_, _, b := r.get(t, "/v1/models/b/grid.png?n=4&seed=7")
	_, _, def := r.get(t, "/v1/grid.png?n=4&seed=7")
	if bytes.Equal(a, b) {
		t.Error("models a and b gave the same grid")
	}
	if !bytes.Equal(a, def) {
		t.Error("/v1/grid.png is not model a's grid")
	}
	_, _, defStrip := r.get(t, "/v1/interpolate.png?a=3&b=9&k=5")
	_, _, aStrip := r.get(t, "/v1/models/a/interpolate.png?a=3&b=9&k=5")
	if !bytes.Equal(defStrip, aStrip) {
		t.Error("/v1/interpolate.png is not model a's strip")
	}
	code, _, scaled := r.get(t, "/v1/models/b/interpolate.png?k=2&scale=3")
	if img := decodeImage(t, scaled); code != 200 || img.Bounds().Dx() != 2*(3*side+1)+1 || img.Bounds().Dy() != 3*side+2 {
		t.Errorf("k=2 scale=3: %d %v", code, img.Bounds())
	}
}

func TestBadInputMultiModel(t *testing.T) {
	r := twoModels(t, Config{MaxGrid: 16})
	for _, c := range []struct {
		path string
		code int
		want string // in the one-line reason
	}{
		{"/v1/models/nope", 404, `unknown model "nope": this server has a, b`},
		{"/v1/models/nope/grid.png", 404, `unknown model "nope"`},
		{"/v1/models/nope/samples/1.png", 404, `unknown model "nope"`},
		{"/v1/models/nope/interpolate.png", 404, `unknown model "nope"`},
		{"/v1/models/b/grid.png?n=17", 400, `n="17": want an integer from 1 to 16`},
		{"/v1/models/b/grid.png?n=1e3", 400, `n="1e3"`},
		{"/v1/models/b/grid.png?seed=-4", 400, `seed="-4"`},
		{"/v1/models/b/grid.png?seed=9223372036854775808", 400, `seed="9223372036854775808"`},
		{"/v1/models/b/samples/-1.png", 400, `seed "-1"`},
		{"/v1/models/b/samples/1.png?scale=0", 400, `scale="0"`},
		{"/v1/models/b/interpolate.png?a=-1", 400, `a="-1"`},
		{"/v1/models/b/interpolate.png?b=x", 400, `b="x"`},
		{"/v1/models/b/interpolate.png?k=1", 400, `k="1": want an integer from 2 to 16`},
		{"/v1/models/b/interpolate.png?k=17", 400, `k="17"`},
		{"/v1/interpolate.png?k=999999999999999999999", 400, `k="999999999999999999999"`},
		{"/v1/models/b/grid.png?n=%zz", 400, "malformed query"},
		{"/v1/models/b/grid.png?n=4;seed=2", 400, "malformed query"},
		{"/v1/models/b/grid.png?sede=3", 400, `unknown parameter "sede": this endpoint takes n, seed, cols, scale`},
		{"/v1/models/b/interpolate.png?a=1&a=2", 400, `parameter "a" given 2 times`},
		{"/v1/samples/1.png?n=4", 400, `unknown parameter "n"`},
	} {
		code, _, body := r.get(t, c.path)
		msg := strings.TrimSuffix(string(body), "\n")
		if code != c.code || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: %d %q, want %d with one line containing %q", c.path, code, msg, c.code, c.want)
		}
	}
}

// The interpolation endpoint goes through the batcher: a full queue gives
// 503 with Retry-After, like the others.
func TestInterpolateQueueFull(t *testing.T) {
	m := tinyModel(t)
	r := start(t, m, Config{Queue: 4, MaxGrid: 4, BatchWait: 500 * time.Millisecond})
	done := make(chan int, 1)
	go func() {
		resp, err := r.client.Get(r.url + "/v1/interpolate.png?k=4")
		if err != nil {
			done <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitQueued(t, r.srv.Batcher(), 4)
	code, hdr, body := r.get(t, "/v1/models/model/interpolate.png?k=2")
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "busy") {
		t.Errorf("full queue: %d (Retry-After %q) %q, want 503 with Retry-After", code, hdr.Get("Retry-After"), body)
	}
	if code := <-done; code != 200 {
		t.Errorf("the queued strip got %d", code)
	}
}

// /metrics is valid Prometheus text format (parsed by Prometheus' own
// parser) and counts what was served.
func TestMetricsPrometheus(t *testing.T) {
	r := twoModels(t, Config{})
	r.get(t, "/v1/models/a/grid.png?n=4")
	r.get(t, "/v1/models/b/interpolate.png?k=3")
	r.get(t, "/v1/models/b/samples/5.png")
	r.get(t, "/v1/models/b/grid.png?n=0")
	r.get(t, "/v1/models/zzz/grid.png")
	code, hdr, body := r.get(t, "/metrics")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %s", code, hdr.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(prommodel.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not Prometheus text format: %v\n%s", err, body)
	}
	value := func(name string, labels ...string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no %s in\n%s", name, body)
		}
	next:
		for _, m := range f.Metric {
			for i := 0; i < len(labels); i += 2 {
				if label(m, labels[i]) != labels[i+1] {
					continue next
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tgan_serve_images_total", []string{"model", "a"}, 4},
		{"tgan_serve_images_total", []string{"model", "b"}, 4},
		{"tgan_serve_requests_total", []string{"model", "b"}, 2},
		{"tgan_serve_queued_images", []string{"model", "a"}, 0},
		{"tgan_serve_queue_capacity_images", []string{"model", "b"}, 256},
		{"tgan_serve_rejected_total", []string{"model", "a"}, 0},
		{"tgan_serve_model_info", []string{"model", "b", "weights", "raw", "image_size", "16"}, 1},
		{"tgan_serve_http_responses_total", []string{"route", "/v1/models/{model}/grid.png", "code", "200"}, 1},
		{"tgan_serve_http_responses_total", []string{"route", "/v1/models/{model}/grid.png", "code", "400"}, 1},
		{"tgan_serve_http_responses_total", []string{"route", "/v1/models/{model}/grid.png", "code", "404"}, 1},
	} {
		if got := value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if fams["tgan_serve_batches_total"].GetType() != dto.MetricType_COUNTER || fams["tgan_serve_queued_images"].GetType() != dto.MetricType_GAUGE {
		t.Error("wrong metric types")
	}
	if v := value("tgan_serve_batches_total", "model", "b"); v < 1 || v > 2 {
		t.Errorf("model b: %v batches for 2 requests", v)
	}
	if v := value("tgan_serve_busy_seconds_total", "model", "a"); v <= 0 {
		t.Errorf("busy seconds %v", v)
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// The page is self-contained: no external script, style or image.
func TestPageSelfContained(t *testing.T) {
	r := twoModels(t, Config{})
	code, hdr, body := r.get(t, "/")
	page := string(body)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(page, "<script>") {
		t.Fatalf("/: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, bad := range []string{"http://", "https://", "src=\"//", "<link", "<script src"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page refers to something outside the binary: %q", bad)
		}
	}
	for _, endpoint := range []string{"/v1/models", "grid.png", "interpolate.png", "samples/", "/metrics"} {
		if !strings.Contains(page, endpoint) {
			t.Errorf("the page does not use %s", endpoint)
		}
	}
}

// The per-request timeout holds for a strip too: 503 with Retry-After and
// the abandoned rows leave the queue.
func TestInterpolateTimeout(t *testing.T) {
	m := tinyModel(t)
	r := start(t, m, Config{Timeout: 50 * time.Millisecond, BatchWait: 400 * time.Millisecond})
	code, hdr, body := r.get(t, "/v1/interpolate.png?a=1&b=2&k=4")
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "timed out") {
		t.Errorf("timeout: %d %q", code, body)
	}
	waitQueued(t, r.srv.Batcher(), 0)
}

func TestNewModelsErrors(t *testing.T) {
	m := tinyModel(t)
	info := describe(Info{Name: "x"}, m)
	bad := info
	bad.Name = "a/b"
	for _, c := range []struct {
		models []Model
		want   string
	}{
		{nil, "no model"},
		{[]Model{{m, info}, {m, info}}, `two models named "x"`},
		{[]Model{{m, bad}}, `model name "a/b"`},
	} {
		s, err := NewModels(c.models, Config{})
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d models: %v, want %q", len(c.models), err, c.want)
		}
	}
}
