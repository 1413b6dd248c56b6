package expect

import (
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type existsOp struct{}

func (existsOp) Usage() Usage {
	return Usage{Name: "exists", Summary: "true: the value is there and not null; false: it is absent or null", Example: ".id: {exists: true}"}
}

func (existsOp) Compile(c *Compiler, n *yaml.Node) Check {
	want, ok := presenceOperand(c, n, "exists")
	if !ok {
		return nil
	}
	return presenceCheck{want: want}
}

type absentOp struct{}

func (absentOp) Usage() Usage {
	return Usage{Name: "absent", Summary: "true: the value is absent or null (the same as exists: false)", Example: ".error: {absent: true}"}
}

func (absentOp) Compile(c *Compiler, n *yaml.Node) Check {
	want, ok := presenceOperand(c, n, "absent")
	if !ok {
		return nil
	}
	return presenceCheck{want: !want}
}

// presenceOperand decodes the true or false of exists and absent, reporting
// anything else (null included) once.
func presenceOperand(c *Compiler, n *yaml.Node, name string) (want, ok bool) {
	if decode.Resolve(n).ShortTag() != "!!bool" {
		c.D.Errorf(n, "%s: want true or false, got %s", name, decode.KindName(n))
		return false, false
	}
	c.D.Decode(n, &want, name)
	return want, true
}

type presenceCheck struct{ want bool }

func (p presenceCheck) Check(got Got, _ expr.Vars) *Failure {
	present := got.Found && got.Value != nil
	if present == p.want {
		return nil
	}
	if p.want {
		return &Failure{Got: "nothing (absent)", Want: "a value"}
	}
	return &Failure{Got: truncate(expr.Show(got.Value), 200), Want: "nothing (absent)"}
}
