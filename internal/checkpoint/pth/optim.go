package pth

import (
	"fmt"
	"math"
	"strconv"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
	"github.com/tgan-dev/tgan/model"
)

// Top-level keys of the optimizer states.
const (
	keyGenOpt = "gen_optimizer"
	keyDisOpt = "dis_optimizer"
)

// adamState is one torch.optim.Adam.state_dict() read back: the moments by
// parameter name (official names, every parameter tgan trains; zero where
// the file has no state) and the step count.
type adamState struct {
	moments map[string]*model.Tensor // optKey(net, "m"|"v", name)
	steps   int
	group   map[string]float64 // lr, eps, beta1, beta2 of the first param group
	missing int                // trained parameters without state in the file
}

// readAdam maps an Adam state_dict onto the network's parameters() order
// (officialParameters) and checks every moment against its parameter's
// shape. Any mismatch is an error: the caller drops the moments with a
// warning rather than load them under wrong names.
func readAdam(v any, params []model.Param, order []string, net string) (*adamState, error) {
	top, ok := anyDict(v)
	if !ok {
		return nil, fmt.Errorf("is a %s, want an optimizer state_dict", typeName(v))
	}
	groups, ok := top["param_groups"].(*types.List)
	if !ok || groups.Len() == 0 {
		return nil, fmt.Errorf("has no param_groups list")
	}
	g0, ok := anyDict(groups.Get(0))
	if !ok {
		return nil, fmt.Errorf("param_groups[0] is not a dict")
	}
	n := 0
	for i := 0; i < groups.Len(); i++ {
		g, _ := anyDict(groups.Get(i))
		if l, ok := g["params"].(*types.List); ok {
			n += l.Len()
		}
	}
	if n != len(order) {
		return nil, fmt.Errorf("lists %d parameters, the inferred network has %d", n, len(order))
	}
	st := &adamState{moments: map[string]*model.Tensor{}, group: groupHyper(g0)}
	byName := map[string]model.Param{}
	for _, p := range params {
		byName[p.Name] = p
	}
	state, ok := top["state"].(*types.Dict)
	if !ok {
		return nil, fmt.Errorf("has no state dict")
	}
	if len(*state) == 0 { // a fresh optimizer: nothing to import
		return st, nil
	}
	seen := map[string]bool{}
	for _, e := range *state {
		i, ok := e.Key.(int)
		if !ok || i < 0 || i >= len(order) {
			return nil, fmt.Errorf("state key %v is not a parameter index below %d", e.Key, len(order))
		}
		name := order[i]
		p := byName[name]
		if p.Buffer { // never trained (v1 to_rgb BatchNorm, dead parameters)
			continue
		}
		m, v, step, err := adamEntry(e.Value, p)
		if err != nil {
			return nil, fmt.Errorf("state %d (%s): %w", i, name, err)
		}
		st.moments[optKey(net, "m", name)], st.moments[optKey(net, "v", name)] = m, v
		st.steps = max(st.steps, step)
		seen[name] = true
	}
	for _, name := range order {
		p := byName[name]
		if p.Buffer || seen[name] {
			continue
		}
		st.missing++
		st.moments[optKey(net, "m", name)] = &model.Tensor{Shape: p.Shape, F32: make([]float32, p.Size())}
		st.moments[optKey(net, "v", name)] = &model.Tensor{Shape: p.Shape, F32: make([]float32, p.Size())}
	}
	return st, nil
}

// adamEntry reads {'step', 'exp_avg', 'exp_avg_sq'} of parameter p.
func adamEntry(v any, p model.Param) (m, sq *model.Tensor, step int, err error) {
	e, ok := anyDict(v)
	if !ok {
		return nil, nil, 0, fmt.Errorf("is a %s, want a dict", typeName(v))
	}
	if step, err = stepCount(e["step"]); err != nil {
		return nil, nil, 0, err
	}
	for _, k := range []string{"exp_avg", "exp_avg_sq"} {
		pt, ok := e[k].(*pytorch.Tensor)
		if !ok {
			return nil, nil, 0, fmt.Errorf("%s is a %s, want a tensor", k, typeName(e[k]))
		}
		t, _, err := convert(pt)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("%s: %w", k, err)
		}
		if t.F32 == nil || !model.SameShape(t.Shape, p.Shape) {
			return nil, nil, 0, fmt.Errorf("%s has shape %v, the parameter %v", k, t.Shape, p.Shape)
		}
		if k == "exp_avg" {
			m = t
		} else {
			sq = t
		}
	}
	return m, sq, step, nil
}

// stepCount reads Adam's step: an int (PyTorch < 1.12), a float or a
// scalar tensor (later versions).
func stepCount(v any) (int, error) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case float64:
		f = x
	case *pytorch.Tensor:
		t, _, err := convert(x)
		if err != nil || len(t.Shape) > 1 || len(t.F32)+len(t.I64) != 1 {
			return 0, fmt.Errorf("step is not a scalar tensor")
		}
		if t.I64 != nil {
			return int(t.I64[0]), nil
		}
		f = float64(t.F32[0])
	default:
		return 0, fmt.Errorf("step is a %s", typeName(v))
	}
	if f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
		return 0, fmt.Errorf("step %v is not a count", f)
	}
	return int(f), nil
}

// groupHyper reads lr, eps and betas of a param group.
func groupHyper(g map[any]any) map[string]float64 {
	out := map[string]float64{}
	num := func(v any) (float64, bool) {
		switch x := v.(type) {
		case float64:
			return x, true
		case int:
			return float64(x), true
		}
		return 0, false
	}
	for _, k := range []string{"lr", "eps"} {
		if f, ok := num(g[k]); ok {
			out[k] = f
		}
	}
	if b, ok := g["betas"].(*types.Tuple); ok && b.Len() == 2 {
		for i, k := range []string{"beta1", "beta2"} {
			if f, ok := num(b.Get(i)); ok {
				out[k] = f
			}
		}
	}
	return out
}

// anyDict returns the entries of a dict with keys of any type.
func anyDict(v any) (map[any]any, bool) {
	out := map[any]any{}
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			out[e.Key] = e.Value
		}
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			out[e.Key] = e.Value
		}
	default:
		return nil, false
	}
	return out, true
}

// importAdam reads the optimizer of one network into the checkpoint's
// extra tensors and metadata, or warns why it cannot.
func (im *importer) importAdam(key string, v any, params []model.Param, order []string, dis bool) {
	net := netName(dis)
	st, err := readAdam(v, params, order, net)
	if err != nil {
		im.warns = append(im.warns, fmt.Sprintf("%s %s: not imported (Adam moments restart from zero)", key, err))
		return
	}
	if len(st.moments) == 0 {
		return
	}
	if im.extra == nil {
		im.extra = map[string]*model.Tensor{}
	}
	for k, t := range st.moments {
		im.extra[k] = t
	}
	stepKey := metaAdamGStep
	if dis {
		stepKey = metaAdamDStep
	}
	im.meta[stepKey] = strconv.Itoa(st.steps)
	for k, f := range st.group {
		im.meta["official_"+net+"_"+k] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	if st.missing > 0 {
		im.warns = append(im.warns, fmt.Sprintf("%s: %d trained parameters have no Adam state in the file: their moments start at zero", key, st.missing))
	}
}
