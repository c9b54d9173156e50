//go:build linux

package runtime

/*
#include <signal.h>
#include <string.h>

#define TGAN_NSIG 32

static struct sigaction tgan_saved[TGAN_NSIG];
static int tgan_have[TGAN_NSIG];

// tgan_save_signals records the current handler of signals 1..31.
static void tgan_save_signals(void) {
	for (int s = 1; s < TGAN_NSIG; s++) {
		tgan_have[s] = sigaction(s, NULL, &tgan_saved[s]) == 0;
	}
}

// tgan_restore_signals puts back every saved handler that changed and
// returns how many it restored.
static int tgan_restore_signals(void) {
	int n = 0;
	for (int s = 1; s < TGAN_NSIG; s++) {
		struct sigaction now;
		if (!tgan_have[s] || sigaction(s, NULL, &now) != 0) continue;
		if (now.sa_sigaction == tgan_saved[s].sa_sigaction &&
		    now.sa_flags == tgan_saved[s].sa_flags) continue;
		if (sigaction(s, &tgan_saved[s], NULL) == 0) n++;
	}
	return n;
}

static void tgan_foreign_handler(int sig) { (void)sig; }

// tgan_clobber_signal installs a foreign (non-Go) handler for sig. Unlike
// CUDA's it sets SA_ONSTACK, so a signal caught by it cannot overflow a
// goroutine stack while the test runs. Used by tests only.
static void tgan_clobber_signal(int sig) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tgan_foreign_handler;
	sa.sa_flags = SA_ONSTACK;
	sigaction(sig, &sa, NULL);
}
*/
import "C"

import "sync"

// signalMu serialises GuardSignals: the saved table is process-global, so
// every package that opens CUDA sessions must share this one guard.
var signalMu sync.Mutex

// GuardSignals runs f, a call into ONNX Runtime that may initialise CUDA, and
// then restores the Go runtime's signal handlers that f replaced.
//
// onnxruntime_go's CUDA provider (the CUDA libraries it loads) installs
// handlers without SA_ONSTACK; the Go runtime then dies on the next signal,
// for example Ctrl+C during inference. Calling signal.Notify again does not
// help: Go installs its handler only when a signal is first enabled. So the
// handlers are saved before and put back after each such call.
func GuardSignals(f func() error) error {
	signalMu.Lock()
	defer signalMu.Unlock()
	C.tgan_save_signals()
	err := f()
	C.tgan_restore_signals()
	return err
}

// clobberSignalForTest replaces sig's handler with a C one, as CUDA does
// (but with SA_ONSTACK, so the test itself cannot crash the process).
func clobberSignalForTest(sig int) { C.tgan_clobber_signal(C.int(sig)) }
