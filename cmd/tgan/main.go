// Command tgan trains, exports and runs TransGAN models. Each subcommand
// lives in its own file of this package; the work itself is done by the
// library packages (trainer, exporter, runtime, internal/...).
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// version is stamped into checkpoints and ONNX metadata.
const version = "0.1.0"

func main() {
	app := newApp()
	if err := app.Run(flagsFirst(app, versionAlias(os.Args))); err != nil {
		fmt.Fprintln(os.Stderr, "tgan:", oneLine(err))
		os.Exit(1)
	}
}

// newApp assembles the command tree (tests run it in-process).
func newApp() *cli.App {
	return &cli.App{
		Name:    "tgan",
		Usage:   "train, export and run TransGAN (transformer GAN) models",
		Version: version,
		// --version is `tgan version` (see versionAlias); -v is --verbose.
		HideVersion: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "version", Usage: "same as the version command"},
			verboseFlag(),
		},
		Before: setVerbose,
		Commands: []*cli.Command{
			trainCommand(),
			importCommand(),
			exportCommand(),
			inferCommand(),
			scoreCommand(),
			evalCommand(),
			statsCommand(),
			fidCommand(),
			serveCommand(),
			benchCommand(),
			versionCommand(),
		},
		// Errors are printed once, as one line, by main: no usage dump, no stack.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// oneLine folds a multi-line error (model.Config.Validate lists every
// problem on its own line) into the single line the CLI promises.
func oneLine(err error) string {
	msg := strings.ReplaceAll(err.Error(), ":\n  ", ": ")
	return strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n  ", "; ")), " ")
}
