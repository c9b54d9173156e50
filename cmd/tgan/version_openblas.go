//go:build !noblas

package main

/*
#cgo LDFLAGS: -lopenblas
int openblas_get_num_threads(void);
int openblas_get_parallel(void);
char *openblas_get_config(void);
*/
import "C"

import "fmt"

// blasInfo describes the BLAS under the Gorgonia matrix products: OpenBLAS
// as built (its own config string) and the threads it will use, which
// OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS) sets, by default one per core.
func blasInfo() string {
	model := map[int]string{0: "sequential", 1: "pthreads", 2: "OpenMP"}[int(C.openblas_get_parallel())]
	return fmt.Sprintf("%s (%s), %d threads", C.GoString(C.openblas_get_config()), model,
		int(C.openblas_get_num_threads()))
}
