package expect

import (
	"math"
	"unicode/utf8"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type lengthOp struct{}

func (lengthOp) Usage() Usage {
	return Usage{Name: "length", Summary: "length of a string (in characters), list or object; a whole number, or operators over it", Example: ".items: {length: {gte: 1}}"}
}

func (lengthOp) Compile(c *Compiler, n *yaml.Node) Check {
	// A length is a whole number: anything else never equals one. A
	// template is checked when it runs; a mapping holds operators.
	r := decode.Resolve(n)
	if r == nil {
		return nil
	}
	if r.Kind != yaml.MappingNode {
		v := &expr.Value{}
		before := c.D.Errs.Len()
		v.DecodeYAML(c.D, r)
		if c.D.Errs.Len() > before {
			return nil
		}
		if x, ok := v.Const(); !v.IsTemplateOnly() && (!ok || !isCount(x)) {
			c.D.Errorf(r, "length: want a whole number of at least 0, got %s", decode.KindName(r)).
				WithHint("like length: 3, or operators over the length: length: {gte: 1}")
			return nil
		}
		return lengthCheck{m: eqCheck{want: *v}}
	}
	m := c.within(ScalarShape, func() Check { return c.Matcher(n, "length", false) })
	if m == nil {
		return nil
	}
	return lengthCheck{m: m}
}

// isCount reports whether x is a whole number of at least 0.
func isCount(x any) bool {
	switch v := x.(type) {
	case int:
		return v >= 0
	case float64:
		return v >= 0 && v == math.Trunc(v) && v <= 1<<53
	}
	return false
}

type lengthCheck struct{ m Check }

func (l lengthCheck) Check(got Got, vars expr.Vars) *Failure {
	var n int
	switch g := got.Value.(type) {
	case string:
		n = utf8.RuneCountInString(g)
	case []any:
		n = len(g)
	case map[string]any:
		n = len(g)
	default:
		if !got.Found {
			return &Failure{Got: "nothing (absent)", Want: "something with a length"}
		}
		return &Failure{Got: expr.Show(got.Value) + " (" + expr.TypeName(got.Value) + ")", Want: "a string, list or object"}
	}
	if f := l.m.Check(Got{Value: n, Found: true}, vars); f != nil {
		f.Path = joinPath("length", f.Path)
		return f
	}
	return nil
}
