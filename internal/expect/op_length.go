package expect

import (
	"unicode/utf8"

	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type lengthOp struct{}

func (lengthOp) Usage() Usage {
	return Usage{Name: "length", Summary: "length of a string (in characters), list or object; a number or a nested expectation", Example: ".items: {length: {gte: 1}}"}
}

func (lengthOp) Compile(c *Compiler, n *yaml.Node) Check {
	m := c.within(ScalarShape, func() Check { return c.Matcher(n, "length", false) })
	if m == nil {
		return nil
	}
	return lengthCheck{m: m}
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
