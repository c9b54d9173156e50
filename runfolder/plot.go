package runfolder

import (
	"io"
	"math"
	"path/filepath"
	"strconv"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
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
	p := newStepChart("TransGAN training", "loss")
	series := func(f func(Metric) float64) []float64 {
		ys := make([]float64, len(rows))
		for i, m := range rows {
			ys[i] = f(m)
		}
		return ys
	}
	xs := make([]float64, len(rows))
	for i, m := range rows {
		xs[i] = float64(m.GStep)
	}
	if err := plotutil.AddLines(p,
		"D loss", xyOf(xs, series(func(m Metric) float64 { return m.DLoss })),
		"G loss", xyOf(xs, series(func(m Metric) float64 { return m.GLoss })),
		"W estimate", xyOf(xs, series(func(m Metric) float64 { return m.Wasserstein })),
	); err != nil {
		return err
	}
	return writeChart(p, path)
}

// newStepChart is a chart whose x axis counts G steps: integer tick labels.
func newStepChart(title, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "G step"
	p.Y.Label.Text = yLabel
	p.X.Tick.Marker = integerTicks{}
	return p
}

// integerTicks labels only whole steps, without decimals ("1000", not
// "1000.00"); gonum's default ticks may fall between integers on a short run.
type integerTicks struct{}

// Ticks implements plot.Ticker.
func (integerTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
		if t.Value != math.Trunc(t.Value) {
			continue
		}
		if t.Label != "" {
			t.Label = strconv.FormatInt(int64(t.Value), 10)
		}
		out = append(out, t)
	}
	return out
}

// legendWidth is the strip right of the plot area that holds the legend,
// so that it never covers a curve.
const legendWidth = 1.4 * vg.Inch

// writeChart draws p with its legend in a strip to the right of the axes
// and writes the PNG atomically.
func writeChart(p *plot.Plot, path string) error {
	const width, height = 9 * vg.Inch, 4 * vg.Inch
	leg := p.Legend
	leg.Top, leg.Left = true, true
	p.Legend = plot.NewLegend() // p.Draw would put it inside the axes
	c := vgimg.New(width, height)
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	leg.Draw(draw.Crop(dc, width-legendWidth+0.1*vg.Inch, 0, 0, -0.3*vg.Inch))
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	})
}

// xyOf pairs xs with ys.
func xyOf(xs, ys []float64) plotter.XYs {
	xy := make(plotter.XYs, len(xs))
	for i := range xs {
		xy[i].X, xy[i].Y = xs[i], ys[i]
	}
	return xy
}
