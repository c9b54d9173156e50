package trainer

// What a driver of Step (package runfolder) reads of a Trainer besides its
// exported fields.

// EMADecay is the EMA decay that the next G step applies (its schedule
// depends on the counters only).
func (t *Trainer) EMADecay() float64 { return t.emaBeta() }

// CriticImages is the number of images one iteration's D step sends
// through D: the real and the generated batch, and with the gradient
// penalty its interpolates.
func (t *Trainer) CriticImages() int {
	n := 2 * t.Opts.DisBatch
	if t.pen != nil {
		n += t.Opts.DisBatch
	}
	return n
}
