package engine

import (
	"os"

	"github.com/tgan-dev/tgan/runtime"
)

// blasThreadEnv are the variables with which a user sets OpenBLAS's thread
// count; when one is set, the engine leaves the count alone.
var blasThreadEnv = []string{"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"}

// useBLASThreads sizes OpenBLAS for a Gorgonia model: n threads (the
// --threads flag) or, for 0, the cores this process may use
// (runtime.UsableCores). OpenBLAS's own default counts the CPUs in the
// affinity mask but not a cgroup quota, so in a container limited to fewer
// CPUs than the host has its threads would compete for them.
func useBLASThreads(n int) {
	if n <= 0 {
		for _, v := range blasThreadEnv {
			if os.Getenv(v) != "" {
				return
			}
		}
		n = runtime.UsableCores()
	}
	setBLASThreads(n)
}

// Threads returns the threads one operator of m may use: ONNX Runtime's
// intra-op threads for an .onnx file, OpenBLAS's for a checkpoint.
func Threads(m Model) int {
	if o, ok := m.(*onnxModel); ok {
		return o.env.Options().IntraOpThreads
	}
	return blasThreads()
}
