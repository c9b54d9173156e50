package dataset

import (
	"math"
	"math/rand"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// imageIDs decodes a batch of grayMemory images back to their indices and
// flip flags (the 255 marker sits top-left, or top-right when flipped).
func imageIDs(t *testing.T, x []float32, s int) (ids []int, flips []bool) {
	t.Helper()
	per := 3 * s * s
	for b := 0; b < len(x)/per; b++ {
		img := x[b*per : (b+1)*per]
		flipped := img[0] != 1
		id := img[0]
		if !flipped {
			id = img[1]
		}
		ids = append(ids, int(math.Round(float64(id+1)*127.5)))
		flips = append(flips, flipped)
	}
	return ids, flips
}

func TestLoaderEpochs(t *testing.T) {
	const n, s, batch = 10, 2, 4
	l := NewLoader(grayMemory(t, n, s), 7)
	if l.StepsPerEpoch(batch) != 2 || l.Epoch() != 0 {
		t.Fatalf("steps %d epoch %d", l.StepsPerEpoch(batch), l.Epoch())
	}
	for epoch := 0; epoch < 3; epoch++ {
		seen := map[int]bool{}
		for step := 0; step < 2; step++ {
			x, err := l.Next(batch)
			if err != nil {
				t.Fatal(err)
			}
			if l.Epoch() != epoch {
				t.Fatalf("epoch %d step %d: Epoch() = %d", epoch, step, l.Epoch())
			}
			ids, _ := imageIDs(t, x, s)
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("epoch %d repeats image %d", epoch, id)
				}
				seen[id] = true
			}
		}
		if st := l.State(); st.Pos != 8 || st.Epoch != epoch {
			t.Fatalf("state %+v", st)
		}
	}
}

func TestLoaderShufflesAndFlips(t *testing.T) {
	const n, s = 100, 2
	l := NewLoader(grayMemory(t, n, s), 1)
	x0, _ := l.Next(n)
	x1, _ := l.Next(n)
	ids0, flips := imageIDs(t, x0, s)
	ids1, _ := imageIDs(t, x1, s)
	if reflect.DeepEqual(ids0, ids1) {
		t.Error("two epochs in the same order")
	}
	identity := 0
	nflip := 0
	for i := range ids0 {
		if ids0[i] == i {
			identity++
		}
		if flips[i] {
			nflip++
		}
	}
	if identity > 10 || nflip < 30 || nflip > 70 {
		t.Errorf("%d fixed points, %d flips of %d", identity, nflip, n)
	}
	l = NewLoader(grayMemory(t, n, s), 1)
	l.NoFlip = true
	x, _ := l.Next(n)
	ids, flips := imageIDs(t, x, s)
	if !reflect.DeepEqual(ids, ids0) {
		t.Error("NoFlip changed the order")
	}
	for _, f := range flips {
		if f {
			t.Fatal("NoFlip flipped")
		}
	}
}

func TestLoaderResume(t *testing.T) {
	src := grayMemory(t, 23, 3)
	a := NewLoader(src, 99)
	var saved State
	var want [][]float32
	for step := 0; step < 12; step++ {
		x, err := a.Next(5)
		if err != nil {
			t.Fatal(err)
		}
		if step == 4 {
			saved = a.State()
		}
		if step > 4 {
			want = append(want, x)
		}
	}
	b := NewLoader(src, 0)
	if err := b.Restore(saved); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		x, _ := b.Next(5)
		if !reflect.DeepEqual(x, w) {
			t.Fatalf("batch %d after resume differs", i)
		}
	}
	if a.State() != b.State() {
		t.Errorf("states %+v vs %+v", a.State(), b.State())
	}
}

func TestLoaderErrors(t *testing.T) {
	l := NewLoader(grayMemory(t, 4, 2), 0)
	if _, err := l.Next(5); err == nil || !strings.Contains(err.Error(), "batch 5 larger than the dataset (4 images)") {
		t.Errorf("big batch: %v", err)
	}
	if _, err := l.Next(0); err == nil {
		t.Error("batch 0 accepted")
	}
	if err := l.NextInto(make([]float32, 13)); err == nil || !strings.Contains(err.Error(), "not a positive multiple of 3x2x2") {
		t.Errorf("bad buffer: %v", err)
	}
	for _, st := range []State{{Epoch: -1}, {Pos: 5}, {Pos: -1}} {
		if err := l.Restore(st); err == nil {
			t.Errorf("Restore(%+v) accepted", st)
		}
	}
}

// BenchmarkLoadBatch measures one shuffled, flipped CIFAR-10 batch (real
// data when available, else synthetic records).
func BenchmarkLoadBatch(b *testing.B) {
	var src Source
	if _, err := os.Stat(realCIFAR); err == nil {
		src, err = Open("cifar10", realCIFAR, 32)
		if err != nil {
			b.Fatal(err)
		}
	} else {
		m := NewMemory("synthetic", 3, 32)
		rec := cifarRecords(1)
		for i := 0; i < 10000; i++ {
			m.Add(rec[1:], 32, 32)
		}
		src = m
	}
	for _, batch := range []int{32, 64, 128} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			l := NewLoader(src, rand.Int63())
			dst := make([]float32, batch*3*32*32)
			b.SetBytes(int64(4 * len(dst)))
			for i := 0; i < b.N; i++ {
				if err := l.NextInto(dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenCIFAR10 measures decoding the real 10,000-image batch.
func BenchmarkOpenCIFAR10(b *testing.B) {
	needFile(b, realCIFAR)
	for i := 0; i < b.N; i++ {
		if _, err := Open("cifar10", realCIFAR, 32); err != nil {
			b.Fatal(err)
		}
	}
}
