package trainer

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// snapshot copies every tensor of the training state that Go can see.
func snapshot(tr *Trainer) map[string][]float32 {
	out := map[string][]float32{}
	ck := tr.Checkpoint()
	for k, w := range map[string]model.Weights{"D": ck.Dis, "G": ck.Gen, "EMA": ck.AvgGen} {
		for name, p := range w {
			out[k+"/"+name] = slices.Clone(p.F32)
		}
	}
	for name, x := range ck.Extra {
		out["extra/"+name] = slices.Clone(x.F32)
	}
	return out
}

// liveWeights copies the Trainer's Go tensors as they are, without a sync.
func liveWeights(tr *Trainer) map[string][]float32 {
	out := map[string][]float32{}
	for k, w := range map[string]model.Weights{"D": tr.Dis, "G": tr.Gen, "EMA": tr.AvgGen} {
		for name, p := range w {
			out[k+"/"+name] = slices.Clone(p.F32)
		}
	}
	return out
}

func sameState(t *testing.T, what string, got, want map[string][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d tensors, want %d", what, len(got), len(want))
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, w := got[k], want[k]
		if len(g) != len(w) {
			t.Fatalf("%s: %s has %d values, want %d", what, k, len(g), len(w))
		}
		for i := range w {
			if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
				t.Fatalf("%s: %s[%d] = %g, want %g", what, k, i, g[i], w[i])
			}
		}
	}
}

// TestParityORTDeviceState: on the CPU provider, the executor with its
// state in device tensors (SetORTDeviceState: the path CUDA takes, through
// the device shim) gives bit for bit the losses, weights, moments, EMA,
// pending gradient sum and samples of the executor over Go memory, moves
// the same tensors per run, and leaves the Go tensors untouched until they
// are synced (Checkpoint, SyncWeights, Close).
func TestParityORTDeviceState(t *testing.T) {
	requireORT(t)
	const iters = 5
	for _, c := range []struct {
		name string
		cfg  func(testing.TB) *model.Config
		opts func(*Options)
	}{
		{"v1", microConfig, func(o *Options) {}},
		{"final-leak-accumulate", finalMicroConfig, func(o *Options) { o.NCritic, o.GradLeak, o.Accumulate = 1, true, 2 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stats [2][]Stats
			var states [2]map[string][]float32
			var samples [2][]float32
			var moved [2]int
			for i, device := range []bool{false, true} {
				cfg := c.cfg(t)
				o := microOptions()
				c.opts(&o)
				tr, err := New(cfg, o, newSynth(8, cfg.ImageSize))
				if err != nil {
					t.Fatal(err)
				}
				tr.SetORTDeviceState(device)
				ortOn(t, tr)
				if (tr.ort.device != nil) != device {
					t.Fatalf("device state %v: executor has device %v", device, tr.ort.device != nil)
				}
				before := liveWeights(tr)
				for it := 0; it < iters; it++ {
					if it == iters-1 {
						tr.ort.recording = true
					}
					st, err := tr.Step()
					if err != nil {
						t.Fatal(err)
					}
					stats[i] = append(stats[i], st)
				}
				moved[i] = len(tr.ort.moved)
				if device {
					sameState(t, "Go weights before the sync", liveWeights(tr), before)
				}
				if samples[i], err = tr.Samples(); err != nil {
					t.Fatal(err)
				}
				states[i] = snapshot(tr)
				if device {
					t.Logf("%s: state on the device %d bytes, memory %v", c.name, tr.ort.device.Bytes(), tr.ort.device.Memory())
				}
			}
			for it := range stats[0] {
				if stats[0][it] != stats[1][it] {
					t.Fatalf("iteration %d: stats %+v through the device, %+v over Go memory", it, stats[1][it], stats[0][it])
				}
			}
			sameState(t, "state after "+c.name, states[1], states[0])
			sameState(t, "samples", map[string][]float32{"s": samples[1]}, map[string][]float32{"s": samples[0]})
			if moved[0] != moved[1] || moved[0] == 0 {
				t.Errorf("tensors moved in the last iteration: %d through the device, %d over Go memory", moved[1], moved[0])
			}
		})
	}
}

// TestORTDeviceStateLoadAndClose: with the state on the device, loading
// weights (LoadWeights) reaches the device and keeps the device's Adam
// moments (Go's copy is stale until synced), and closing the executor
// copies the state back so the run can go on from Go memory.
func TestORTDeviceStateLoadAndClose(t *testing.T) {
	requireORT(t)
	cfg := microConfig(t)
	tr, err := New(cfg, microOptions(), newSynth(8, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	tr.SetORTDeviceState(true)
	ortOn(t, tr)
	ck := tr.Checkpoint()
	start := *ck
	start.Gen, start.AvgGen, start.Dis = cloneWeights(ck.Gen), cloneWeights(ck.AvgGen), cloneWeights(ck.Dis)
	startState := snapshot(tr)
	for it := 0; it < 2; it++ {
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
	}
	trained := snapshot(tr)
	if slices.Equal(trained["G/"+firstKey(tr.Gen)], startState["G/"+firstKey(tr.Gen)]) {
		t.Fatal("two steps changed nothing")
	}
	if _, err := tr.Step(); err != nil { // the device is ahead of Go again
		t.Fatal(err)
	}
	moments := withPrefix(snapshot(tr), "extra/")
	if err := tr.LoadWeights(&start); err != nil {
		t.Fatal(err)
	}
	sameState(t, "weights after LoadWeights", withPrefix(snapshot(tr), "D/", "G/", "EMA/"), withPrefix(startState, "D/", "G/", "EMA/"))
	sameState(t, "moments after LoadWeights", withPrefix(snapshot(tr), "extra/"), moments)
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	last := snapshot(tr)
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(liveWeights(tr)["G/"+firstKey(tr.Gen)], last["G/"+firstKey(tr.Gen)]) {
		t.Error("Close did not bring the last step's weights back to Go")
	}
}

func cloneWeights(w model.Weights) model.Weights {
	out := model.Weights{}
	for k, p := range w {
		out[k] = &model.Tensor{Shape: p.Shape, F32: slices.Clone(p.F32), I64: slices.Clone(p.I64)}
	}
	return out
}

func firstKey(w model.Weights) string { return slices.Sorted(maps.Keys(w))[0] }

// withPrefix keeps the entries whose names begin with one of prefixes.
func withPrefix(m map[string][]float32, prefixes ...string) map[string][]float32 {
	out := map[string][]float32{}
	for k, v := range m {
		for _, p := range prefixes {
			if strings.HasPrefix(k, p) {
				out[k] = v
			}
		}
	}
	return out
}

// TestORTDeviceStateCUDAError: on a machine where CUDA cannot run, asking
// the executor for it fails while opening the state's memory, with an
// error that names CUDA and what is missing, and leaves the tape machine.
func TestORTDeviceStateCUDAError(t *testing.T) {
	requireORT(t)
	tr, err := New(microConfig(t), microOptions(), newSynth(4, 8))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, err = tr.UseExecutor(ExecutorORT, runtime.CUDA, "")
	if err == nil {
		t.Skip("CUDA runs here")
	}
	msg := err.Error()
	if !strings.Contains(msg, "training state memory: cuda provider:") || !strings.Contains(msg, ".so") && !strings.Contains(msg, "CUDAExecutionProvider") {
		t.Errorf("CUDA error does not say what is missing: %v", err)
	}
	if tr.ExecutorName() != ExecutorGorgonia {
		t.Errorf("executor %s after the failure, want gorgonia", tr.ExecutorName())
	}
	t.Log(msg)
}
