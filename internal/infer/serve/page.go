package serve

import (
	_ "embed"
	"net/http"
)

// pageHTML is the browser page at /: one self-contained file (inline CSS
// and JavaScript, no CDN, no build step) that talks to the JSON, PNG and
// /metrics endpoints like any other client.
//
//go:embed page/index.html
var pageHTML []byte

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	w.Write(pageHTML)
}
