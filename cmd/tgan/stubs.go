package main

import "github.com/urfave/cli/v2"

// Commands that are still being built. Each moves to its own file when it lands.

func trainCommand() *cli.Command {
	return &cli.Command{Name: "train", Usage: "train a TransGAN with Gorgonia", Action: notYet("train")}
}

func importCommand() *cli.Command {
	return &cli.Command{Name: "import", Usage: "convert an official TransGAN .pth checkpoint", Action: notYet("import")}
}

func exportCommand() *cli.Command {
	return &cli.Command{Name: "export", Usage: "write ONNX graphs of G and D", Action: notYet("export")}
}

func inferCommand() *cli.Command {
	return &cli.Command{Name: "infer", Usage: "generate images from a checkpoint or generator.onnx", Action: notYet("infer")}
}

func scoreCommand() *cli.Command {
	return &cli.Command{Name: "score", Usage: "run the discriminator on images", Action: notYet("score")}
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
