package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tgan-dev/tgan/trainer"
	"github.com/urfave/cli/v2"
)

// recipeFlags applies --accumulate, --no-grad-leak and --drift-group.
func recipeFlags(c *cli.Context, o *trainer.Options) error {
	if c.IsSet("accumulate") {
		d, g, err := parseAccumulate(c.String("accumulate"))
		if err != nil {
			return err
		}
		o.Accumulate = d
		if g > 0 {
			o.GAccumulate = g
		}
	}
	if c.Bool("no-grad-leak") {
		o.GradLeak = false
	}
	if c.IsSet("drift-group") {
		o.DriftGroup = c.Int("drift-group")
	}
	return nil
}

// parseAccumulate reads "D" or "D,G" (positive integers); g is 0 when
// absent (the G accumulation keeps its value).
func parseAccumulate(s string) (d, g int, err error) {
	parts := strings.Split(s, ",")
	bad := fmt.Errorf("--accumulate %q: want D or D,G, positive integers (D micro-batches per D step, G per G step), e.g. 4,8", s)
	if len(parts) > 2 {
		return 0, 0, bad
	}
	var v [2]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return 0, 0, bad
		}
		v[i] = n
	}
	return v[0], v[1], nil
}

// recipeDescription names the recipe options that differ from a plain
// one-batch step ("" when none do), for the start of training.
func recipeDescription(o trainer.Options) string {
	var parts []string
	if o.Accumulate > 1 || o.GAccumulate > 1 {
		parts = append(parts, fmt.Sprintf("accumulation D %d x %d, G %d x %d", o.Accumulate, o.DisBatch, o.GAccumulate, o.GenBatch))
	}
	if o.GradLeak {
		parts = append(parts, "G loss gradient leaks into the next D step")
	}
	if o.DriftGroup > 0 && o.Loss == trainer.LossWGANGPEps {
		parts = append(parts, fmt.Sprintf("drift per %d real samples", o.DriftGroup))
	}
	if len(parts) == 0 {
		return ""
	}
	return "recipe: " + strings.Join(parts, "; ")
}
