//go:build noblas

package metrics

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/lapack"
	lapackgo "gonum.org/v1/gonum/lapack/gonum"
)

// LinalgName names the linear algebra the metrics run on: the pure-Go build
// (go build -tags noblas) uses gonum, which is correct but slow for 2048-d
// FID (about two minutes for the eigendecomposition).
const LinalgName = "gonum"

// blasImpl runs the matrix products (gonum's pure-Go BLAS).
var blasImpl blas.Float64 = gonum.Implementation{}

// symEigen computes the eigenvalues (ascending) of the symmetric n x n
// matrix a, row-major. With vectors, a is overwritten with the eigenvectors
// as rows (row i belongs to eigenvalue i); otherwise a is destroyed.
func symEigen(a []float64, n int, vectors bool) ([]float64, error) {
	if n == 0 {
		return nil, nil
	}
	if len(a) != n*n {
		return nil, fmt.Errorf("eigen: %d values for %dx%d", len(a), n, n)
	}
	jobz := lapack.EVNone
	if vectors {
		jobz = lapack.EVCompute
	}
	impl := lapackgo.Implementation{}
	w := make([]float64, n)
	q := make([]float64, 1)
	impl.Dsyev(jobz, blas.Upper, n, a, n, w, q, -1)
	work := make([]float64, int(q[0]))
	if !impl.Dsyev(jobz, blas.Upper, n, a, n, w, work, len(work)) {
		return nil, fmt.Errorf("eigen: dsyev failed to converge")
	}
	if vectors { // gonum returns the eigenvectors as columns
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				a[i*n+j], a[j*n+i] = a[j*n+i], a[i*n+j]
			}
		}
	}
	return w, nil
}
