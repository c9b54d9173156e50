package model

import "testing"

// TestZooParamCounts checks every new preset against the parameter counts
// of SPEC-hires section 6, computed there from the official modules at the
// scripts' arguments (int64 index buffers and Hz_fbank excluded; the dead
// cross-attention noise strengths counted, as PyTorch counts them).
func TestZooParamCounts(t *testing.T) {
	for _, tc := range []struct {
		preset string
		g, d   int
	}{
		{"final-stl", 168466623, 10341536},
		{"celeba-hq-256", 212903275, 13334593},
		{"church-256", 205291952, 17754569},
	} {
		c, err := Preset(tc.preset)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.preset, err)
		}
		if got := countFloat(c.GParams()); got != tc.g {
			t.Errorf("%s G: %d parameters, want %d", tc.preset, got, tc.g)
		}
		if got := countFloat(c.DParams()); got != tc.d {
			t.Errorf("%s D: %d parameters, want %d", tc.preset, got, tc.d)
		}
	}
}

func countFloat(ps []Param) int {
	n := 0
	for _, p := range ps {
		if !p.Int64 && (!p.Buffer || p.Dead) {
			n += p.Size()
		}
	}
	return n
}
