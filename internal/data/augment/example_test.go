package augment_test

import (
	"fmt"
	"math/rand"

	"github.com/tgan-dev/tgan/internal/data/augment"
)

// The trainer draws the parameters once per D input, augments forward, and
// sends D's input gradient back through the same parameters.
func Example() {
	policy, err := augment.ParsePolicy("translation,cutout,color")
	if err != nil {
		panic(err)
	}
	const b, c, h, w = 2, 3, 8, 8
	rng := rand.New(rand.NewSource(1))
	params := augment.Sample(policy, b, c, h, w, rng)
	x := make([]float32, b*c*h*w)           // a batch in [-1, 1]
	y := augment.Apply(params, x)           // what D sees
	gx := augment.ApplyTranspose(params, y) // dLoss/dx from dLoss/dy (y as a stand-in)
	fmt.Println(policy, len(y), len(gx))
	// Output: translation,cutout,color 384 384
}
