package main

import (
	"strings"
	"testing"
)

func TestFlagsFirst(t *testing.T) {
	app := newApp()
	cases := map[string]string{
		"tgan infer ckpt --n 64 --out g.png":          "tgan infer --n 64 --out g.png -- ckpt",
		"tgan infer --n 64 ckpt":                      "tgan infer --n 64 -- ckpt",
		"tgan export ckpt --raw-generator --onnx out": "tgan export --raw-generator --onnx out -- ckpt",
		"tgan infer ckpt --out= -- -odd-name":         "tgan infer --out= -- ckpt -odd-name",
		"tgan fid a.npz b.npz":                        "tgan fid -- a.npz b.npz",
		"tgan nosuchcommand x --y":                    "tgan nosuchcommand x --y",
		"tgan":                                        "tgan",
	}
	for in, want := range cases {
		if got := strings.Join(flagsFirst(app, strings.Fields(in)), " "); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
