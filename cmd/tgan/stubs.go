package main

import "github.com/urfave/cli/v2"

// Commands that are still being built. Each moves to its own file when it lands.

func evalCommand() *cli.Command {
	return &cli.Command{Name: "eval", Usage: "FID / KID / IS of a model", Action: notYet("eval")}
}
