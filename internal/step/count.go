package step

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"go.yaml.in/yaml/v4"
)

// Count is how many of something a step wants (requests a stub received,
// interactions on an edge): exactly, at least, at most, or none. With
// nothing given, at least one. count: takes a number (2, 0), a range
// ("2..5", "2.." for at least 2, "..5" for at most 5) or a comparison
// (">=1", ">0", "<=3", "<4").
type Count struct {
	Exact, AtLeast, AtMost *int
	Never                  bool
}

// CountKeys are the keys Count decodes.
var CountKeys = []string{"count", "at_least", "at_most", "never"}

// DecodeKey decodes key if it is one of CountKeys, and reports whether it
// was.
func (c *Count) DecodeKey(d *decode.Decoder, key string, v *yaml.Node, what string) bool {
	switch key {
	case "count":
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
			c.Exact = new(int)
			d.Decode(v, c.Exact, what+".count")
			if *c.Exact < 0 {
				d.Errorf(v, "%s.count: %d is negative", what, *c.Exact)
			}
			return true
		}
		var src string
		d.Decode(v, &src, what+".count")
		lo, hi, err := ParseRange(src)
		if err != nil {
			d.Errorf(v, "%s.count: %v", what, err).WithHint(`write a number (2), a range ("2..5", "2..", "..5") or a comparison (">=1", "<=3", ">0", "<4")`)
			return true
		}
		switch {
		case lo == hi:
			c.Exact = &lo
		default:
			c.AtLeast = &lo
			if hi >= 0 {
				c.AtMost = &hi
			}
		}
	case "at_least":
		c.AtLeast = new(int)
		d.Decode(v, c.AtLeast, what+".at_least")
	case "at_most":
		c.AtMost = new(int)
		d.Decode(v, c.AtMost, what+".at_most")
	case "never":
		d.Decode(v, &c.Never, what+".never")
	default:
		return false
	}
	return true
}

// Validate reports keys that contradict each other.
func (c *Count) Validate(d *decode.Decoder, n *yaml.Node, what string) {
	if c.Never && (c.Exact != nil || c.AtLeast != nil || c.AtMost != nil) {
		d.Errorf(n, "%s: never: true leaves no room for count, at_least or at_most", what)
	}
	if c.Exact != nil && (c.AtLeast != nil || c.AtMost != nil) {
		d.Errorf(n, "%s: count is exact; drop at_least and at_most, or count", what)
	}
}

// Check says whether n satisfies the count, and what was wanted.
func (c *Count) Check(n int) (string, bool) {
	switch {
	case c.Never:
		return "none (never: true)", n == 0
	case c.Exact != nil:
		return fmt.Sprintf("exactly %d", *c.Exact), n == *c.Exact
	case c.AtLeast != nil || c.AtMost != nil:
		lo, hi := 0, -1
		if c.AtLeast != nil {
			lo = *c.AtLeast
		}
		if c.AtMost != nil {
			hi = *c.AtMost
		}
		if hi >= 0 {
			return fmt.Sprintf("between %d and %d", lo, hi), n >= lo && n <= hi
		}
		return fmt.Sprintf("at least %d", lo), n >= lo
	}
	return "at least 1", n >= 1
}

// ParseRange reads a count's range: "3" (exactly), "2..5", "2..", "..5",
// ">=1", ">0", "<=3", "<4". hi is -1 when there is no upper bound.
func ParseRange(s string) (lo, hi int, err error) {
	s = strings.TrimSpace(s)
	num := func(x string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a count (a whole number, 0 or more)", x)
		}
		return n, nil
	}
	switch {
	case strings.Contains(s, ".."):
		a, b, _ := strings.Cut(s, "..")
		lo, hi = 0, -1
		if strings.TrimSpace(a) != "" {
			if lo, err = num(a); err != nil {
				return 0, 0, err
			}
		}
		if strings.TrimSpace(b) != "" {
			if hi, err = num(b); err != nil {
				return 0, 0, err
			}
			if hi < lo {
				return 0, 0, fmt.Errorf("%q: the range ends before it starts", s)
			}
		}
		if strings.TrimSpace(a) == "" && strings.TrimSpace(b) == "" {
			return 0, 0, fmt.Errorf("%q: give at least one end of the range", s)
		}
		return lo, hi, nil
	case strings.HasPrefix(s, ">="):
		lo, err = num(s[2:])
		return lo, -1, err
	case strings.HasPrefix(s, "<="):
		hi, err = num(s[2:])
		return 0, hi, err
	case strings.HasPrefix(s, ">"):
		lo, err = num(s[1:])
		return lo + 1, -1, err
	case strings.HasPrefix(s, "<"):
		hi, err = num(s[1:])
		if err == nil && hi == 0 {
			return 0, 0, fmt.Errorf("%q: no count is below 0", s)
		}
		return 0, hi - 1, err
	}
	lo, err = num(s)
	return lo, lo, err
}
