package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
)

// DefaultPRK is the neighbourhood size k of precision, recall, density and
// coverage: 3, as Kynkäänniemi et al. recommend (and StyleGAN's pr50k3).
const DefaultPRK = 3

// PRDC holds the four k-nearest-neighbour manifold metrics of a generated
// feature set against a real one.
//
// The ball of a point is centred on it with radius its distance to its k-th
// nearest neighbour in its own set, the point itself excluded (a duplicate
// of the point counts as a neighbour at distance 0). This is the
// (k+1)-th smallest entry of its row of the set's distance matrix, diagonal
// included, as the official implementations take it (NVlabs'
// kthvalue(k+1), clovaai/prdc's k+1 partition). A point is inside a ball
// when its distance is at most the radius (<=, as the official improved
// precision/recall code and StyleGAN2-ADA compare; clovaai/prdc compares
// with < and so differs only when a distance equals a radius exactly, as in
// discrete or duplicated data). With N real and M generated features:
//
//   - Precision (Kynkäänniemi et al. 2019): the fraction of generated
//     features inside at least one real ball.
//   - Recall: the fraction of real features inside at least one generated
//     ball (the generated set's own k-th neighbour radii).
//   - Density (Naeem et al. 2020): (1/(kM)) sum_j sum_i 1[fake_j in ball(real_i)],
//     the mean number of real balls holding a generated feature, over k;
//     about 1 when the sets come from one distribution, and unbounded.
//   - Coverage (Naeem et al. 2020): the fraction of real balls that hold at
//     least one generated feature.
type PRDC struct {
	Precision, Recall, Density, Coverage float64
	K                                    int
}

// tileRows is the side of the distance tiles: two tiles of features in
// float64 and one tile of squared distances (1024 x 1024 float64, 8 MiB)
// are all the memory the distances take, whatever the set sizes (tests set
// it small to cover the tiling).
var tileRows = 1024

// Manifold is one feature set prepared for [ComparePRDC]: the features
// (float32, shared, not copied), their squared norms and the squared radius
// of each point's k-nearest-neighbour ball.
type Manifold struct {
	features []float32
	n, d, k  int
	sq       []float64 // squared norms, float64
	radii2   []float64 // squared distance to the k-th nearest other point
}

// NewManifold computes the balls of n features of dimension d (row-major,
// (n, d)) for neighbourhood size k. It needs k < n: a point has only n-1
// others. Distances are float64 (|x|^2 + |y|^2 - 2 x.y from BLAS, clamped
// at 0), computed tile by tile over the upper triangle only.
func NewManifold(features []float32, n, d, k int) (*Manifold, error) {
	if d <= 0 || n <= 0 || len(features) != n*d {
		return nil, fmt.Errorf("%d feature values for %d vectors of %d", len(features), n, d)
	}
	if k < 1 {
		return nil, fmt.Errorf("k = %d: want at least 1", k)
	}
	if k >= n {
		return nil, fmt.Errorf("k = %d needs at least %d feature vectors (the k-th nearest neighbour of each among the others), have %d", k, k+1, n)
	}
	m := &Manifold{features: features, n: n, d: d, k: k, sq: squaredNorms(features, n, d)}
	if !finite(m.sq) {
		return nil, fmt.Errorf("the features hold NaN or Inf")
	}
	m.radii2 = m.kthNeighbour()
	return m, nil
}

// N is the number of features, K the neighbourhood size.
func (m *Manifold) N() int { return m.n }

// K is the neighbourhood size the radii were computed for.
func (m *Manifold) K() int { return m.k }

// Radii returns each point's ball radius (distance to its k-th nearest
// neighbour).
func (m *Manifold) Radii() []float64 {
	r := make([]float64, m.n)
	for i, v := range m.radii2 {
		r[i] = math.Sqrt(v)
	}
	return r
}

// kthNeighbour returns the squared k-th nearest neighbour distance of every
// point: each pair's distance is computed once (tiles on and above the
// diagonal) and offered to both points' k smallest.
func (m *Manifold) kthNeighbour() []float64 {
	best := newKSmallest(m.n, m.k)
	pairwise(m, m, true, func(i0, j0, rows, cols int, d2 []float64) {
		for r := 0; r < rows; r++ {
			i := i0 + r
			for c, v := range d2[r*cols : (r+1)*cols] {
				if j := j0 + c; j > i {
					best.offer(i, v)
					best.offer(j, v)
				}
			}
		}
	})
	return best.largest()
}

// ComparePRDC returns precision, recall, density and coverage of the
// generated set fake against the real set real (see [PRDC]); both must
// have the same dimension and k. One pass over the real x generated
// distances, tile by tile.
func ComparePRDC(real, fake *Manifold) (PRDC, error) {
	if real.d != fake.d {
		return PRDC{}, fmt.Errorf("prdc: real features are %d-d, generated %d-d", real.d, fake.d)
	}
	if real.k != fake.k {
		return PRDC{}, fmt.Errorf("prdc: real balls for k = %d, generated for k = %d", real.k, fake.k)
	}
	inBalls := make([]int, fake.n)   // real balls holding generated j
	covered := make([]bool, real.n)  // real ball i holds a generated point
	recalled := make([]bool, real.n) // real i lies in a generated ball
	pairwise(real, fake, false, func(i0, j0, rows, cols int, d2 []float64) {
		for r := 0; r < rows; r++ {
			i := i0 + r
			ri := real.radii2[i]
			for c, v := range d2[r*cols : (r+1)*cols] {
				j := j0 + c
				if v <= ri {
					inBalls[j]++
					covered[i] = true
				}
				if v <= fake.radii2[j] {
					recalled[i] = true
				}
			}
		}
	})
	precise, total := 0, 0
	for _, c := range inBalls {
		total += c
		if c > 0 {
			precise++
		}
	}
	m, n := float64(fake.n), float64(real.n)
	return PRDC{
		Precision: float64(precise) / m,
		Recall:    float64(count(recalled)) / n,
		Density:   float64(total) / (float64(real.k) * m),
		Coverage:  float64(count(covered)) / n,
		K:         real.k,
	}, nil
}

// ComputePRDC is [NewManifold] for both sets, then [ComparePRDC]: real
// (nr, d) and fake (nf, d) features, neighbourhood size k.
func ComputePRDC(real []float32, nr int, fake []float32, nf int, d, k int) (PRDC, error) {
	rm, err := NewManifold(real, nr, d, k)
	if err != nil {
		return PRDC{}, fmt.Errorf("prdc: real features: %w", err)
	}
	fm, err := NewManifold(fake, nf, d, k)
	if err != nil {
		return PRDC{}, fmt.Errorf("prdc: generated features: %w", err)
	}
	return ComparePRDC(rm, fm)
}

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func squaredNorms(x []float32, n, d int) []float64 {
	sq := make([]float64, n)
	for i := range sq {
		s := 0.0
		for _, v := range x[i*d : (i+1)*d] {
			s += float64(v) * float64(v)
		}
		sq[i] = s
	}
	return sq
}

// pairwise hands visit the squared distances between a's and b's features,
// tile by tile: d2[r*cols+c] is the distance of a's point i0+r to b's point
// j0+c. With upper (a == b), only tiles on and above the diagonal come.
// Each tile converts its rows of both sets to float64 and multiplies them
// with BLAS; no tile holds more than tileRows x tileRows distances.
func pairwise(a, b *Manifold, upper bool, visit func(i0, j0, rows, cols int, d2 []float64)) {
	t := tileRows
	d := a.d
	xa := make([]float64, min(t, a.n)*d)
	xb := make([]float64, min(t, b.n)*d)
	g := make([]float64, min(t, a.n)*min(t, b.n))
	for i0 := 0; i0 < a.n; i0 += t {
		rows := min(t, a.n-i0)
		toFloat64(xa, a.features[i0*d:(i0+rows)*d])
		start := 0
		if upper {
			start = i0
		}
		for j0 := start; j0 < b.n; j0 += t {
			cols := min(t, b.n-j0)
			toFloat64(xb, b.features[j0*d:(j0+cols)*d])
			d2 := g[:rows*cols]
			blasImpl.Dgemm(blas.NoTrans, blas.Trans, rows, cols, d, 1, xa, d, xb, d, 0, d2, cols)
			for r := 0; r < rows; r++ {
				si := a.sq[i0+r]
				row := d2[r*cols : (r+1)*cols]
				for c, dot := range row {
					row[c] = max(0, si+b.sq[j0+c]-2*dot)
				}
			}
			visit(i0, j0, rows, cols, d2)
		}
	}
}

func toFloat64(dst []float64, src []float32) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}

// kSmallest keeps, for each of n points, the k smallest values offered, as
// a max-heap (its root, the k-th smallest so far, decides admission).
type kSmallest struct {
	k    int
	heap []float64 // n heaps of k values
	size []int
}

func newKSmallest(n, k int) *kSmallest {
	return &kSmallest{k: k, heap: make([]float64, n*k), size: make([]int, n)}
}

func (s *kSmallest) offer(i int, v float64) {
	h := s.heap[i*s.k : (i+1)*s.k]
	if n := s.size[i]; n < s.k {
		h[n] = v
		s.size[i] = n + 1
		for c := n; c > 0; { // sift up
			p := (c - 1) / 2
			if h[p] >= h[c] {
				break
			}
			h[p], h[c] = h[c], h[p]
			c = p
		}
		return
	}
	if v >= h[0] {
		return
	}
	h[0] = v
	for p := 0; ; { // sift down
		c := 2*p + 1
		if c >= s.k {
			break
		}
		if c+1 < s.k && h[c+1] > h[c] {
			c++
		}
		if h[p] >= h[c] {
			break
		}
		h[p], h[c] = h[c], h[p]
		p = c
	}
}

// largest returns each heap's root: the k-th smallest value offered.
func (s *kSmallest) largest() []float64 {
	out := make([]float64, len(s.size))
	for i := range out {
		out[i] = s.heap[i*s.k]
	}
	return out
}
