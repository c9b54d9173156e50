package pth

import (
	"fmt"
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
		if !p.Buffer || isBatchNormAffine(p.Name) {
			names = append(names, p.Name)
		}
	}
	return names
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
			if !p.Buffer || isBatchNormAffine(p.Name) {
				out = append(out, p)
			}
		}
		for _, p := range n.own {
			if p.Buffer && !isBatchNormAffine(p.Name) {
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

// officialModels returns the official code's --gen_model and --dis_model
// for cfg, or an error naming the first setting that code cannot express:
// the official model files fix the head count, the MLP ratio, the number of
// stages (and for v1 the stage depths and mask schedule), and the final D
// derives its relative-position windows from the generator's bottom width.
func officialModels(cfg *model.Config) (gen, dis string, err error) {
	bad := func(format string, a ...any) (string, string, error) {
		return "", "", fmt.Errorf("the official %s code cannot express this config: "+format, append([]any{cfg.Version}, a...)...)
	}
	if cfg.GHeads != 4 || cfg.DHeads != 4 {
		return bad("G/D heads %d/%d (its models fix 4)", cfg.GHeads, cfg.DHeads)
	}
	if cfg.MLPRatio != 4 {
		return bad("MLP ratio %d (its discriminators fix 4)", cfg.MLPRatio)
	}
	if cfg.Version == model.Final {
		switch {
		case cfg.Stages() != 3:
			return bad("%d generator stages (ViT_custom_rp has 3)", cfg.Stages())
		case !cfg.GRelPos || cfg.DKind != model.DScale2 || !cfg.DRelPos:
			return bad("g_rel_pos %v, d_kind %s, d_rel_pos %v (ViT_custom_rp and ViT_custom_scale2_rp_noise: true, scale2, true)",
				cfg.GRelPos, cfg.DKind, cfg.DRelPos)
		case len(cfg.MaskSchedule) > 0:
			return bad("a locality mask schedule (the final code has none)")
		case cfg.ImageSize/cfg.DPatch != 2*cfg.BottomWidth:
			return bad("D patch %d: its D windows are 2x and 1x the bottom width %d, so the patch must be %d",
				cfg.DPatch, cfg.BottomWidth, cfg.ImageSize/(2*cfg.BottomWidth))
		}
		return "ViT_custom_rp", "ViT_custom_scale2_rp_noise", nil
	}
	if cfg.GRelPos || cfg.DRelPos || cfg.DKind != model.DViT {
		return bad("g_rel_pos %v, d_kind %s, d_rel_pos %v (v1: false, vit, false)", cfg.GRelPos, cfg.DKind, cfg.DRelPos)
	}
	// The v1 generator files hard-code their stage depths and mask schedule.
	v1Gens := []struct {
		name   string
		depths []int
		mask   []model.MaskStep
	}{
		{"TransGAN_8_8_1", []int{5, 4, 2}, model.V1MaskSchedule()},
		{"TransGAN_8_8_G2_1", []int{5, 2, 2}, model.V1MaskSchedule()},
		{"Celeba64_TransGAN", []int{5, 3, 3, 2}, model.V1CelebAMaskSchedule()},
	}
	for _, g := range v1Gens {
		if !slices.Equal(cfg.GDepths, g.depths) {
			continue
		}
		if !slices.Equal(cfg.MaskSchedule, g.mask) {
			return bad("mask schedule %v (%s hard-codes %v)", cfg.MaskSchedule, g.name, g.mask)
		}
		return g.name, "ViT_8_8", nil
	}
	return bad("generator depths %v (its generator files have 5,4,2, 5,2,2 and 5,3,3,2)", cfg.GDepths)
}
