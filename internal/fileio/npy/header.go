package npy

import (
	"fmt"
	"strconv"
	"strings"
)

// header is the parsed Python dict literal of a .npy file, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
type header struct {
	descr string
	shape []int
}

// parseHeader reads the three keys NumPy writes. Unknown keys, Fortran
// order and unsupported dtypes are errors.
func parseHeader(s string) (header, error) {
	var h header
	p := &dictParser{s: strings.TrimSpace(s)}
	if !p.eat("{") {
		return h, fmt.Errorf("bad header %q: want a dict", s)
	}
	seen := map[string]bool{}
	for !p.eat("}") {
		key, err := p.str()
		if err != nil {
			return h, fmt.Errorf("bad header %q: %w", s, err)
		}
		if !p.eat(":") {
			return h, fmt.Errorf("bad header %q: missing ':' after %q", s, key)
		}
		switch key {
		case "descr":
			h.descr, err = p.str()
		case "fortran_order":
			var fortran bool
			if fortran, err = p.boolean(); err == nil && fortran {
				return h, fmt.Errorf("fortran_order arrays are not supported (save with np.ascontiguousarray)")
			}
		case "shape":
			h.shape, err = p.tuple()
		default:
			err = fmt.Errorf("unknown key %q", key)
		}
		if err != nil {
			return h, fmt.Errorf("bad header %q: %w", s, err)
		}
		seen[key] = true
		if !p.eat(",") && !strings.HasPrefix(p.rest(), "}") {
			return h, fmt.Errorf("bad header %q: missing ','", s)
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("bad header %q: missing %q", s, k)
		}
	}
	switch h.descr {
	case "<f4", "<f8", "<i8":
	case ">f4", ">f8", ">i8":
		return h, fmt.Errorf("big-endian dtype %s is not supported (convert with arr.astype('<%s'))", h.descr, h.descr[1:])
	default:
		return h, fmt.Errorf("dtype %q is not supported (want <f4, <f8 or <i8)", h.descr)
	}
	return h, nil
}

// dictParser is a tiny scanner for the subset of Python literals in headers.
type dictParser struct {
	s string
	i int
}

func (p *dictParser) rest() string { return strings.TrimLeft(p.s[p.i:], " \t\n") }

func (p *dictParser) skip() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// eat consumes tok (after blanks) when it comes next.
func (p *dictParser) eat(tok string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func (p *dictParser) str() (string, error) {
	p.skip()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", fmt.Errorf("want a string at offset %d", p.i)
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", fmt.Errorf("unterminated string at offset %d", p.i)
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

func (p *dictParser) boolean() (bool, error) {
	switch {
	case p.eat("True"):
		return true, nil
	case p.eat("False"):
		return false, nil
	}
	return false, fmt.Errorf("want True or False at offset %d", p.i)
}

func (p *dictParser) tuple() ([]int, error) {
	if !p.eat("(") {
		return nil, fmt.Errorf("want a tuple at offset %d", p.i)
	}
	shape := []int{}
	for !p.eat(")") {
		p.skip()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			return nil, fmt.Errorf("want a dimension at offset %d", p.i)
		}
		d, err := strconv.Atoi(p.s[p.i:j])
		if err != nil {
			return nil, err
		}
		shape = append(shape, d)
		p.i = j
		if !p.eat(",") && !strings.HasPrefix(p.rest(), ")") {
			return nil, fmt.Errorf("want ',' or ')' at offset %d", p.i)
		}
	}
	return shape, nil
}
