package main

import (
	"fmt"
	"os"

	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/urfave/cli/v2"
)

func scoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "score",
		Usage:     "run the discriminator (eval mode) on images and write its logits",
		ArgsUsage: "MODEL (.safetensors checkpoint, training run folder or discriminator.onnx)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "images", Required: true, Usage: "float32 [N, 3, H, W] .npy with values in [-1, 1]"},
			&cli.StringFlag{Name: "raw", Usage: "write the logits as float32 [N, 1] .npy"},
			batchFlag(),
		}, runtimeFlags()...),
		Action: runScore,
	}
}

func runScore(c *cli.Context) error {
	path, err := oneArg(c, "MODEL")
	if err != nil {
		return err
	}
	m, err := openModel(c, path, engine.Discriminator)
	if err != nil {
		return err
	}
	defer m.Close()
	imgPath := c.String("images")
	images, shape, err := npy.ReadFloat32(imgPath)
	if err != nil {
		return err
	}
	s := m.Config().ImageSize
	if len(shape) != 4 || shape[1] != 3 || shape[2] != s || shape[3] != s {
		return fmt.Errorf("%s: images have shape %v, the model needs [N, 3, %d, %d]", imgPath, shape, s, s)
	}
	n := shape[0]
	logits, err := runBatches(m, images, n, batchSize(c, m.Config().ImageSize), "scoring")
	if err != nil {
		return err
	}
	if raw := c.String("raw"); raw != "" {
		if err := npy.WriteFloat32(raw, logits, []int{n, 1}); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s [%d, 1]\n", raw, n)
		return nil
	}
	for i, v := range logits {
		fmt.Printf("%d\t%g\n", i, v)
	}
	return nil
}
