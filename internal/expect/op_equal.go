package expect

import (
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type eqOp struct{}

func (eqOp) Usage() Usage {
	return Usage{Name: "eq", Summary: "typed deep equality; numbers compare by value, never equal to strings (a plain value means eq)", Example: "status: {eq: 200}"}
}

func (eqOp) Compile(c *Compiler, n *yaml.Node) Check {
	v := &expr.Value{}
	v.DecodeYAML(c.D, n)
	return eqCheck{want: *v}
}

type neOp struct{}

func (neOp) Usage() Usage {
	return Usage{Name: "ne", Summary: "not equal (typed, like eq)", Example: ".state: {ne: failed}"}
}

func (neOp) Compile(c *Compiler, n *yaml.Node) Check {
	v := &expr.Value{}
	v.DecodeYAML(c.D, n)
	return neCheck{want: *v}
}

type neCheck struct{ want expr.Value }

func (e neCheck) Check(got Got, vars expr.Vars) *Failure {
	want, err := e.want.Eval(vars)
	if err != nil {
		return &Failure{Msg: err.Error()}
	}
	if Equal(want, got.Value) {
		return &Failure{Got: expr.Show(got.Value), Want: "anything but " + expr.Show(want)}
	}
	return nil
}

type inOp struct{}

func (inOp) Usage() Usage {
	return Usage{Name: "in", Summary: "equal to one of the listed values", Example: "status: {in: [200, 204]}"}
}

func (inOp) Compile(c *Compiler, n *yaml.Node) Check {
	if decode.Resolve(n).Kind != yaml.SequenceNode {
		c.D.Errorf(n, "in: want a list of values, got %s", decode.KindName(n))
		return nil
	}
	v := &expr.Value{}
	v.DecodeYAML(c.D, n)
	return inCheck{want: *v}
}

type inCheck struct{ want expr.Value }

func (e inCheck) Check(got Got, vars expr.Vars) *Failure {
	want, err := e.want.Eval(vars)
	if err != nil {
		return &Failure{Msg: err.Error()}
	}
	list, _ := want.([]any)
	for _, w := range list {
		if Equal(w, got.Value) {
			return nil
		}
	}
	return &Failure{Got: expr.Show(got.Value), Want: "one of " + expr.Show(want)}
}
