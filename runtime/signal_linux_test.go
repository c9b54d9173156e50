//go:build linux

package runtime

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestGuardSignalsRestoresGoHandler replaces SIGUSR2's handler with a C one
// inside GuardSignals, as the CUDA libraries do, and checks that Go's handler
// is back afterwards.
func TestGuardSignalsRestoresGoHandler(t *testing.T) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR2)
	defer signal.Stop(ch)
	send := func() bool {
		t.Helper()
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
	var seenInside bool
	GuardSignals(func() error {
		clobberSignalForTest(int(syscall.SIGUSR2))
		seenInside = send()
		return nil
	})
	if seenInside {
		t.Error("the foreign handler did not take over (test is not meaningful)")
	}
	if !send() {
		t.Error("Go's SIGUSR2 handler was not restored after GuardSignals")
	}
}
