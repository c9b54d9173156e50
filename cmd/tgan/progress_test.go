package main

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestImageBarFirstRate: the first rate the bar prints is measured over the
// first batch's time, not over the microseconds between two calls.
func TestImageBarFirstRate(t *testing.T) {
	var buf bytes.Buffer
	bar := newImageBar(&buf, 100, "generate")
	time.Sleep(100 * time.Millisecond) // the first batch
	_ = bar.Add(10)
	rates := regexp.MustCompile(`([0-9]+) img/s`).FindAllStringSubmatch(buf.String(), -1)
	for _, r := range rates {
		v, _ := strconv.Atoi(r[1])
		if v > 150 { // 10 images in >= 0.1 s
			t.Fatalf("first rate %d img/s for 10 images in 0.1 s: %q", v, buf.String())
		}
	}
}
