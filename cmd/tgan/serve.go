package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tgan-dev/tgan/internal/infer/serve"
	"github.com/urfave/cli/v2"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve generated images over HTTP: a page at /, PNGs, model JSON and /metrics",
		ArgsUsage: "MODEL... (.safetensors checkpoints, training run folders or generator.onnx files; each served under its file or folder name)",
		Description: `Open http://ADDR/ in a browser for the page: sample grids by seed, one sample
large, interpolation strips, several models side by side, download as PNG.

Endpoints (NAME is from /v1/models; without /models/{NAME} the first model answers):
  GET /v1/models                                 the models (JSON: architecture, weights, backend, step) and limits
  GET /v1/models/{NAME}                          one model (JSON)
  GET /v1/models/{NAME}/samples/{seed}.png?scale=2
  GET /v1/models/{NAME}/grid.png?n=16&seed=1&cols=4&scale=2    seeds seed..seed+n-1
  GET /v1/models/{NAME}/interpolate.png?a=1&b=2&k=8&scale=2    seed a to seed b in k steps
  GET /metrics                                   Prometheus text format (queue, batches, images)
  GET /healthz
Bad parameters get 400 naming the parameter, an unknown model 404, a full queue
or a timeout 503 with Retry-After. Each model has its own batcher and queue.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.IntFlag{Name: "max-batch", Value: 32, Usage: "most images per forward pass (concurrent requests are batched)"},
			&cli.DurationFlag{Name: "batch-wait", Value: serveDefaultWait, Usage: "how long to wait for more requests to fill a batch"},
			&cli.IntFlag{Name: "queue", Value: 256, Usage: "most images waiting or in progress, per model; beyond it requests get 503 + Retry-After (at least 64, the largest grid)"},
			&cli.DurationFlag{Name: "timeout", Value: serveDefaultTimeout, Usage: "per-request limit, queueing included (503 when passed)"},
			&cli.BoolFlag{Name: "raw-generator", Usage: "checkpoints: sample from the trained G instead of the EMA G"},
		}, runtimeFlags()...),
		Action: runServe,
	}
}

const (
	serveDefaultWait    = 5 * time.Millisecond
	serveDefaultTimeout = 30 * time.Second
)

func runServe(c *cli.Context) error {
	if c.NArg() == 0 {
		return fmt.Errorf("serve: want one or more MODEL arguments (see --help)")
	}
	if c.Int("queue") < 64 {
		return fmt.Errorf("--queue %d: must be at least 64 (the largest grid)", c.Int("queue"))
	}
	if c.Duration("timeout") <= 0 {
		return fmt.Errorf("--timeout %v: must be positive", c.Duration("timeout"))
	}
	wait := c.Duration("batch-wait")
	if wait == 0 {
		wait = -1 // no waiting (the serve package reads 0 as its default)
	} else if wait < 0 {
		return fmt.Errorf("--batch-wait %v: must not be negative", wait)
	}
	models, err := openServeModels(c, c.Args().Slice())
	if err != nil {
		return err
	}
	defer closeAll(models)
	srv, err := serve.NewModels(models, serve.Config{
		MaxBatch: c.Int("max-batch"), BatchWait: wait, Queue: c.Int("queue"), Timeout: c.Duration("timeout"),
		Log: log.New(os.Stderr, "", log.LstdFlags),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		srv.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, m := range models {
		i := m.Info
		fmt.Fprintf(os.Stderr, "model %s: %s (%dx%d, latent %d, weights %s)\n", i.Name, i.File, i.ImageSize, i.ImageSize, i.LatentDim, i.Weights)
	}
	fmt.Fprintf(os.Stderr, "serving %d model(s) on http://%s/  (Ctrl-C to stop)\n", len(models), ln.Addr())
	err = srv.Serve(ctx, ln)
	fmt.Fprintln(os.Stderr, "serve: stopped")
	return err
}

// openServeModels opens every path as a generator, named by its file stem
// (repeats get -2, -3, ...). On error the ones already open are closed.
func openServeModels(c *cli.Context, paths []string) ([]serve.Model, error) {
	opts, err := engineOptions(c)
	if err != nil {
		return nil, err
	}
	names := serve.Names(paths)
	var models []serve.Model
	for i, arg := range paths {
		path, err := resolveCheckpoint(arg)
		if err != nil {
			closeAll(models)
			return nil, err
		}
		announceLarge(path)
		m, info, err := serve.Open(path, opts)
		if err != nil {
			closeAll(models)
			return nil, err
		}
		reportBackend(m)
		info.Name = names[i]
		models = append(models, serve.Model{Model: m, Info: info})
	}
	return models, nil
}

func closeAll(models []serve.Model) {
	for _, m := range models {
		m.Model.Close()
	}
}
