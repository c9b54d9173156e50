package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tgan-dev/tgan/internal/eval/metrics"
	"github.com/urfave/cli/v2"
)

func fidCommand() *cli.Command {
	return &cli.Command{
		Name:      "fid",
		Usage:     "Fréchet distance between two statistics files (TTUR / pytorch-fid / tgan stats .npz)",
		ArgsUsage: "A.npz B.npz",
		Description: "Prints \"fid: VALUE\": ||mu1-mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr(sqrtm(S1 S2)), pytorch-fid's value,\n" +
			"with the trace of the square root from symmetric eigendecompositions (LAPACK) instead of scipy's sqrtm.",
		Action: runFID,
	}
}

func runFID(c *cli.Context) error {
	if c.NArg() != 2 {
		return errors.New("fid: want two statistics files A.npz B.npz (see --help)")
	}
	a, err := metrics.ReadStats(c.Args().Get(0))
	if err != nil {
		return err
	}
	b, err := metrics.ReadStats(c.Args().Get(1))
	if err != nil {
		return err
	}
	start := time.Now()
	v, err := metrics.FrechetDistance(a, b)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d-d statistics, computed in %s (%s)\n", a.Dim(), time.Since(start).Round(time.Millisecond), metrics.LinalgName)
	fmt.Fprintf(c.App.Writer, "fid: %.10g\n", v)
	return nil
}
