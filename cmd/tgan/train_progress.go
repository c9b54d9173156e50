package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tgan-dev/tgan/runfolder"
)

// trainBar shows a run's progress on a terminal: a bar of this session's G
// steps (a spinner when only a time budget limits the run), so that rate
// and ETA are right after a resume.
type trainBar struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (b *trainBar) Begin(start, steps int) {
	total := -1
	if steps != math.MaxInt {
		total = max(steps-start, 0)
	}
	b.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription("train"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("G steps"), progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(500*time.Millisecond), progressbar.OptionShowElapsedTimeOnFinish())
	_ = b.bar.RenderBlank() // starts the bar's clock now: no rate before a measured interval
}

func (b *trainBar) Step(p runfolder.Tick) {
	st := p.Stats
	b.bar.Describe(fmt.Sprintf("step %d D %.3f G %.3f", st.GStep, st.DLoss, st.GLoss))
	_ = b.bar.Set(st.GStep - p.Start)
}

func (b *trainBar) Clear() { _ = b.bar.Clear() }

// Stop ends the bar's line, so that what follows starts on its own.
func (b *trainBar) Stop() { fmt.Fprintln(b.w) }

func (b *trainBar) End() {
	_ = b.bar.Finish()
	fmt.Fprintln(b.w)
}

// trainLines shows a run's progress in a log that is not a terminal: a
// plain line every `every` G steps and after the last, and a line per
// checkpoint saved.
type trainLines struct {
	w     io.Writer
	every int
	sr    bool // show MT-CT's SR loss
}

func (l *trainLines) Begin(start, steps int) {}

func (l *trainLines) Step(p runfolder.Tick) {
	st := p.Stats
	if st.GStep%max(l.every, 1) == 0 || st.GStep == p.Steps {
		done := float64(st.GStep - p.Start)
		el := p.Trained
		left := ""
		switch {
		case p.Steps != math.MaxInt:
			eta := time.Duration(float64(el) / done * float64(p.Steps-st.GStep)).Round(time.Second)
			left = fmt.Sprintf("  ETA %v", eta)
		case p.Budget > 0:
			left = fmt.Sprintf("  budget left %v", (p.Budget - el).Round(time.Second))
		}
		sr := ""
		if l.sr {
			sr = fmt.Sprintf("  SR %.4f", st.SRLoss)
		}
		total := ""
		if p.Steps != math.MaxInt {
			total = fmt.Sprintf("/%d", p.Steps)
		}
		fmt.Fprintf(l.w, "step %d%s  D %.4f  G %.4f  GP %.4f%s  %.2f G steps/s%s\n",
			st.GStep, total, st.DLoss, st.GLoss, st.GP, sr, done/el.Seconds(), left)
	}
	if p.Saved != "" {
		fmt.Fprintf(l.w, "saved %s\n", p.Saved)
	}
}

func (l *trainLines) Clear() {}
func (l *trainLines) Stop()  {}
func (l *trainLines) End()   {}
