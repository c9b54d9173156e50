//go:build noblas

package engine

import goruntime "runtime"

// setBLASThreads does nothing: gonum's pure-Go kernels and gmodel's row
// loops split work over GOMAXPROCS goroutines, which Go already bounds by
// the affinity mask and cgroup quota.
func setBLASThreads(int) {}

// blasThreads returns the goroutines the pure-Go kernels use.
func blasThreads() int { return goruntime.GOMAXPROCS(0) }
