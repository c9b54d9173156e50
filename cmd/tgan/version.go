package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/tgan-dev/tgan/runtime"
	"github.com/urfave/cli/v2"
)

// commit is the source revision, for builds without Go's VCS stamp
// (go build -ldflags "-X main.commit=$(git rev-parse HEAD)"); empty means
// use the stamp.
var commit string

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print tgan's version and commit, Go, the ONNX Runtime library it would load, its providers and the BLAS",
		Description: `Prints what this binary is and what it will use: tgan's version and source
commit, the Go release, the ONNX Runtime library the .onnx commands would load
(path, how it was found, version, the execution providers built into it) and
the BLAS of the Gorgonia code (OpenBLAS or pure Go, and its threads).
'tgan --version' is the same. The library is looked up as infer, serve, score
and bench do (--ort-lib, $` + runtime.LibraryEnvVar + `, next to the executable,
the .ort/ of a checkout, the system loader); --verbose shows each step.
Exit status 1 when no usable library is found: everything else is printed
first, then the one-line reason on stderr.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ort-lib", Usage: "path of libonnxruntime.so to check instead of searching"},
			&cli.StringFlag{Name: "provider", Value: "cpu", Usage: "cuda or auto: look for the CUDA set (.ort/cuda/) first, as those providers do"},
			verboseFlag(),
		},
		Action: runVersion,
	}
}

// verboseFlag turns on the report of the library lookup steps.
func verboseFlag() cli.Flag {
	return &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, EnvVars: []string{"TGAN_VERBOSE"},
		Usage: "report each step of the ONNX Runtime library lookup on stderr"}
}

// setVerbose sends the lookup steps to stderr when --verbose is on.
func setVerbose(c *cli.Context) error {
	if c.Bool("verbose") {
		runtime.SetLookupLog(os.Stderr)
	}
	return nil
}

// versionAlias turns `tgan [global flags] --version` into `tgan ...
// version`, so both print the same and exit the same way.
func versionAlias(args []string) []string {
	for i := 1; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		if args[i] == "--version" || args[i] == "-version" {
			out := slices.Clone(args)
			out[i] = "version"
			return out
		}
	}
	return args
}

func runVersion(c *cli.Context) error {
	setVerbose(c)
	p, err := runtime.ParseProvider(c.String("provider"))
	if err != nil {
		return err
	}
	w := c.App.Writer
	printBuild(w)
	lib, libErr := runtime.LookupLibrary(c.String("ort-lib"), p != runtime.CPU)
	printLibrary(w, lib, libErr)
	fmt.Fprintf(w, "blas:         %s\n", blasInfo())
	return libErr
}

// printBuild prints tgan's version and commit and the Go release.
func printBuild(w io.Writer) {
	fmt.Fprintf(w, "tgan:         %s\n", version)
	fmt.Fprintf(w, "commit:       %s\n", sourceCommit())
	fmt.Fprintf(w, "go:           %s %s/%s\n", goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
}

// sourceCommit is -X main.commit, else Go's VCS stamp (vcs.revision, with
// "+ local changes" when the tree was modified), else "unknown".
func sourceCommit() string {
	if commit != "" {
		return commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, when, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "unknown (built without VCS information)"
	}
	if when != "" {
		rev += " (" + when + ")"
	}
	if modified == "true" {
		rev += " + local changes"
	}
	return rev
}

// printLibrary prints the ONNX Runtime library and its providers, or
// "not found" (the reason goes to stderr as the command's error).
func printLibrary(w io.Writer, lib runtime.Library, err error) {
	if err != nil {
		fmt.Fprintf(w, "onnxruntime:  not usable (reason on stderr)\n")
		return
	}
	fmt.Fprintf(w, "onnxruntime:  %s\n", lib.Version)
	fmt.Fprintf(w, "library:      %s (%s)\n", lib.Path, lib.Source)
	fmt.Fprintf(w, "providers:    %s (built in)\n", strings.Join(lib.Providers, ", "))
	if slices.Contains(lib.Providers, "CUDAExecutionProvider") {
		// The CUDA provider is a separate library that must sit beside the core.
		cuda := filepath.Join(filepath.Dir(lib.Path), "libonnxruntime_providers_cuda.so")
		state := "present"
		if _, err := os.Stat(cuda); err != nil {
			state = "not installed: --provider cuda needs the set from scripts/setup.sh --cuda"
		}
		fmt.Fprintf(w, "cuda library: %s (%s)\n", cuda, state)
	}
}
