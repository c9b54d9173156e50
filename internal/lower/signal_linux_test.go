//go:build linux

package lower

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestGuardSignals: a C handler installed inside guardSignals (as CUDA's
// initialisation does) is replaced by Go's again afterwards.
func TestGuardSignals(t *testing.T) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR2)
	defer signal.Stop(ch)
	send := func() bool {
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			return true
		case <-time.After(300 * time.Millisecond):
			return false
		}
	}
	if !send() {
		t.Fatal("Go handler did not see SIGUSR2 before the test")
	}
	var inside bool
	guardSignals(func() error {
		clobberSignalForTest(int(syscall.SIGUSR2))
		inside = send()
		return nil
	})
	if inside {
		t.Error("the foreign handler did not take over (test not meaningful)")
	}
	if !send() {
		t.Error("Go's handler was not restored")
	}
}
