//go:build noblas

package gmodel

// BLASName names the BLAS the matrix products run on: the pure-Go build
// (go build -tags noblas) uses gonum's native implementation.
const BLASName = "gonum"
