//go:build noblas

package main

import (
	"fmt"
	goruntime "runtime"
)

// blasInfo describes the BLAS of the pure-Go build: gonum's native
// implementation, whose matrix product splits its blocks over up to
// GOMAXPROCS goroutines.
func blasInfo() string {
	return fmt.Sprintf("gonum (pure Go, -tags noblas), up to %d goroutines (GOMAXPROCS)", goruntime.GOMAXPROCS(0))
}
