package trainer

import (
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// requireORT fails the test without ONNX Runtime (skips with
// TGAN_TEST_NO_ORT=1: testkit.RequireORT).
func requireORT(tb testing.TB) {
	tb.Helper()
	testkit.RequireORT(tb, runtime.FindLibrary)
}

// finalMicroConfig is microConfig in the final code's layout: relative
// position bias, two-scale D with attention noise, no mask.
func finalMicroConfig(tb testing.TB) *model.Config {
	cfg := microConfig(tb)
	cfg.Version, cfg.GRelPos, cfg.MaskSchedule = model.Final, true, nil
	cfg.DKind, cfg.DRelPos = model.DScale2, true
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// tensorErr is max|got-want| / max|want| (0 when want is all zero and got
// equals it).
func tensorErr(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(float64(got[i])-float64(want[i])))
		den = math.Max(den, math.Abs(float64(want[i])))
	}
	if num == 0 {
		return 0
	}
	return num / math.Max(den, 1e-30)
}

func maxAbs(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

func relDiff(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(math.Abs(b), 1e-12)
}

// TestParityORTExecutorTape runs one iteration (D step with WGAN-GP-eps
// double backprop and DiffAugment with every operation drawn, then a G
// step through the updated D) with the tape machine and with ONNX Runtime
// on CPU, from the same seed, and compares losses, clipped gradients,
// updated weights and the EMA generator.
func TestParityORTExecutorTape(t *testing.T) {
	requireORT(t)
	const tol = 1e-5
	for _, c := range []struct {
		name string
		cfg  func(testing.TB) *model.Config
	}{{"v1", microConfig}, {"final", finalMicroConfig}} {
		t.Run(c.name, func(t *testing.T) { compareExecutors(t, c.cfg, "", 2, tol) })
	}
}

// compareExecutors runs iters (1 or 2) iterations from the same seed on
// the tape machine and on ONNX Runtime (CPU) and compares stats, the last
// iteration's clipped gradients, weights and EMA (relative error tol after
// the first iteration, 1e-4 after the second). policy, when set, replaces
// the default DiffAugment. It returns the tape's clipped gradients of the
// first iteration.
func compareExecutors(t *testing.T, cfgOf func(testing.TB) *model.Config, policy string, iters int, tol float64) map[string]map[string][]float32 {
	var trs [2]*Trainer
	grads := [2]map[string]map[string][]float32{{}, {}}
	var stats [2][]Stats
	var first [2][3]model.Weights // Dis, Gen, AvgGen after iteration 0
	var firstGrads [2]map[string]map[string][]float32
	for i := range trs {
		o := microOptions()
		o.NCritic, o.Augment = 1, policy
		cfg := cfgOf(t)
		tr, err := New(cfg, o, newSynth(8, cfg.ImageSize))
		if err != nil {
			t.Fatal(err)
		}
		tr.policy.CutoutProb = 1
		g := grads[i]
		tr.gradsHook = func(net string, gr map[string][]float32) {
			g[net] = map[string][]float32{}
			for k, v := range gr {
				g[net][k] = append([]float32(nil), v...)
			}
		}
		if i == 1 {
			if _, err := tr.UseExecutor(ExecutorORT, runtime.CPU, ""); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tr.Close() })
		}
		for it := 0; it < iters; it++ {
			st, err := tr.Step()
			if err != nil {
				t.Fatal(err)
			}
			stats[i] = append(stats[i], st)
			if it == 0 {
				first[i] = [3]model.Weights{tr.Dis.Clone(), tr.Gen.Clone(), tr.AvgGen.Clone()}
				firstGrads[i] = map[string]map[string][]float32{"dis": g["dis"], "gen": g["gen"]}
			}
		}
		trs[i] = tr
	}
	worst := 0.0
	check := func(what string, e float64) {
		worst = math.Max(worst, e)
		if e > tol {
			t.Errorf("%s: relative error %.2g (limit %g)", what, e, tol)
		}
	}
	// After the first iteration: updated weights and EMA. Adam's
	// first step is lr*g/(|g|+1e-8), so a weight whose gradient is
	// below 1e-6 moves by an amount that amplifies the gradient's
	// last bits (as in TestParityStepPyTorch): those elements get an
	// absolute bound of 1e-2*lr plus what a gradient error of tol*max|g|
	// makes of them (d step/d g = lr*1e-8/(|g|+1e-8)^2) instead.
	for k, name := range []string{"Dis", "Gen", "AvgGen"} {
		net := map[string]string{"Dis": "dis", "Gen": "gen", "AvgGen": "gen"}[name]
		for tn, want := range first[0][k] {
			got, g := first[1][k][tn].F32, firstGrads[0][net][tn]
			gmax := 0.0
			for _, v := range g {
				gmax = math.Max(gmax, math.Abs(float64(v)))
			}
			var num, den float64
			for j, w := range want.F32 {
				d := math.Abs(float64(got[j]) - float64(w))
				den = math.Max(den, math.Abs(float64(w)))
				if g != nil && math.Abs(float64(g[j])) < 1e-6 {
					lr, ag := trs[0].Opts.LRG, math.Abs(float64(g[j]))+1e-8
					if d > 1e-2*lr+lr*1e-8*tol*gmax/(ag*ag) {
						t.Errorf("iteration 0 %s %s[%d]: off by %.2g (gradient %.2g)", name, tn, j, d, g[j])
					}
					continue
				}
				num = math.Max(num, d)
			}
			check("iteration 0 "+name+" "+tn, num/math.Max(den, 1e-30))
		}
	}
	for it := range stats[0] {
		a, b := stats[1][it], stats[0][it]
		for _, v := range []struct {
			name string
			a, b float64
		}{{"d_loss", a.DLoss, b.DLoss}, {"gp", a.GP, b.GP}, {"d_real", a.DReal, b.DReal}, {"d_fake", a.DFake, b.DFake},
			{"g_loss", a.GLoss, b.GLoss}, {"|grad D|", a.DGradNorm, b.DGradNorm}, {"|grad G|", a.GGradNorm, b.GGradNorm}} {
			check("iteration "+itoa(it)+" "+v.name, relDiff(v.a, v.b))
		}
	}
	// Clipped gradients of the last iteration (with two, the first
	// one's weights already differ in the last bits). A gradient that
	// sums many terms of both signs (a noise strength, a position
	// embedding shared by a batch of windows) carries a reduction-order
	// error of the size of its terms, not of the sum: each tensor's error
	// is taken relative to at least 1e-2 of the net's largest gradient.
	for _, net := range []string{"dis", "gen"} {
		if len(grads[0][net]) == 0 || len(grads[0][net]) != len(grads[1][net]) {
			t.Fatalf("%s: %d and %d gradients", net, len(grads[0][net]), len(grads[1][net]))
		}
		floor := 0.0
		for _, want := range grads[0][net] {
			floor = math.Max(floor, 1e-2*maxAbs(want))
		}
		for name, want := range grads[0][net] {
			if e := tensorErr(grads[1][net][name], want); e > 0 {
				check(net+" grad "+name, e*maxAbs(want)/math.Max(maxAbs(want), floor))
			}
		}
	}
	t.Logf("worst relative error %.2g over stats, gradients, weights and EMA", worst)
	// After two iterations Adam's second step divides by the root
	// of the first step's squared gradient: near-zero elements
	// amplify last-bit differences, so the weights get 1e-4.
	if iters < 2 {
		return firstGrads[0]
	}
	for _, w := range []struct {
		name string
		a, b model.Weights
	}{{"Dis", trs[1].Dis, trs[0].Dis}, {"Gen", trs[1].Gen, trs[0].Gen}, {"AvgGen", trs[1].AvgGen, trs[0].AvgGen}} {
		for name, want := range w.b {
			if e := tensorErr(w.a[name].F32, want.F32); e > 1e-4 {
				t.Errorf("iteration 1 %s %s: relative error %.2g (limit 1e-4)", w.name, name, e)
			}
		}
	}
	return firstGrads[0]
}

func itoa(i int) string { return strings.TrimSpace(string(rune('0' + i))) }

func TestExecutorErrors(t *testing.T) {
	tr, err := New(microConfig(t), microOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.UseExecutor("tape", runtime.CPU, ""); err == nil || !strings.Contains(err.Error(), `unknown executor "tape"`) {
		t.Errorf("unknown executor: %v", err)
	}
	if _, err := tr.UseExecutor(ExecutorGorgonia, runtime.CUDA, ""); err == nil || !strings.Contains(err.Error(), "--executor ort") {
		t.Errorf("gorgonia on cuda: %v", err)
	}
}

// TestORTResumeIsExact: with ONNX Runtime as executor, 2 iterations, a
// checkpoint, Resume and 2 more give the same weights, EMA and Adam state
// as 4 straight.
func TestORTResumeIsExact(t *testing.T) {
	requireORT(t)
	start := func() *Trainer {
		tr, err := New(microConfig(t), microOptions(), newSynth(8, 8))
		if err != nil {
			t.Fatal(err)
		}
		ortOn(t, tr)
		return tr
	}
	steps := func(tr *Trainer, n int) {
		for i := 0; i < n; i++ {
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := start()
	steps(a, 4)
	b := start()
	steps(b, 2)
	b2, err := Resume(b.Checkpoint(), newSynth(8, 8))
	if err != nil {
		t.Fatal(err)
	}
	ortOn(t, b2)
	steps(b2, 2)
	ca, cb := a.Checkpoint(), b2.Checkpoint()
	for _, p := range []struct {
		name string
		x, y model.Weights
	}{{"gen", ca.Gen, cb.Gen}, {"avg_gen", ca.AvgGen, cb.AvgGen}, {"dis", ca.Dis, cb.Dis}, {"extra", ca.Extra, cb.Extra}} {
		if d, at := maxDiff(p.x, p.y); d != 0 {
			t.Errorf("%s differs by %g (%s)", p.name, d, at)
		}
	}
	if ca.Meta[MetaState] != cb.Meta[MetaState] {
		t.Errorf("trainer state differs:\n%s\n%s", ca.Meta[MetaState], cb.Meta[MetaState])
	}
}

func ortOn(t *testing.T, tr *Trainer) {
	t.Helper()
	if _, err := tr.UseExecutor(ExecutorORT, runtime.CPU, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
}

// TestLoweredOpsHaveCUDAKernels lowers every training graph (D step,
// penalty, G step with D inlined, G forward) of v1 and final, for every
// loss, and checks each operator against ONNX Runtime's published CUDA
// kernel table (testdata/ort_cuda_ops.txt): the CUDA run cannot fail on a
// missing kernel. No ONNX Runtime library is needed.
func TestLoweredOpsHaveCUDAKernels(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "ort_cuda_ops.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cuda := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			cuda[f[0]] = true
		}
	}
	used := map[string]bool{}
	for _, cfg := range []func(testing.TB) *model.Config{microConfig, finalMicroConfig} {
		for _, loss := range Losses() {
			o := microOptions()
			o.Loss = loss
			tr, err := New(cfg(t), o, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tr.runners() {
				l, _, err := tr.lowerGraph(r.name, r.g)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := l.Model(); err != nil {
					t.Fatal(err)
				}
				for _, pair := range strings.Fields(l.G.OpCounts()) {
					op := pair[:strings.LastIndex(pair, ":")]
					used[op] = true
					if !cuda[op] {
						t.Errorf("%s %s graph (loss %s): %s has no float32 CUDA kernel in the table", cfg(t).Version, r.name, loss, op)
					}
				}
			}
		}
	}
	if len(used) < 20 {
		t.Errorf("only %d operator kinds seen: %v", len(used), used)
	}
	t.Logf("%d operator kinds checked", len(used))
}

// TestORTAutoProvider: auto runs on CUDA, or on CPU with the reason CUDA
// failed; cuda alone never falls back.
func TestORTAutoProvider(t *testing.T) {
	requireORT(t)
	tr, err := New(microConfig(t), microOptions(), newSynth(4, 8))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	fallback, err := tr.UseExecutor(ExecutorORT, runtime.Auto, "")
	if err != nil {
		t.Fatal(err)
	}
	name := tr.ExecutorName()
	switch {
	case fallback == "" && name != "ort (cuda)":
		t.Errorf("no fallback reason, but executor %s", name)
	case fallback != "" && name != "ort (cpu)":
		t.Errorf("fallback %q, but executor %s", fallback, name)
	}
	if fallback != "" {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.UseExecutor(ExecutorORT, runtime.CUDA, ""); err == nil || !strings.Contains(err.Error(), "cuda") {
			t.Errorf("cuda after auto fell back: %v, want a CUDA error", err)
		}
		if tr.ExecutorName() != ExecutorGorgonia {
			t.Errorf("after a failed switch the executor is %s, want gorgonia", tr.ExecutorName())
		}
	}
}

// TestParityORTExecutorSR: with MT-CT on, every graph (the SR task's too)
// runs on ONNX Runtime; one iteration matches the tape.
func TestParityORTExecutorSR(t *testing.T) {
	requireORT(t)
	var st [2]Stats
	var gen [2]model.Weights // the SR task's weights after the step
	for i := range st {
		o := microOptions()
		o.NCritic, o.SRWeight = 1, 1
		tr, err := New(microConfig(t), o, newSynth(8, 8))
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			ortOn(t, tr)
		}
		if st[i], err = tr.Step(); err != nil {
			t.Fatal(err)
		}
		gen[i] = tr.SR
	}
	if st[0].SRLoss == 0 {
		t.Fatal("SR loss is zero")
	}
	for _, v := range [][3]any{{"g_loss", st[1].GLoss, st[0].GLoss}, {"sr_loss", st[1].SRLoss, st[0].SRLoss}, {"|grad G|", st[1].GGradNorm, st[0].GGradNorm}} {
		if e := relDiff(v[1].(float64), v[2].(float64)); e > 1e-5 {
			t.Errorf("%s: relative error %.2g", v[0], e)
		}
	}
	if len(gen[0]) == 0 {
		t.Fatal("no SR weights")
	}
	for name, want := range gen[0] {
		if e := tensorErr(gen[1][name].F32, want.F32); e > 1e-5 {
			t.Errorf("updated %s: relative error %.2g", name, e)
		}
	}
}

// TestORTSamples: the sample grids through ONNX Runtime equal the tape's.
func TestParityORTSamples(t *testing.T) {
	requireORT(t)
	var imgs [2][]float32
	for i := range imgs {
		o := microOptions()
		o.Samples = 10 // two chunks, the second partial
		tr, err := New(finalMicroConfig(t), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			ortOn(t, tr)
		}
		if imgs[i], err = tr.Samples(); err != nil {
			t.Fatal(err)
		}
	}
	if len(imgs[1]) != len(imgs[0]) || tensorErr(imgs[1], imgs[0]) > 1e-5 {
		t.Errorf("samples: %d values, relative error %.2g", len(imgs[1]), tensorErr(imgs[1], imgs[0]))
	}
}

// TestParityORTTapeLongRun: 20 iterations (10 G steps: DiffAugment with
// every operation, the penalty, Adam, clipping and the EMA) from the same
// seed on the tape machine and on ONNX Runtime end within 1e-4 of each
// other (largest difference over the largest value, per tensor) in D, G
// and the EMA, for v1, final and the CelebA-HQ 256 family (small
// same-structure configs). The two executors round differently, and Adam
// amplifies early differences; 1e-4 after 20 iterations bounds that.
func TestParityORTTapeLongRun(t *testing.T) {
	requireORT(t)
	const iters, tol = 20, 1e-4
	for _, c := range []struct {
		name string
		cfg  func(testing.TB) *model.Config
	}{{"v1", microConfig}, {"final", finalMicroConfig}, {"celeba256", zooConfig("celeba256")}} {
		t.Run(c.name, func(t *testing.T) {
			var nets [2][3]model.Weights
			for i := range nets {
				cfg := c.cfg(t)
				o := microOptions()
				o.Seed = 5
				tr, err := New(cfg, o, newSynth(8, cfg.ImageSize))
				if err != nil {
					t.Fatal(err)
				}
				if i == 1 {
					ortOn(t, tr)
				}
				for it := 0; it < iters; it++ {
					if _, err := tr.Step(); err != nil {
						t.Fatal(err)
					}
				}
				nets[i] = [3]model.Weights{tr.Dis, tr.Gen, tr.AvgGen}
			}
			worst := 0.0
			for k, name := range []string{"D", "G", "EMA"} {
				for _, p := range slices.Sorted(maps.Keys(nets[0][k])) {
					e := tensorErr(nets[1][k][p].F32, nets[0][k][p].F32)
					worst = math.Max(worst, e)
					if e > tol {
						t.Errorf("%s %s after %d iterations: ORT vs tape relative error %.2g", name, p, iters, e)
					}
				}
			}
			t.Logf("%s: worst relative error after %d iterations %.2g", c.name, iters, worst)
		})
	}
}

// TestORTBytesPerIteration: in a steady-state iteration on ONNX Runtime
// (final family: D step, penalty, G step with the leak, updates and EMA)
// what crosses between Go and ONNX Runtime is the batch, z, noise,
// augmentation draws, small constants, scalars in and losses, statistics,
// the norm and the fakes out: no parameter, moment, EMA or gradient
// tensor, and nothing larger than the D step's image batch.
func TestORTBytesPerIteration(t *testing.T) {
	requireORT(t)
	cfg := finalMicroConfig(t)
	o := microOptions()
	o.NCritic, o.GradLeak = 1, true
	tr, err := New(cfg, o, newSynth(8, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	ortOn(t, tr)
	for i := 0; i < 2; i++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	tr.ort.recording = true
	st, err := tr.Step()
	if err != nil {
		t.Fatal(err)
	}
	if !st.DStepped || !st.GStepped {
		t.Fatalf("iteration without a D and a G step: %+v", st)
	}
	state := map[string]bool{}
	params := 0
	for _, w := range []model.Weights{tr.Gen, tr.Dis} {
		for name, p := range w {
			state[name], state["d/"+name] = true, true
			params += len(p.F32)
		}
	}
	S := cfg.ImageSize
	largest := 4 * 2 * o.DisBatch * 3 * S * S
	total := 0
	for _, m := range tr.ort.moved {
		total += m.Bytes
		base := m.Name
		if i := strings.Index(base, "/"); i >= 0 && !strings.HasPrefix(base, "d/") {
			base = base[i+1:]
		}
		if state[m.Name] || state[base] {
			t.Errorf("%s (%d bytes) crosses between Go and ONNX Runtime", m.Name, m.Bytes)
		}
		if m.Bytes > largest {
			t.Errorf("%s: %d bytes, more than the D step's batch (%d)", m.Name, m.Bytes, largest)
		}
	}
	if len(tr.ort.moved) == 0 {
		t.Fatal("nothing recorded")
	}
	t.Logf("one iteration moved %d bytes in %d tensors; the nets' parameters are %d bytes", total, len(tr.ort.moved), 4*params)
}
