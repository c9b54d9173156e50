package runtime_test

import (
	"fmt"
	"log"

	"github.com/tgan-dev/tgan/runtime"
)

// Generate images from latent vectors with an exported generator. The
// library comes from scripts/setup.sh (or --ort-lib); "auto" uses CUDA when
// it can and says why when it cannot.
func Example() {
	env, err := runtime.Open(runtime.Options{Provider: runtime.Auto})
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close()
	m, err := env.OpenModel("testdata/onnx/tiny_gen.onnx")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if r := m.FallbackReason(); r != "" {
		log.Printf("running on CPU: %s", r)
	}
	cfg, _ := m.MetadataValue("tgan.config")
	fmt.Println("config:", cfg)
	z := make([]float32, 2*8) // (B, latent) = (2, 8)
	images, shape, err := m.Run(z, []int64{2, 8})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shape, len(images)) // [2 3 4 4] 96
}
