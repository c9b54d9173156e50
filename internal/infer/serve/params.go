package serve

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tgan-dev/tgan/internal/infer/engine"
)

// badRequest is a 400 whose text is one line naming the parameter.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// params is a request's query, parsed strictly: a malformed query, an
// unknown parameter or a repeated one is a 400 rather than silently
// ignored, so a typo (?sede=3) does not quietly give seed 0.
type params struct{ v url.Values }

func parseParams(r *http.Request, allowed ...string) (params, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return params{}, badf("malformed query %q: %v", r.URL.RawQuery, err)
	}
	for k, vals := range v {
		if !contains(allowed, k) {
			return params{}, badf("unknown parameter %q: this endpoint takes %s", k, strings.Join(allowed, ", "))
		}
		if len(vals) > 1 {
			return params{}, badf("parameter %q given %d times", k, len(vals))
		}
	}
	return params{v}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// intIn returns parameter name as an integer in [lo, hi], or def when absent.
func (p params) intIn(name string, def, lo, hi int) (int, error) {
	s, ok := p.v[name]
	if !ok {
		return def, nil
	}
	k, err := strconv.Atoi(s[0])
	if err != nil || k < lo || k > hi {
		return 0, badf("%s=%q: want an integer from %d to %d", name, s[0], lo, hi)
	}
	return k, nil
}

// seed returns parameter name as a seed, or def when absent.
func (p params) seed(name string, def int64) (int64, error) {
	s, ok := p.v[name]
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseInt(s[0], 10, 64)
	if err != nil || v < 0 {
		return 0, badf("%s=%q: want a seed from 0 to %d", name, s[0], int64(math.MaxInt64))
	}
	return v, nil
}

// truncation returns the truncation parameter T (engine.Normal): absent,
// "none" or 0 mean none.
func (p params) truncation() (float64, error) {
	s, ok := p.v["truncation"]
	if !ok || s[0] == "" || s[0] == "none" {
		return 0, nil
	}
	t, err := strconv.ParseFloat(s[0], 64)
	if err == nil {
		err = engine.CheckTruncation(t)
	}
	if err != nil {
		return 0, badf("truncation=%q: want none, 0 or a number of at least %g", s[0], engine.MinTruncation)
	}
	return t, nil
}

func parseSeed(v string) (int64, error) {
	seed, err := strconv.ParseInt(v, 10, 64)
	if err != nil || seed < 0 {
		return 0, badf("seed %q: want an integer from 0 to %d", v, int64(math.MaxInt64))
	}
	return seed, nil
}
