package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metrics writes the server's state in the Prometheus text exposition
// format (version 0.0.4): what operators scrape and what the page polls.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	perModel := func(name, typ, help string, value func(*served, Stats) float64) {
		family(name, typ, help)
		for _, m := range s.models {
			fmt.Fprintf(&b, "%s{model=%s} %s\n", name, quoteLabel(m.info.Name), formatValue(value(m, m.b.Stats())))
		}
	}
	family("tgan_serve_model_info", "gauge", "Served models (value 1), with their backend, weights and image size.")
	for _, m := range s.models {
		fmt.Fprintf(&b, "tgan_serve_model_info{model=%s,backend=%s,weights=%s,image_size=\"%d\"} 1\n",
			quoteLabel(m.info.Name), quoteLabel(m.info.Backend), quoteLabel(m.info.Weights), m.size)
	}
	perModel("tgan_serve_queued_images", "gauge", "Images accepted and not yet answered.",
		func(m *served, _ Stats) float64 { return float64(m.b.Queued()) })
	perModel("tgan_serve_queue_capacity_images", "gauge", "Most images queued before requests get 503 (--queue).",
		func(*served, Stats) float64 { return float64(s.cfg.Queue) })
	perModel("tgan_serve_batches_total", "counter", "Batches formed from concurrent requests.",
		func(_ *served, st Stats) float64 { return float64(st.Rounds) })
	perModel("tgan_serve_runs_total", "counter", "Forward passes of the model (a batch runs in chunks of --max-batch).",
		func(_ *served, st Stats) float64 { return float64(st.Runs) })
	perModel("tgan_serve_images_total", "counter", "Images generated.",
		func(_ *served, st Stats) float64 { return float64(st.Images) })
	perModel("tgan_serve_requests_total", "counter", "Requests answered with images.",
		func(_ *served, st Stats) float64 { return float64(st.Requests) })
	perModel("tgan_serve_rejected_total", "counter", "Requests refused because the queue was full (503).",
		func(_ *served, st Stats) float64 { return float64(st.Rejected) })
	perModel("tgan_serve_busy_seconds_total", "counter", "Seconds spent in the model's forward passes.",
		func(_ *served, st Stats) float64 { return st.Busy.Seconds() })
	perModel("tgan_serve_largest_batch_images", "gauge", "Most images in one forward pass so far.",
		func(_ *served, st Stats) float64 { return float64(st.MaxBatch) })
	family("tgan_serve_http_responses_total", "counter", "HTTP responses by route and status code.")
	for _, c := range s.codes.snapshot() {
		fmt.Fprintf(&b, "tgan_serve_http_responses_total{route=%s,code=\"%d\"} %d\n", quoteLabel(c.route), c.code, c.n)
	}
	family("tgan_serve_uptime_seconds", "gauge", "Seconds since the server started.")
	fmt.Fprintf(&b, "tgan_serve_uptime_seconds %s\n", formatValue(time.Since(s.started).Seconds()))
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}

// quoteLabel quotes a label value with the format's three escapes.
func quoteLabel(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// responseCounter counts responses by route pattern and status code.
type responseCounter struct {
	mu sync.Mutex
	n  map[routeCode]int64
}

type routeCode struct {
	route string
	code  int
}

type routeCount struct {
	routeCode
	n int64
}

func (c *responseCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		// ServeMux sets r.Pattern on the request it was given.
		route := r.Pattern
		if _, path, ok := strings.Cut(route, " "); ok {
			route = path
		}
		if route == "" {
			route = "unmatched"
		}
		c.mu.Lock()
		if c.n == nil {
			c.n = map[routeCode]int64{}
		}
		c.n[routeCode{route, sw.code}]++
		c.mu.Unlock()
	})
}

func (c *responseCounter) snapshot() []routeCount {
	c.mu.Lock()
	out := make([]routeCount, 0, len(c.n))
	for k, n := range c.n {
		out = append(out, routeCount{k, n})
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b routeCount) int {
		if a.route != b.route {
			return strings.Compare(a.route, b.route)
		}
		return a.code - b.code
	})
	return out
}

type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// modelsAnswer is GET /v1/models: the models (the first is the default)
// and the request limits the page builds its controls from.
type modelsAnswer struct {
	Default  string `json:"default"`
	Models   []Info `json:"models"`
	MaxGrid  int    `json:"max_grid"`
	MaxSteps int    `json:"max_steps"`
	MaxScale int    `json:"max_scale"`
}

func (s *Server) modelList(w http.ResponseWriter, r *http.Request) {
	a := modelsAnswer{Default: s.models[0].info.Name, MaxGrid: s.cfg.MaxGrid, MaxSteps: s.cfg.MaxGrid, MaxScale: s.cfg.MaxScale}
	for _, m := range s.models {
		a.Models = append(a.Models, m.info)
	}
	writeJSON(w, a)
}

func (s *Server) modelInfo(w http.ResponseWriter, r *http.Request, m *served) { writeJSON(w, m.info) }

func writeJSON(w http.ResponseWriter, v any) {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(js, '\n'))
}
