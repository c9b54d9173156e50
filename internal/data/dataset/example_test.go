package dataset_test

import (
	"fmt"

	"github.com/tgan-dev/tgan/internal/data/dataset"
)

// A trainer loads the dataset once, then draws fixed-size batches; the
// loader's State goes into every checkpoint and Restore resumes from it.
func Example() {
	src := dataset.NewMemory("tiny", 1, 4) // normally dataset.Open("cifar10", dir, 32)
	for i := 0; i < 10; i++ {
		src.Add(make([]uint8, 8*8), 8, 8) // 8x8 gray, shrunk to 4x4
	}
	loader := dataset.NewLoader(src, 42)
	for step := 0; step < 3; step++ {
		batch, err := loader.Next(4) // [4, 3, 4, 4] float32 in [-1, 1]
		if err != nil {
			panic(err)
		}
		fmt.Println(len(batch), batch[0], loader.Epoch(), loader.State().Pos)
	}
	// Output:
	// 192 -1 0 4
	// 192 -1 0 8
	// 192 -1 1 4
}
