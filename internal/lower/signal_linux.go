//go:build linux

package lower

/*
#include <signal.h>
#include <string.h>

#define LOWER_NSIG 32

static struct sigaction lower_saved[LOWER_NSIG];
static int lower_have[LOWER_NSIG];

static void lower_save_signals(void) {
	for (int s = 1; s < LOWER_NSIG; s++) {
		lower_have[s] = sigaction(s, NULL, &lower_saved[s]) == 0;
	}
}

static void lower_restore_signals(void) {
	for (int s = 1; s < LOWER_NSIG; s++) {
		struct sigaction now;
		if (!lower_have[s] || sigaction(s, NULL, &now) != 0) continue;
		if (now.sa_sigaction == lower_saved[s].sa_sigaction &&
		    now.sa_flags == lower_saved[s].sa_flags) continue;
		sigaction(s, &lower_saved[s], NULL);
	}
}

static void lower_foreign_handler(int sig) { (void)sig; }

static void lower_clobber_signal(int sig) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = lower_foreign_handler;
	sa.sa_flags = SA_ONSTACK;
	sigaction(sig, &sa, NULL);
}
*/
import "C"

import "sync"

var signalMu sync.Mutex

// guardSignals runs f, a call that may initialise CUDA, and then puts back
// the signal handlers f replaced: the CUDA libraries install handlers
// without SA_ONSTACK, after which the Go runtime dies on the next signal
// (and the trainer's save on Ctrl-C would never run). The same guard as
// runtime's, for the training sessions this package creates itself.
func guardSignals(f func() error) error {
	signalMu.Lock()
	defer signalMu.Unlock()
	C.lower_save_signals()
	err := f()
	C.lower_restore_signals()
	return err
}

// clobberSignalForTest installs a C handler for sig, as CUDA does (with
// SA_ONSTACK, so the test cannot crash). Tests only.
func clobberSignalForTest(sig int) { C.lower_clobber_signal(C.int(sig)) }
