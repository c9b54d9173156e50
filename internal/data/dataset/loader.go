package dataset

import (
	"fmt"
	"math/rand"
	"runtime"
	"sync"
)

// State is the cursor of a Loader: with the same Source, a Loader restored
// to a State yields exactly the batches the original would have yielded.
type State struct {
	Seed  int64 `json:"seed"`  // fixes every epoch's permutation and flips
	Epoch int   `json:"epoch"` // epoch of the last batch returned (0-based)
	Pos   int   `json:"pos"`   // images of that epoch already returned
}

// Loader yields shuffled training batches from a Source. Each epoch walks a
// new permutation of the images; a batch never spans two epochs (the
// remainder of an epoch that cannot fill a batch is skipped, like
// DataLoader's drop_last), so every batch has the requested size. (The
// official CIFAR loader keeps the short last batch, so its epochs are one
// step longer when the batch does not divide the dataset.)
type Loader struct {
	src Source
	st  State
	// NoFlip turns off the random horizontal flip (on by default, as the
	// official RandomHorizontalFlip with p = 0.5).
	NoFlip bool

	perm      []int
	permEpoch int // epoch that perm belongs to; -1 before the first
}

// NewLoader returns a Loader at the start of epoch 0. Derive seed from the
// trainer's seeded random source (for example rng.Int63()) or its config.
func NewLoader(src Source, seed int64) *Loader {
	return &Loader{src: src, st: State{Seed: seed}, permEpoch: -1}
}

// Source returns the dataset the Loader reads.
func (l *Loader) Source() Source { return l.src }

// Epoch is the 0-based epoch of the most recent batch (0 before the first):
// the epoch that schedules such as v1's attention mask refer to.
func (l *Loader) Epoch() int { return l.st.Epoch }

// StepsPerEpoch is the number of full batches of the given size per epoch.
func (l *Loader) StepsPerEpoch(batch int) int {
	if batch <= 0 {
		return 0
	}
	return l.src.Len() / batch
}

// State returns the cursor to save in a checkpoint.
func (l *Loader) State() State { return l.st }

// Restore moves the Loader to a cursor returned by State.
func (l *Loader) Restore(s State) error {
	if s.Epoch < 0 || s.Pos < 0 || s.Pos > l.src.Len() {
		return fmt.Errorf("dataset: bad loader state %+v for %d images", s, l.src.Len())
	}
	l.st = s
	l.permEpoch = -1
	return nil
}

// Next returns the next batch as float32 [batch, 3, S, S] in [-1, 1].
func (l *Loader) Next(batch int) ([]float32, error) {
	s := l.src.ImageSize()
	dst := make([]float32, batch*3*s*s)
	if err := l.NextInto(dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// NextInto fills dst (len batch*3*S*S) with the next batch, starting a new
// epoch first when the current one has fewer than batch images left.
func (l *Loader) NextInto(dst []float32) error {
	s := l.src.ImageSize()
	n, per := l.src.Len(), 3*s*s
	if len(dst) == 0 || len(dst)%per != 0 {
		return fmt.Errorf("dataset: batch buffer of %d values is not a positive multiple of 3x%dx%d", len(dst), s, s)
	}
	batch := len(dst) / per
	if batch > n {
		return fmt.Errorf("dataset: batch %d larger than the dataset (%d images)", batch, n)
	}
	if l.st.Pos+batch > n {
		l.st.Epoch++
		l.st.Pos = 0
	}
	perm := l.permutation()
	read := func(b int) {
		pos := l.st.Pos + b
		flip := !l.NoFlip && mix(uint64(l.st.Seed), 2, uint64(l.st.Epoch), uint64(pos))&1 == 1
		l.src.Read(perm[pos], flip, dst[b*per:(b+1)*per])
	}
	f, lazy := l.src.(failer)
	if lazy { // decoding from disk: one image per CPU at a time
		parallel(batch, read)
		if err := f.Err(); err != nil {
			return err
		}
	} else {
		for b := 0; b < batch; b++ {
			read(b)
		}
	}
	l.st.Pos += batch
	return nil
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines.
func parallel(n int, f func(int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// failer is a Source that reads from disk on demand (Lazy, STL10), is
// safe for concurrent Reads, and reports its first read failure.
type failer interface{ Err() error }

// permutation returns the image order of the current epoch.
func (l *Loader) permutation() []int {
	if l.permEpoch != l.st.Epoch {
		seed := int64(mix(uint64(l.st.Seed), 1, uint64(l.st.Epoch)))
		l.perm = rand.New(rand.NewSource(seed)).Perm(l.src.Len())
		l.permEpoch = l.st.Epoch
	}
	return l.perm
}

// mix hashes its arguments with splitmix64 steps into one well-mixed value.
func mix(vals ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vals {
		h ^= v
		h += 0x9e3779b97f4a7c15
		h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
		h = (h ^ h>>27) * 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}
