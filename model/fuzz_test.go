package model

import "testing"

// FuzzParseJSON feeds arbitrary text to ParseJSON. Whatever it accepts must
// be a config whose parameter lists can be built without panicking or
// allocating without bound.
func FuzzParseJSON(f *testing.F) {
	for _, name := range PresetNames() {
		c, err := Preset(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.JSON())
	}
	f.Add(`{"version": "v1"}`)
	f.Add(`{"version": "v1", "g_depths": [1000000000]}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseJSON(s)
		if err != nil {
			return
		}
		params := len(c.GParams()) + len(c.DParams())
		if params == 0 {
			t.Fatalf("accepted config has no parameters: %s", s)
		}
		d, err := ParseJSON(c.JSON())
		if err != nil || d.JSON() != c.JSON() {
			t.Fatalf("JSON round trip: %v", err)
		}
	})
}
