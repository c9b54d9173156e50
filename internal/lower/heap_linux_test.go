package lower

import (
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
)

// TestHeapKeepsFreedMemory checks the constructor's policy: a 64 MiB block
// comes from the heap (not a fresh mmap) and stays there once freed, so the
// next run reuses its pages; with ReturnFreedMemory a run gives them back.
func TestHeapKeepsFreedMemory(t *testing.T) {
	const n = 64 << 20
	heap0, mm0 := heapBytes()
	cAllocFree(n)
	heap1, mm1 := heapBytes()
	t.Logf("heap %d -> %d bytes, mmapped %d -> %d", heap0, heap1, mm0, mm1)
	if mm1 != mm0 {
		t.Errorf("a freed %d-byte block: mmapped bytes %d -> %d, want it served by the heap", n, mm0, mm1)
	}
	if heap1 < heap0+n && heap0 < n {
		t.Errorf("heap %d -> %d bytes after freeing %d: freed memory was returned", heap0, heap1, n)
	}

	testkit.RequireORT(t, runtime.FindLibrary)
	s, err := Open(expLowerer(t), runtime.CPU, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kept, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]float32(nil), kept[0]...)
	ReturnFreedMemory(true)
	defer ReturnFreedMemory(false)
	cAllocFree(n)
	out, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	if heap2, _ := heapBytes(); heap2 >= heap0+n && heap0 < n {
		t.Errorf("ReturnFreedMemory: heap still %d bytes after a run (was %d before the 64 MiB block)", heap2, heap0)
	}
	for i := range want {
		if out[0][i] != want[i] {
			t.Fatalf("ReturnFreedMemory changes the run: y[%d] = %g, want %g", i, out[0][i], want[i])
		}
	}
}
