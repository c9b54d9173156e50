package gmodel

import G "gorgonia.org/gorgonia"

// Window partition and reverse (SPEC-hires 0.3) on tokens in row-major
// image order, [B*side*side, C] <-> [B*nW*w*w, C] with window number
// b*nW + R*(side/w) + Q and in-window token r*w + c for pixel
// (R*w + r, Q*w + c). Every per-token op (norms, MLP, noise, the
// cross-attention's queries) commutes with this permutation, so a stage
// can run all its blocks in window order and reverse once.

// partition reorders image-order tokens x [B*side*side, c] into windows of
// w x w tokens.
func partition(x *G.Node, batch, side, w, c int) *G.Node {
	n := side / w
	x = permute(reshape(x, batch, n, w, n, w, c), 0, 1, 3, 2, 4, 5)
	return reshape(x, batch*side*side, c)
}

// unpartition is the inverse of partition.
func unpartition(x *G.Node, batch, side, w, c int) *G.Node {
	n := side / w
	x = permute(reshape(x, batch, n, n, w, w, c), 0, 1, 3, 2, 4, 5)
	return reshape(x, batch*side*side, c)
}

// windowToImage maps a window-order index (window, token) of a side x side
// map with w x w windows to its image-order index within one batch
// element's map; win counts windows from the batch element's first.
func windowToImage(win, tok, side, w int) int {
	n := side / w
	R, Q, r, c := win/n, win%n, tok/w, tok%w
	return (R*w+r)*side + Q*w + c
}

// windowed reports whether a side x side map is split into several windows.
func windowed(side, w int) bool { return w > 0 && w < side }
