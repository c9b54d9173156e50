package runtime

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
)

// NoiseInput is the name of the second input of a tgan generator whose
// attentions take learned input noise (ViT_custom and the 256 families):
// float32 [batch, T], standard-normal draws that the graph scales by each
// block's noise_strength_1.
const NoiseInput = "noise"

// NoiseSize returns T, the noise draws per item of a model with a
// NoiseInput (0 for a model without one).
func (m *Model) NoiseSize() int {
	if len(m.inputs) != 2 || m.inputs[1].Name != NoiseInput || len(m.inputs[1].Shape) != 2 {
		return 0
	}
	return int(max(m.inputs[1].Shape[1], 0))
}

// SetNoiseSeed sets the seed of the noise that Run draws for a model with
// a NoiseInput (default 0).
func (m *Model) SetNoiseSeed(seed int64) {
	m.mu.Lock()
	m.noiseSeed = seed
	m.mu.Unlock()
}

// DrawNoise returns the noise Run feeds a model with T draws per item for
// the batch input (items of perItem values each): item i gets T
// standard-normal values from a math/rand stream seeded by seed and a hash
// of item i's own input values. So an image depends only on its latent and
// the seed, never on its batch mates or the batch size: `tgan infer --seed`
// gives the same images at any --batch, a server's image for a seed is
// the same in every request, and a fixed latent with another seed shows
// the noise's own effect.
func DrawNoise(seed int64, input []float32, perItem, t int) []float32 {
	if perItem <= 0 {
		return nil
	}
	items := len(input) / perItem
	out := make([]float32, items*t)
	buf := make([]byte, 4)
	for i := 0; i < items; i++ {
		h := fnv.New64a()
		for _, v := range input[i*perItem : (i+1)*perItem] {
			binary.LittleEndian.PutUint32(buf, math.Float32bits(v))
			h.Write(buf)
		}
		rng := rand.New(rand.NewSource(int64(h.Sum64()) ^ seed*0x5851f42d4c957f2d))
		for j := range out[i*t : (i+1)*t] {
			out[i*t+j] = float32(rng.NormFloat64())
		}
	}
	return out
}

// RunNoise is Run with the noise given: noise holds [batch, NoiseSize()]
// values for a model with a NoiseInput. Run draws it itself (DrawNoise).
func (m *Model) RunNoise(input []float32, inShape []int64, noise []float32) ([]float32, []int64, error) {
	out, shape, err := m.runWith(input, inShape, noise, true)
	if err != nil {
		return nil, nil, fmt.Errorf("runtime: run %s: %w", m.path, err)
	}
	return out, shape, nil
}

// checkNoise checks an explicit noise input against the model and batch.
func (m *Model) checkNoise(noise []float32, batch int64) error {
	t := m.NoiseSize()
	if t == 0 {
		return fmt.Errorf("the model has no %q input [batch, T] (inputs %v)", NoiseInput, names(m.inputs))
	}
	if !m.inputs[1].float {
		return fmt.Errorf("input %s has type %s; want float32", NoiseInput, m.inputs[1].DataType)
	}
	if int64(len(noise)) != batch*int64(t) {
		return fmt.Errorf("input %s: %d values, want batch %d x %d", NoiseInput, len(noise), batch, t)
	}
	return nil
}
