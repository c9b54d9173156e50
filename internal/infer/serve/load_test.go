package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	neturl "net/url"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/model"
)

// loadModel opens a random tiny-preset generator (Gorgonia, CPU); it works
// for tests and benchmarks alike.
func loadModel(tb testing.TB) engine.Model {
	tb.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	ck := &checkpoint.Checkpoint{Config: cfg, Gen: model.InitWeights(cfg.GParams(), rng),
		Dis: model.InitWeights(cfg.DParams(), rng)}
	path := filepath.Join(tb.TempDir(), "tiny.safetensors")
	if err := checkpoint.Save(path, ck); err != nil {
		tb.Fatal(err)
	}
	m, err := engine.Open(path, engine.Generator, engine.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// loadServer serves m on loopback; stop shuts it down gracefully.
func loadServer(tb testing.TB, m engine.Model, cfg Config) (srv *Server, url string, stop func() error) {
	tb.Helper()
	srv, err := New(m, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() { cancel(); serr = <-done; srv.Close() })
		return serr
	}
	tb.Cleanup(func() { stop() })
	return srv, "http://" + ln.Addr().String(), stop
}

// loadStats collects what the clients saw.
type loadStats struct {
	mu       sync.Mutex
	ok       int             // 200
	refused  int             // 429 or 503
	other    map[string]int  // anything else, by status or error
	latency  []time.Duration // of the 200s
	images   int             // images in the 200s
	requests atomic.Int64
}

// do sends one request (every 4th a grid of 4, else one sample) and records it.
func (s *loadStats) do(client *http.Client, url string, i int64) {
	path, n := fmt.Sprintf("/v1/samples/%d.png", i), 1
	if i%4 == 0 {
		path, n = fmt.Sprintf("/v1/grid.png?n=4&seed=%d", i), 4
	}
	t0 := time.Now()
	resp, err := client.Get(url + path)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	d := time.Since(t0)
	if s.record(resp, err, d, n) {
		time.Sleep(5 * time.Millisecond) // refused: back off a little, as Retry-After asks
	}
}

// record counts one response; it reports whether it was a refusal.
func (s *loadStats) record(resp *http.Response, err error, d time.Duration, n int) (refused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		s.other[errKind(err)]++
	case resp.StatusCode == http.StatusOK:
		s.ok++
		s.images += n
		s.latency = append(s.latency, d)
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		s.refused++
		return true
	default:
		s.other[resp.Status]++
	}
	return false
}

func (s *loadStats) percentile(p float64) time.Duration {
	if len(s.latency) == 0 {
		return 0
	}
	l := slices.Clone(s.latency)
	slices.Sort(l)
	return l[min(len(l)-1, int(p*float64(len(l))))]
}

// runLoad runs clients goroutines against url until d has passed.
func runLoad(url string, clients int, d time.Duration) *loadStats {
	s := &loadStats{other: map[string]int{}}
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				s.do(client, url, s.requests.Add(1))
			}
		})
	}
	wg.Wait()
	return s
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestServeUnderLoad runs 64 concurrent clients for a bounded time against
// a small queue: every request must be answered 200 or refused with 503/429,
// the heap must come back, and no goroutine may be left after shutdown.
func TestServeUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs clients for several seconds")
	}
	m := loadModel(t)
	const maxBatch, clients, d = 16, 64, 4 * time.Second
	// The Gorgonia engine keeps one graph per batch size: build them all
	// first, so that the heap measured below must stay flat under load.
	for n := 1; n <= maxBatch; n++ {
		if _, err := m.Run(make([]float32, n*m.InSize()), n); err != nil {
			t.Fatal(err)
		}
	}
	heap := heapAfterGC()
	goroutines := runtime.NumGoroutine()
	srv, url, stop := loadServer(t, m, Config{MaxBatch: maxBatch, Queue: 32, MaxGrid: 4, Timeout: 5 * time.Second})
	start := time.Now()
	s := runLoad(url, clients, d)
	elapsed := time.Since(start)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	st := srv.Batcher().Stats()
	t.Logf("%d clients, %v: %d answered, %d refused (503/429), p50 %v, p99 %v, %.1f images/s; batcher %+v",
		clients, elapsed.Round(time.Millisecond), s.ok, s.refused, s.percentile(0.5), s.percentile(0.99),
		float64(s.images)/elapsed.Seconds(), st)
	if len(s.other) > 0 {
		t.Errorf("requests neither answered nor cleanly refused: %v", s.other)
	}
	if s.ok == 0 {
		t.Errorf("no request answered")
	}
	if q := srv.Batcher().Queued(); q != 0 {
		t.Errorf("%d images still queued after shutdown", q)
	}
	after := heapAfterGC()
	t.Logf("heap after warm-up %d MiB, after the load and shutdown %d MiB", heap>>20, after>>20)
	if grown := int64(after) - int64(heap); grown > 32<<20 {
		t.Errorf("heap grew by %d MiB under load", grown>>20)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > goroutines+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+1 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutine leak: %d before, %d after\n%s", goroutines, n, buf[:runtime.Stack(buf, true)])
	}
}

// BenchmarkServeLoad measures the served tiny generator on loopback with
// 1, 8 and 32 concurrent clients per CPU (one request per b.N); it reports p50/p99
// latency, images/s and refusals per request.
//
//	go test -run '^$' -bench ServeLoad -benchtime 2000x ./internal/infer/serve
func BenchmarkServeLoad(b *testing.B) {
	m := loadModel(b)
	for _, perCPU := range []int{1, 8, 32} {
		clients := perCPU * runtime.GOMAXPROCS(0) // RunParallel's goroutines
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			srv, url, stop := loadServer(b, m, Config{MaxBatch: 32, Queue: 256, MaxGrid: 4})
			s := &loadStats{other: map[string]int{}}
			tr := &http.Transport{MaxIdleConnsPerHost: clients}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			b.SetParallelism(perCPU)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s.do(client, url, s.requests.Add(1))
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			stop()
			if len(s.other) > 0 {
				b.Errorf("failed requests: %v", s.other)
			}
			b.ReportMetric(float64(s.percentile(0.5).Microseconds())/1e3, "p50-ms")
			b.ReportMetric(float64(s.percentile(0.99).Microseconds())/1e3, "p99-ms")
			b.ReportMetric(float64(s.images)/elapsed.Seconds(), "images/s")
			b.ReportMetric(float64(s.refused)/float64(b.N), "refused/op")
			b.ReportMetric(float64(srv.Batcher().Stats().MaxBatch), "max-batch")
		})
	}
}

// errKind is err without the request URL, so that failures group by cause.
func errKind(err error) string {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
