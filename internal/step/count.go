package step

import (
	"fmt"

	"github.com/seamtest/seam/internal/decode"
	"go.yaml.in/yaml/v4"
)

// Count is how many of something a step wants (requests a stub received,
// interactions on an edge): exactly, at least, at most, or none. With
// nothing given, at least one.
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
		c.Exact = new(int)
		d.Decode(v, c.Exact, what+".count")
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
