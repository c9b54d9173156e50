// Command loadtest drives a running `tgan serve` with many concurrent
// clients for a bounded time and prints how every request ended, p50/p99
// latency of the answered ones and images/s:
//
//	tgan serve model.safetensors --addr 127.0.0.1:8080 &
//	go run ./tools/loadtest -url http://127.0.0.1:8080 -clients 64 -duration 10s
//
// It exits non-zero when a request is neither answered (200) nor cleanly
// refused (429/503).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "base URL of tgan serve")
	clients := flag.Int("clients", 64, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to send requests")
	grid := flag.Int("grid", 4, "every 4th request asks for a grid of this many images (0: samples only)")
	flag.Parse()
	var (
		mu       sync.Mutex
		ok, ref  int
		images   int
		lat      []time.Duration
		failures = map[string]int{}
		next     atomic.Int64
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients}, Timeout: time.Minute}
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range *clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := next.Add(1)
				path, n := fmt.Sprintf("/v1/samples/%d.png", i), 1
				if *grid > 0 && i%4 == 0 {
					path, n = fmt.Sprintf("/v1/grid.png?n=%d&seed=%d", *grid, i), *grid
				}
				t0 := time.Now()
				resp, err := client.Get(*url + path)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				mu.Lock()
				refused := false
				switch {
				case err != nil:
					failures[errKind(err)]++
				case resp.StatusCode == http.StatusOK:
					ok, images, lat = ok+1, images+n, append(lat, d)
				case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
					ref, refused = ref+1, true
				default:
					failures[resp.Status]++
				}
				mu.Unlock()
				if refused {
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("clients %d, %v: %d answered, %d refused (429/503), %d failed\n", *clients, elapsed.Round(time.Millisecond), ok, ref, len(failures))
	fmt.Printf("latency p50 %v, p99 %v; %.1f images/s, %.1f answered requests/s\n",
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), float64(images)/elapsed.Seconds(), float64(ok)/elapsed.Seconds())
	for f, n := range failures {
		fmt.Printf("failed: %dx %s\n", n, f)
	}
	if len(failures) > 0 {
		os.Exit(1)
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
