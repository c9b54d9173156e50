package main

import (
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/trainer"
	"github.com/urfave/cli/v2"
)

// TestTrainSRWeightFlag: --sr-weight sets the MT-CT option (absent: off),
// a negative weight is refused, and a resume cannot change it.
func TestTrainSRWeightFlag(t *testing.T) {
	parse := func(args ...string) trainer.Options {
		var o trainer.Options
		cmd := trainCommand()
		cmd.Action = func(c *cli.Context) error { flagOptions(c, &o); return nil }
		app := &cli.App{Name: "tgan", Commands: []*cli.Command{cmd}}
		if err := app.Run(append([]string{"tgan", "train", "--steps", "1"}, args...)); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if o := parse("--sr-weight", "1.5"); o.SRWeight != 1.5 {
		t.Errorf("--sr-weight 1.5: SRWeight %g", o.SRWeight)
	}
	if o := parse(); o.SRWeight != 0 {
		t.Errorf("no --sr-weight: SRWeight %g", o.SRWeight)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "tiny", "--dataset", "cifar10", "--data", dir, "--sr-weight", "-1", "--out", dir + "/r", "--steps", "1"}, "sr_weight"},
		{[]string{"--resume", dir, "--sr-weight", "1", "--steps", "1"}, "drop --sr-weight"},
	} {
		if err := runTrainApp(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tgan train %s: got %v, want an error containing %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
