// Package lower turns the Gorgonia graphs that tgan builds (gmodel's
// networks, their first and second derivatives from G.Grad, and the
// trainer's own ops through an extension hook) into ONNX graphs of
// standard operators, and runs them with ONNX Runtime.
//
// Gorgonia stays the one definition of the networks and their
// derivatives; this package only changes what executes them. Every
// Gorgonia input node (weights, the batch, z, masks, attention noise)
// becomes a graph input fed from the node's current value at each run, so
// the trainer keeps writing its tensors and random draws exactly as for
// the tape machine. ONNX Runtime then plans buffers by liveness instead of
// keeping one buffer per op.
package lower
