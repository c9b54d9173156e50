package serve

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tgan-dev/tgan/internal/infer/engine"
)

// ErrQueueFull is returned by Generate when accepting the request would put
// more images in the queue than its capacity.
var ErrQueueFull = errors.New("queue full")

// ErrClosed is returned by Generate once the batcher is closed.
var ErrClosed = errors.New("server shutting down")

// BatcherConfig tunes dynamic batching.
type BatcherConfig struct {
	// MaxBatch is the most latent rows collected for one round; a round
	// runs the model in chunks of at most MaxBatch rows.
	MaxBatch int
	// BatchWait is how long the worker waits for more requests after the
	// first one of a round arrives.
	BatchWait time.Duration
	// Queue is the most images accepted and not yet answered (waiting or
	// being generated); requests beyond it fail with ErrQueueFull.
	Queue int
	// Log, if not nil, gets one line per round, at most every LogEvery.
	Log      *log.Logger
	LogEvery time.Duration
	// Name labels the log lines (the model's name; "" for none).
	Name string
}

// Stats count what the batcher has done.
type Stats struct {
	Runs     int64 // engine.Run calls
	Rounds   int64 // batches formed (one or more Runs each)
	Images   int64 // images generated
	Requests int64 // requests answered by a round
	Rejected int64 // requests refused with ErrQueueFull
	MaxBatch int64 // largest number of rows in one engine.Run
	MaxJobs  int64 // most requests batched into one round
	// Busy is the time spent in engine.Run: Images/Busy is the model's
	// throughput while it works, whatever the load.
	Busy time.Duration
}

type result struct {
	out []float32
	err error
}

type job struct {
	ctx  context.Context
	z    []float32
	n    int
	done chan result // buffered: the worker never blocks on it
}

// Batcher owns an engine.Model (which is not safe for concurrent use) and
// runs it from a single worker goroutine, merging concurrent requests into
// one engine.Run.
type Batcher struct {
	m      engine.Model
	cfg    BatcherConfig
	in     int // latent values per row
	out    int // output values per row
	jobs   chan *job
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex // guards queued and closed
	queued int
	closed bool

	runs, rounds, images, requests, rejected, maxBatch, maxJobs atomic.Int64
	busyNanos                                                   atomic.Int64
	lastLog                                                     time.Time
}

// NewBatcher starts the worker for m. Close stops it; the caller closes m
// afterwards.
func NewBatcher(m engine.Model, cfg BatcherConfig) (*Batcher, error) {
	if cfg.MaxBatch < 1 {
		return nil, fmt.Errorf("max batch %d: must be at least 1", cfg.MaxBatch)
	}
	if cfg.Queue < 1 {
		return nil, fmt.Errorf("queue %d: must be at least 1", cfg.Queue)
	}
	if cfg.BatchWait < 0 {
		return nil, fmt.Errorf("batch wait %v: must not be negative", cfg.BatchWait)
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 5 * time.Second
	}
	b := &Batcher{
		m: m, cfg: cfg, in: m.InSize(), out: m.OutSize(),
		// Every job holds at least one image, so Queue jobs fit.
		jobs: make(chan *job, cfg.Queue),
		stop: make(chan struct{}),
	}
	b.wg.Add(1)
	go b.worker()
	return b, nil
}

// Generate runs the n latent rows z through the model, batched with other
// requests, and returns the n outputs. It fails fast with ErrQueueFull when
// the queue has no room for n more images, and returns ctx.Err() if ctx ends
// first.
func (b *Batcher) Generate(ctx context.Context, z []float32, n int) ([]float32, error) {
	if n < 1 || len(z) != n*b.in {
		return nil, fmt.Errorf("generate: %d values for %d rows of %d", len(z), n, b.in)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	if b.queued+n > b.cfg.Queue {
		b.mu.Unlock()
		b.rejected.Add(1)
		return nil, ErrQueueFull
	}
	b.queued += n
	j := &job{ctx: ctx, z: z, n: n, done: make(chan result, 1)}
	b.jobs <- j // never blocks: at most Queue jobs are in the system
	b.mu.Unlock()

	select {
	case r := <-j.done:
		return r.out, r.err
	case <-ctx.Done():
		// The worker skips or finishes the job and releases its slots.
		return nil, ctx.Err()
	}
}

// Queued is the number of images accepted and not yet answered.
func (b *Batcher) Queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queued
}

// Stats returns a snapshot of the counters.
func (b *Batcher) Stats() Stats {
	return Stats{
		Runs: b.runs.Load(), Rounds: b.rounds.Load(), Images: b.images.Load(), Requests: b.requests.Load(),
		Rejected: b.rejected.Load(), MaxBatch: b.maxBatch.Load(), MaxJobs: b.maxJobs.Load(),
		Busy: time.Duration(b.busyNanos.Load()),
	}
}

// Close refuses new requests, fails the ones still queued with ErrClosed
// and waits for the worker to stop. Call it after the HTTP server has
// drained its requests.
func (b *Batcher) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.wg.Wait()
	for {
		select {
		case j := <-b.jobs:
			b.finish([]*job{j}, nil, ErrClosed)
		default:
			return
		}
	}
}

func (b *Batcher) worker() {
	defer b.wg.Done()
	var carry *job
	for {
		var first *job
		if carry != nil {
			first, carry = carry, nil
		} else {
			select {
			case first = <-b.jobs:
			case <-b.stop:
				return
			}
		}
		batch := []*job{first}
		rows := first.n
		if rows < b.cfg.MaxBatch && b.cfg.BatchWait > 0 {
			timer := time.NewTimer(b.cfg.BatchWait)
		collect:
			for rows < b.cfg.MaxBatch {
				select {
				case j := <-b.jobs:
					if rows+j.n > b.cfg.MaxBatch {
						carry = j // starts the next round
						break collect
					}
					batch = append(batch, j)
					rows += j.n
				case <-timer.C:
					break collect
				case <-b.stop:
					break collect
				}
			}
			timer.Stop()
		}
		b.runRound(batch)
	}
}

// runRound runs the live jobs of batch through the model, in chunks of at
// most MaxBatch rows, and hands each job its slice of the output.
func (b *Batcher) runRound(batch []*job) {
	live := batch[:0:0]
	var rows int
	for _, j := range batch {
		if j.ctx.Err() != nil { // the client gave up: skip it
			b.finish([]*job{j}, nil, j.ctx.Err())
			continue
		}
		live = append(live, j)
		rows += j.n
	}
	if len(live) == 0 {
		return
	}
	z := make([]float32, 0, rows*b.in)
	for _, j := range live {
		z = append(z, j.z...)
	}
	out := make([]float32, 0, rows*b.out)
	for start := 0; start < rows; start += b.cfg.MaxBatch {
		n := min(b.cfg.MaxBatch, rows-start)
		t0 := time.Now()
		res, err := b.m.Run(z[start*b.in:(start+n)*b.in], n)
		b.busyNanos.Add(int64(time.Since(t0)))
		if err != nil {
			b.finish(live, nil, err)
			return
		}
		out = append(out, res...)
		b.runs.Add(1)
		storeMax(&b.maxBatch, int64(n))
	}
	b.rounds.Add(1)
	b.images.Add(int64(rows))
	b.requests.Add(int64(len(live)))
	storeMax(&b.maxJobs, int64(len(live)))
	b.finish(live, out, nil)
	if b.cfg.Log != nil && time.Since(b.lastLog) >= b.cfg.LogEvery {
		b.lastLog = time.Now()
		name := ""
		if b.cfg.Name != "" {
			name = " " + b.cfg.Name
		}
		b.cfg.Log.Printf("serve%s: batch of %d images (%d requests), %d images queued, %d runs so far",
			name, rows, len(live), b.Queued(), b.runs.Load())
	}
}

// finish answers jobs (out holds their rows in order, or err is set) and
// releases their queue slots.
func (b *Batcher) finish(jobs []*job, out []float32, err error) {
	off, released := 0, 0
	for _, j := range jobs {
		if err != nil {
			j.done <- result{err: err}
		} else {
			j.done <- result{out: out[off : off+j.n*b.out : off+j.n*b.out]}
			off += j.n * b.out
		}
		released += j.n
	}
	b.mu.Lock()
	b.queued -= released
	b.mu.Unlock()
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
