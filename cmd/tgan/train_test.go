package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func runTrainApp(t *testing.T, args ...string) error {
	t.Helper()
	var out bytes.Buffer
	app := &cli.App{Name: "tgan", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{trainCommand()},
		ExitErrHandler: func(*cli.Context, error) {}}
	return app.Run(append([]string{"tgan", "train"}, args...))
}

func TestTrainErrors(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfgFile, []byte("version: v1\ng_dim: 7\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "nope", "--dataset", "cifar10", "--out", dir + "/r1", "--steps", "1"}, `unknown preset "nope"`},
		{[]string{"--preset", "tiny", "--dataset", "cifar10", "--data", dir + "/missing", "--out", dir + "/r2", "--steps", "1"}, "missing"},
		{[]string{"--preset", "tiny", "--dataset", "imagenet", "--data", dir, "--out", dir + "/r3", "--steps", "1"}, "imagenet"},
		{[]string{"--preset", "tiny", "--out", dir + "/r4", "--steps", "1"}, "--dataset is required"},
		{[]string{"--preset", "tiny", "--dataset", "cifar10", "--steps", "1"}, "--out"},
		{[]string{"--config", cfgFile, "--dataset", "cifar10", "--out", dir + "/r5", "--steps", "1"}, "bad.yaml"},
		{[]string{"--resume", dir + "/none", "--steps", "1"}, "not a run folder"},
		{[]string{"--resume", dir, "--preset", "tiny", "--steps", "1"}, "drop --preset"},
		{[]string{"--preset", "tiny", "--dataset", "cifar10", "--data", dir, "--loss", "wgan-x", "--out", dir + "/r6", "--steps", "1"}, `unknown loss "wgan-x"`},
	}
	for _, c := range cases {
		err := runTrainApp(t, c.args...)
		t.Logf("%v", err)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tgan train %s: got %v, want an error containing %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
