package metrics

import (
	"fmt"
	"testing"
)

// BenchmarkFID times FrechetDistance on 512- and 2048-d statistics (2048 is the size of
// Inception pool features); the data is rebuilt from the golden formula.
func BenchmarkFID(b *testing.B) {
	for _, d := range []int{512, 2048} {
		s1, s2 := synthStats(d, d+d/2, 1, 8), synthStats(d, d+d/2, 2, 8)
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			for b.Loop() {
				if _, err := FrechetDistance(s1, s2); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
