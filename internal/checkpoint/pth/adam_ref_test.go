package pth

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/trainer"
)

// TestAdamStepForReference writes the inputs and outputs of tgan's next
// Adam step for testdata/ref/check_export_pth.py, which replays the step
// with torch.optim.Adam loaded from the exported .pth. It runs only with
// TGAN_ADAM_REF=CKPT:OUTDIR. For each network it writes <net>_names.txt
// (the trained parameters), and, flattened in that order, <net>_grads.npy
// (N(0,1) gradients, seed 7) and the parameters and moments after the step
// (<net>_params.npy, <net>_m.npy, <net>_v.npy).
func TestAdamStepForReference(t *testing.T) {
	spec := os.Getenv("TGAN_ADAM_REF")
	if spec == "" {
		t.Skip("set TGAN_ADAM_REF=CKPT:OUTDIR (used by testdata/ref/check_export_pth.py)")
	}
	ckPath, out, _ := strings.Cut(spec, ":")
	ck, err := checkpoint.Load(ckPath)
	if err != nil {
		t.Fatal(err)
	}
	st, ok, err := checkpoint.ReadState[trainer.Options](ck)
	if err != nil || !ok {
		t.Fatalf("no trainer state: %v", err)
	}
	o := st.Options.Defaults(ck.Config)
	rng := rand.New(rand.NewSource(7))
	for _, net := range []string{"gen", "dis"} {
		dis := net == "dis"
		w, lr, steps := ck.Gen.Clone(), o.LRG, st.AdamGStep
		if dis {
			w, lr, steps = ck.Dis.Clone(), o.LRD, st.AdamDStep
		}
		a := &trainer.Adam{LR: lr, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.AdamEps, Step: steps,
			M: map[string][]float32{}, V: map[string][]float32{}}
		grads := map[string][]float32{}
		var names []string
		for _, name := range officialParameters(ck.Config, dis) {
			m := ck.Extra[optKey(net, "m", name)]
			if m == nil {
				continue // not trained by tgan (the v1 to_rgb BatchNorm)
			}
			names = append(names, name)
			a.M[name] = append([]float32(nil), m.F32...)
			a.V[name] = append([]float32(nil), ck.Extra[optKey(net, "v", name)].F32...)
			g := make([]float32, len(m.F32))
			for i := range g {
				g[i] = float32(rng.NormFloat64())
			}
			grads[name] = g
		}
		if err := a.Update(w, grads); err != nil {
			t.Fatal(err)
		}
		var gf, pf, mf, vf []float32
		for _, n := range names {
			gf, pf = append(gf, grads[n]...), append(pf, w[n].F32...)
			mf, vf = append(mf, a.M[n]...), append(vf, a.V[n]...)
		}
		for suffix, data := range map[string][]float32{"grads": gf, "params": pf, "m": mf, "v": vf} {
			if err := npy.WriteFloat32(filepath.Join(out, net+"_"+suffix+".npy"), data, []int{len(data)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(out, net+"_names.txt"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
