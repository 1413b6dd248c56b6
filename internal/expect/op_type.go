package expect

import (
	"github.com/seamtest/seam/internal/decode"
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
	if decode.Resolve(n).ShortTag() == "!!null" {
		want = "null" // `type: null` is YAML's null, meaning the type name
	} else {
		c.D.Decode(n, &want, "type")
	}
	for _, t := range typeNames {
		if t == want {
			return typeCheck{want: want}
		}
	}
	c.D.Errorf(n, "type: unknown type %q", want).WithHint("one of null, boolean, number, string, list, object")
	return nil
}

type typeCheck struct{ want string }

func (t typeCheck) article() string {
	if t.want == "object" {
		return "an object"
	}
	return "a " + t.want
}

func (t typeCheck) Check(got Got, _ expr.Vars) *Failure {
	if !got.Found {
		return &Failure{Got: "nothing (absent)", Want: t.article()}
	}
	if g := expr.TypeName(got.Value); g != t.want {
		return &Failure{Got: expr.Show(got.Value) + " (" + g + ")", Want: t.article()}
	}
	return nil
}
