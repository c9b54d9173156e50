package main

import "github.com/urfave/cli/v2"

// Commands that are still being built. Each moves to its own file when it lands.

func trainCommand() *cli.Command {
	return &cli.Command{Name: "train", Usage: "train a TransGAN with Gorgonia", Action: notYet("train")}
}

func evalCommand() *cli.Command {
	return &cli.Command{Name: "eval", Usage: "FID / KID / IS of a model", Action: notYet("eval")}
}

func serveCommand() *cli.Command {
	return &cli.Command{Name: "serve", Usage: "serve generated images over HTTP", Action: notYet("serve")}
}

func benchCommand() *cli.Command {
	return &cli.Command{Name: "bench", Usage: "measure generator throughput", Action: notYet("bench")}
}
