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

	"github.com/tgan-dev/tgan/internal/engine"
	"github.com/tgan-dev/tgan/internal/serve"
	"github.com/urfave/cli/v2"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve generated images over HTTP (GET /v1/samples/{seed}.png, /v1/grid.png?n=16&seed=1, /healthz)",
		ArgsUsage: "MODEL (.safetensors checkpoint, training run folder or generator.onnx)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.IntFlag{Name: "max-batch", Value: 32, Usage: "most images per forward pass (concurrent requests are batched)"},
			&cli.DurationFlag{Name: "batch-wait", Value: serveDefaultWait, Usage: "how long to wait for more requests to fill a batch"},
			&cli.IntFlag{Name: "queue", Value: 256, Usage: "most images waiting or in progress; beyond it requests get 503 + Retry-After (at least 64, the largest grid)"},
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
	path, err := oneArg(c, "MODEL")
	if err != nil {
		return err
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
	m, err := openModel(c, path, engine.Generator)
	if err != nil {
		return err
	}
	defer m.Close()
	srv, err := serve.New(m, serve.Config{
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
	cfg := m.Config()
	fmt.Fprintf(os.Stderr, "serving %s (%dx%d, latent %d) on http://%s  (Ctrl-C to stop)\n",
		path, cfg.ImageSize, cfg.ImageSize, cfg.LatentDim, ln.Addr())
	err = srv.Serve(ctx, ln)
	fmt.Fprintln(os.Stderr, "serve: stopped")
	return err
}
