//go:build !noblas

package metrics

/*
#cgo LDFLAGS: -lopenblas
#include <stddef.h>

// LAPACK's divide-and-conquer symmetric eigensolver, as OpenBLAS exports it
// (Fortran calling convention, 32-bit integers, hidden string lengths last).
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
	const int *lda, double *w, double *work, const int *lwork, int *iwork,
	const int *liwork, int *info, size_t jobz_len, size_t uplo_len);

static int tgan_dsyevd(char jobz, int n, double *a, double *w, double *work,
	int lwork, int *iwork, int liwork) {
	char uplo = 'U';
	int info = 0;
	dsyevd_(&jobz, &uplo, &n, a, &n, w, work, &lwork, iwork, &liwork, &info, 1, 1);
	return info;
}
*/
import "C"

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// LinalgName names the linear algebra the metrics run on.
const LinalgName = "openblas"

// blasImpl runs the matrix products (OpenBLAS through cgo).
var blasImpl blas.Float64 = netlib.Implementation{}

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
	jobz := C.char('N')
	if vectors {
		jobz = 'V'
	}
	w := make([]float64, n)
	// Workspace query, then the real call. LAPACK's column-major view of a
	// row-major symmetric matrix is the same matrix; its eigenvector columns
	// are rows in Go's view.
	var qwork C.double
	var qiwork C.int
	if info := C.tgan_dsyevd(jobz, C.int(n), (*C.double)(&a[0]), (*C.double)(&w[0]),
		&qwork, -1, &qiwork, -1); info != 0 {
		return nil, fmt.Errorf("eigen: dsyevd workspace query failed (info %d)", int(info))
	}
	work := make([]float64, int(qwork))
	iwork := make([]C.int, int(qiwork))
	info := C.tgan_dsyevd(jobz, C.int(n), (*C.double)(&a[0]), (*C.double)(&w[0]),
		(*C.double)(&work[0]), C.int(len(work)), &iwork[0], C.int(len(iwork)))
	if info != 0 {
		return nil, fmt.Errorf("eigen: dsyevd failed to converge (info %d)", int(info))
	}
	return w, nil
}
