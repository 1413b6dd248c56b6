package decode_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
)

// A ((template)) in a typed field is said to be refused there (the field
// is read when the suite is checked), not to be a value of the wrong
// kind with a hint about units; a negative duration is said to be one.
func TestTypedFieldsSayTemplatesAreNotAllowed(t *testing.T) {
	type spec struct {
		Within time.Duration `yaml:"within"`
		Count  int           `yaml:"count"`
		Ratio  float64       `yaml:"ratio"`
		On     bool          `yaml:"on"`
	}
	for _, c := range []struct{ src, want string }{
		{`within: ((w))`, `s.within: want a duration like 5s or 1m30s; templates are not allowed here, got "((w))"`},
		{`count: ((n))`, `s.count: want a whole number; templates are not allowed here, got "((n))"`},
		{`ratio: ((r))`, `s.ratio: want a number; templates are not allowed here, got "((r))"`},
		{`on: ((yes))`, `s.on: want true or false; templates are not allowed here, got "((yes))"`},
		{`within: -2s`, `s.within: a duration cannot be negative, got "-2s"`},
		{`within: soon`, `s.within: want a duration like 5s or 1m30s, got "soon"`},
	} {
		root, err := decode.Parse([]byte(c.src))
		if err != nil {
			t.Fatal(err)
		}
		var errs diag.List
		var v spec
		decode.New("f.yaml", &errs).Decode(root, &v, "s")
		got := errs.Errors()
		if len(got) != 1 || got[0].Msg != c.want {
			t.Errorf("%s: %v, want %q", c.src, got, c.want)
			continue
		}
		if strings.Contains(c.src, "((") && !strings.Contains(got[0].Hint, "write the value out") {
			t.Errorf("%s: hint %q", c.src, got[0].Hint)
		}
	}
}
