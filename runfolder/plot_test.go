package runfolder

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestIntegerTicks: step ticks carry whole numbers without decimals.
func TestIntegerTicks(t *testing.T) {
	ticks := integerTicks{}.Ticks(0, 1900)
	labelled := 0
	for _, tk := range ticks {
		if tk.Value != float64(int64(tk.Value)) {
			t.Errorf("tick at %v is not a whole step", tk.Value)
		}
		if tk.Label != "" {
			labelled++
			if tk.Label == "1000.00" || tk.Label == "250.00" {
				t.Errorf("label %q has decimals", tk.Label)
			}
		}
	}
	if labelled < 2 {
		t.Fatalf("%d labelled ticks on 0..1900, want several", labelled)
	}
	// A two-step run: gonum would put ticks at 0.2, 0.4, ...; only 0..2 stay.
	for _, tk := range (integerTicks{}).Ticks(0, 2) {
		if tk.Value != float64(int64(tk.Value)) {
			t.Errorf("short run: tick at %v", tk.Value)
		}
	}
}

// TestPlotLossesLegendOutside: the legend strip right of the axes holds
// the legend, so the plot is wider than the axes' area and the strip is
// not empty.
func TestPlotLossesLegendOutside(t *testing.T) {
	var rows []Metric
	for i := 0; i < 50; i++ {
		rows = append(rows, Metric{GStep: i * 40, DLoss: float64(i % 7), GLoss: -float64(i % 5), Wasserstein: float64(i) / 10})
	}
	path := filepath.Join(t.TempDir(), "loss.png")
	if err := PlotLosses(rows, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() <= 2*b.Dy() {
		t.Fatalf("chart %dx%d: want the 9x4 inch layout with a legend strip", b.Dx(), b.Dy())
	}
	// Some non-white pixels in the legend strip (its right 1.3 inches).
	strip := b.Max.X - b.Dx()*13/90
	dark := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := strip; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r+g+bl < 3*0xc000 {
				dark++
			}
		}
	}
	if dark < 50 {
		t.Fatalf("legend strip has %d dark pixels: no legend outside the axes", dark)
	}
}
