//go:build !noblas

package engine

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// int openblas_get_num_threads(void);
import "C"

// setBLASThreads sets OpenBLAS's process-wide thread count.
func setBLASThreads(n int) { C.openblas_set_num_threads(C.int(n)) }

// blasThreads returns OpenBLAS's thread count.
func blasThreads() int { return int(C.openblas_get_num_threads()) }
