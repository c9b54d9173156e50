package pth

import (
	"slices"
	"strings"

	"github.com/tgan-dev/tgan/model"
)

// The official networks are nn.Modules, so two orders matter when tgan
// writes or reads their training state:
//
//   - state_dict order: for each module in pre-order, its own parameters,
//     then its own buffers, then its children in registration order;
//   - parameters() order (the optimizer's indices): the same with the
//     buffers left out.
//
// A module's own parameters therefore come before everything of its
// children: the generator's pos_embed_N precede l1, an attention's
// relative_position_bias_table (and the final D's noise_strength_1)
// precede qkv. model's parameter lists give the children's registration
// order; moduleOrder regroups them. The v1 generator registers the unused
// to_rgb BatchNorm before deconv, and its weight and bias are parameters
// (in the optimizer's list, never updated: Adam keeps no state for them).

// officialStateDict lists the network's tensors in official state_dict order.
func officialStateDict(cfg *model.Config, dis bool) []model.Param {
	if dis {
		return moduleOrder(cfg.DParams())
	}
	ps := cfg.GParams()
	if cfg.Version == model.V1 {
		// to_rgb (registered before deconv) moves in front of deconv.
		var rgb, rest []model.Param
		for _, p := range ps {
			if strings.HasPrefix(p.Name, "to_rgb.") {
				rgb = append(rgb, p)
			} else {
				rest = append(rest, p)
			}
		}
		i := slices.IndexFunc(rest, func(p model.Param) bool { return p.Name == model.GDeconvW })
		ps = slices.Concat(rest[:i], rgb, rest[i:])
	}
	return moduleOrder(ps)
}

// officialParameters lists the names of the network's parameters() in
// order: the optimizer's parameter indices.
func officialParameters(cfg *model.Config, dis bool) []string {
	var names []string
	for _, p := range officialStateDict(cfg, dis) {
		if isOfficialParam(p) {
			names = append(names, p.Name)
		}
	}
	return names
}

// isOfficialParam reports whether the official module holds p as an
// nn.Parameter (in parameters() and so in the optimizer's indices): every
// tensor tgan trains, and the ones tgan keeps as buffers because they are
// never trained: Celeba256_gen's dead cross_attention.noise_strength_1
// (Param.Dead) and the v1 to_rgb BatchNorm's weight and bias.
func isOfficialParam(p model.Param) bool {
	return !p.Buffer || p.Dead || isBatchNormAffine(p.Name)
}

// isBatchNormAffine reports the v1 to_rgb BatchNorm's weight and bias:
// tgan never trains them (Buffer), the official module holds them as
// parameters.
func isBatchNormAffine(name string) bool {
	return name == "to_rgb.0.weight" || name == "to_rgb.0.bias"
}

// moduleOrder regroups ps (children in registration order) so that, at
// every module, its own tensors (names with no further dot) come first in
// their given order, then each child module, in order of first appearance.
func moduleOrder(ps []model.Param) []model.Param {
	type node struct {
		own      []model.Param
		children []string
		sub      map[string]*node
	}
	newNode := func() *node { return &node{sub: map[string]*node{}} }
	root := newNode()
	for _, p := range ps {
		n := root
		parts := strings.Split(p.Name, ".")
		for _, part := range parts[:len(parts)-1] {
			c, ok := n.sub[part]
			if !ok {
				c = newNode()
				n.sub[part] = c
				n.children = append(n.children, part)
			}
			n = c
		}
		n.own = append(n.own, p)
	}
	out := make([]model.Param, 0, len(ps))
	var walk func(n *node)
	walk = func(n *node) {
		// Parameters before buffers within a module, as state_dict writes them.
		for _, p := range n.own {
			if isOfficialParam(p) {
				out = append(out, p)
			}
		}
		for _, p := range n.own {
			if !isOfficialParam(p) {
				out = append(out, p)
			}
		}
		for _, c := range n.children {
			walk(n.sub[c])
		}
	}
	walk(root)
	return out
}
