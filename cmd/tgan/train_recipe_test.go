package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/trainer"
	"github.com/urfave/cli/v2"
)

// TestTrainAccumulateFlags: --accumulate D[,G], --no-grad-leak and
// --drift-group set the options over a preset's; bad values are one line
// naming the flag, before any run folder exists; a resume cannot change
// them.
func TestTrainAccumulateFlags(t *testing.T) {
	parse := func(base trainer.Options, args ...string) trainer.Options {
		o := base
		cmd := trainCommand()
		cmd.Action = func(c *cli.Context) error { return flagOptions(c, &o) }
		app := &cli.App{Name: "tgan", Commands: []*cli.Command{cmd}}
		if err := app.Run(append([]string{"tgan", "train", "--steps", "1"}, args...)); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if o := parse(trainer.Options{}, "--accumulate", "4,8"); o.Accumulate != 4 || o.GAccumulate != 8 {
		t.Errorf("--accumulate 4,8: %d,%d", o.Accumulate, o.GAccumulate)
	}
	church := trainer.PresetOptions("church-256")
	if o := parse(church, "--accumulate", "2"); o.Accumulate != 2 || o.GAccumulate != 8 {
		t.Errorf("church-256 --accumulate 2: %d,%d, want 2,8 (G keeps the preset's)", o.Accumulate, o.GAccumulate)
	}
	if o := parse(church, "--no-grad-leak", "--drift-group", "0"); o.GradLeak || o.DriftGroup != 0 || !church.GradLeak || church.DriftGroup != 2 {
		t.Errorf("church-256 --no-grad-leak --drift-group 0: leak %v, drift group %d", o.GradLeak, o.DriftGroup)
	}
	want := church
	want.Seed = 1 // --seed's default
	if o := parse(church); o != want {
		t.Errorf("no flags changed the preset's options: %+v", o)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "r")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--accumulate", "0"}, `--accumulate "0"`},
		{[]string{"--accumulate", "x"}, `--accumulate "x"`},
		{[]string{"--accumulate", "4,0"}, `--accumulate "4,0"`},
		{[]string{"--accumulate", "4,2,1"}, `--accumulate "4,2,1"`},
		{[]string{"--drift-group", "3"}, "drift_group 3"},
	} {
		args := append([]string{"--preset", "tiny", "--dataset", "cifar10", "--data", dir, "--out", out, "--steps", "1"}, c.args...)
		err := runTrainApp(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("tgan train %s: got %v, want one line containing %q", strings.Join(c.args, " "), err, c.want)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Fatalf("tgan train %s left the run folder %s", strings.Join(c.args, " "), out)
		}
	}
	for _, f := range []string{"--accumulate", "--drift-group"} {
		if err := runTrainApp(t, "--resume", dir, f, "2", "--steps", "1"); err == nil || !strings.Contains(err.Error(), "drop "+f) {
			t.Errorf("resume with %s: %v", f, err)
		}
	}
}

// TestBareConfigLeakDefault: a model-only YAML of the final code trains with
// the official G-loss gradient leak, a v1 one without.
func TestBareConfigLeakDefault(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		yaml string
		want bool
	}{
		{"version: final\nlatent_dim: 8\ng_dim: 16\nbottom_width: 2\ng_depths: [1, 1]\ng_heads: 2\nmlp_ratio: 2\nimage_size: 4\ng_rel_pos: true\nd_kind: scale2\nd_dim: 16\nd_depth: 1\nd_patch: 1\nd_heads: 2\nd_rel_pos: true\n", true},
		{"version: v1\nlatent_dim: 8\ng_dim: 16\nbottom_width: 2\ng_depths: [1, 1]\ng_heads: 2\nmlp_ratio: 2\nimage_size: 4\nd_kind: vit\nd_dim: 16\nd_depth: 1\nd_patch: 1\nd_heads: 2\n", false},
	} {
		path := filepath.Join(dir, "m.yaml")
		if err := os.WriteFile(path, []byte(c.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		var got trainer.Options
		cmd := trainCommand()
		cmd.Action = func(ctx *cli.Context) error {
			_, o, err := modelConfig(ctx)
			got = o
			return err
		}
		app := &cli.App{Name: "tgan", Commands: []*cli.Command{cmd}}
		if err := app.Run([]string{"tgan", "train", "--config", path, "--steps", "1"}); err != nil {
			t.Fatal(err)
		}
		if got.GradLeak != c.want {
			t.Errorf("%s: grad leak %v, want %v", strings.SplitN(c.yaml, "\n", 2)[0], got.GradLeak, c.want)
		}
	}
}
