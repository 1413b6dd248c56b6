package expect

import (
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type typeOp struct{}

var typeNames = []string{"null", "boolean", "number", "string", "list", "object"}

func (typeOp) Usage() Usage {
	return Usage{Name: "type", Summary: "the value's type: null, boolean, number, string, list or object", Example: ".id: {type: number}"}
}

func (typeOp) Compile(c *Compiler, n *yaml.Node) Check {
	var want string
	c.D.Decode(n, &want, "type")
	for _, t := range typeNames {
		if t == want {
			return typeCheck{want: want}
		}
	}
	c.D.Errorf(n, "type: unknown type %q", want).WithHint("one of null, boolean, number, string, list, object")
	return nil
}

type typeCheck struct{ want string }

func (t typeCheck) Check(got Got, _ expr.Vars) *Failure {
	if !got.Found {
		return &Failure{Got: "nothing (absent)", Want: "a " + t.want}
	}
	if g := expr.TypeName(got.Value); g != t.want {
		return &Failure{Got: expr.Show(got.Value) + " (" + g + ")", Want: "a " + t.want}
	}
	return nil
}
