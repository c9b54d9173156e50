package trainer

import (
	"io"
	"path/filepath"

	"github.com/tgan-dev/tgan/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotLosses draws loss.png from metrics.jsonl: D loss, G loss and the
// Wasserstein estimate against G steps.
func (r *Run) plotLosses() error {
	rows, err := ReadMetrics(filepath.Join(r.Dir, MetricsFile))
	if err != nil || len(rows) < 2 {
		return err
	}
	return PlotLosses(rows, filepath.Join(r.Dir, LossPlot))
}

// PlotLosses writes a PNG chart of the losses in rows.
func PlotLosses(rows []Metric, path string) error {
	p := plot.New()
	p.Title.Text = "TransGAN training"
	p.X.Label.Text = "G step"
	p.Y.Label.Text = "loss"
	series := func(f func(Metric) float64) plotter.XYs {
		xy := make(plotter.XYs, len(rows))
		for i, m := range rows {
			xy[i].X, xy[i].Y = float64(m.GStep), f(m)
		}
		return xy
	}
	if err := plotutil.AddLines(p,
		"D loss", series(func(m Metric) float64 { return m.DLoss }),
		"G loss", series(func(m Metric) float64 { return m.GLoss }),
		"W estimate", series(func(m Metric) float64 { return m.Wasserstein }),
	); err != nil {
		return err
	}
	img, err := p.WriterTo(8*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { _, err := img.WriteTo(w); return err })
}
