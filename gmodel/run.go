package gmodel

import (
	"fmt"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// Forward runs the net on input (B*... float32, row-major) and returns a
// copy of the output. The tape machine is compiled on first use.
func (n *Net) Forward(input []float32) ([]float32, error) {
	in := f32(n.Input.Value())
	if len(input) != len(in) {
		return nil, fmt.Errorf("input has %d values, the net takes %v (%d)", len(input), n.Input.Shape(), len(in))
	}
	copy(in, input)
	if n.vm == nil {
		n.vm = G.NewTapeMachine(n.Graph)
	}
	defer n.vm.Reset()
	if err := n.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	return append([]float32(nil), f32(n.Output.Value())...), nil
}

// SetEpoch sets the v1 locality mask of the generator's last block for a
// training epoch (epoch < 0: inference, no mask). Nets without a mask
// ignore it.
func (n *Net) SetEpoch(epoch int) {
	if n.mask == nil {
		return
	}
	m := f32(n.mask.Value())
	tokens := n.mask.Shape()[0]
	w := n.Config.MaskWindow(epoch)
	for i := 0; i < tokens; i++ {
		for j := 0; j < tokens; j++ {
			m[i*tokens+j] = 0
			if w > 0 && !model.LocalityMask(i, j, w) {
				m[i*tokens+j] = model.MaskedLogit
			}
		}
	}
}
