//go:build !noblas

package gmodel

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// BLASName names the BLAS the matrix products run on.
const BLASName = "openblas"

func init() { G.Use(netlib.Implementation{}) }
