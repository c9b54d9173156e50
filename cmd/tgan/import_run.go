package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/data/dataset"
	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runfolder"
	"github.com/tgan-dev/tgan/trainer"
)

// continueRun makes the imported checkpoint ck the newest checkpoint of the
// tgan run in dir, so that 'tgan train --resume dir' continues from it with
// the file's Adam moments and counters: the trainer state is the run's
// latest one with the counters taken from the file (G steps = the Adam step
// of gen_optimizer, iterations = that of dis_optimizer, data epoch = the
// file's epoch, from its start) and the Adam hyper-parameters of its param
// groups. A file that tgan export --pth wrote and nothing trained since keeps
// its own trainer state. It returns the checkpoint written and notes.
func continueRun(dir string, ck *checkpoint.Checkpoint) (string, []string, error) {
	latest := filepath.Join(dir, runfolder.LatestFile)
	name, err := os.ReadFile(latest)
	if err != nil {
		return "", nil, fmt.Errorf("--run %s is not a tgan run folder (no %s)", dir, runfolder.LatestFile)
	}
	prev, err := checkpoint.Load(filepath.Join(dir, strings.TrimSpace(string(name))))
	if err != nil {
		return "", nil, fmt.Errorf("--run %s: %w", dir, err)
	}
	if prev.Config.JSON() != ck.Config.JSON() {
		return "", nil, fmt.Errorf("--run %s: the run's model %s differs from the file's %s", dir, prev.Config.JSON(), ck.Config.JSON())
	}
	if ck.AvgGen == nil || ck.Dis == nil {
		return "", nil, fmt.Errorf("--run %s: the file lacks the EMA generator or the discriminator, which a resumed run needs", dir)
	}
	var notes []string
	if ck.Meta[checkpoint.MetaState] == "" {
		if notes, err = officialState(prev, ck); err != nil {
			return "", nil, fmt.Errorf("--run %s: %w", dir, err)
		}
	}
	ck.Meta[checkpoint.MetaRun] = prev.Meta[checkpoint.MetaRun]
	st, _, err := checkpoint.ReadState[trainer.Options](ck)
	if err != nil {
		return "", nil, fmt.Errorf("--run %s: %w", dir, err)
	}
	out := filepath.Join(dir, runfolder.CheckpointName(st.GSteps))
	if _, err := os.Stat(out); err == nil {
		return "", nil, fmt.Errorf("--run %s already has %s: the file adds no G steps to the run", dir, filepath.Base(out))
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", nil, err
	}
	if err := checkpoint.Save(out, ck); err != nil {
		return "", nil, err
	}
	return out, notes, atomicfile.WriteBytes(latest, []byte(filepath.Base(out)+"\n"))
}

// officialState builds ck's trainer state from the run's previous one and
// the counters and hyper-parameters the official file carries, and gives
// every tensor the run trains Adam moments (zero where the file had none).
func officialState(prev, ck *checkpoint.Checkpoint) ([]string, error) {
	st, _, err := checkpoint.ReadState[trainer.Options](prev)
	if err != nil {
		return nil, fmt.Errorf("its latest checkpoint: %w", err)
	}
	num := func(key string) (float64, bool) {
		v, err := strconv.ParseFloat(ck.Meta[key], 64)
		return v, err == nil
	}
	var notes []string
	g, _ := num("official_adam_g_step")
	d, _ := num("official_adam_d_step")
	epoch, _ := num("official_epoch")
	st.GSteps, st.AdamGStep, st.AdamDStep, st.Iter = int(g), int(g), int(d), int64(d)
	st.Loader = dataset.State{Seed: st.Loader.Seed, Epoch: int(epoch)}
	o := &st.Options
	for _, h := range []struct {
		key string
		dst *float64
	}{
		{"official_gen_lr", &o.LRG}, {"official_dis_lr", &o.LRD}, {"official_gen_beta1", &o.Beta1},
		{"official_gen_beta2", &o.Beta2}, {"official_gen_eps", &o.AdamEps},
	} {
		if v, ok := num(h.key); ok && v != *h.dst {
			notes = append(notes, fmt.Sprintf("%s %g replaces the run's %g", h.key, v, *h.dst))
			*h.dst = v
		}
	}
	if ck.Extra == nil {
		ck.Extra = map[string]*model.Tensor{}
	}
	zeroed := 0
	for k, t := range prev.Extra {
		if strings.HasPrefix(k, checkpoint.OptPrefix) && ck.Extra[k] == nil {
			ck.Extra[k] = &model.Tensor{Shape: t.Shape, F32: make([]float32, len(t.F32))}
			zeroed++
		}
	}
	if zeroed > 0 {
		notes = append(notes, fmt.Sprintf("%d Adam moment tensors were not in the file: they start at zero", zeroed))
	}
	if err := checkpoint.WriteState(ck, st); err != nil {
		return nil, err
	}
	notes = append(notes, fmt.Sprintf("run continues at G step %d, iteration %d, data epoch %d (from its start)", st.GSteps, st.Iter, st.Loader.Epoch))
	return notes, nil
}
