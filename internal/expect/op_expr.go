package expect

import (
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type exprOp struct{}

func (exprOp) Usage() Usage {
	return Usage{Name: "expr", Summary: "an expr-lang expression that must be true; `value` is the value under test, variables are in scope", Example: ".items: {expr: \"all(value, .qty > 0)\"}"}
}

func (exprOp) Compile(c *Compiler, n *yaml.Node) Check {
	n = decode.Resolve(n)
	if n.Kind != yaml.ScalarNode {
		c.D.Errorf(n, "expr: want an expression string")
		return nil
	}
	p, err := expr.Compile(n.Value, c.D.Vars, "value")
	if err != nil {
		e := c.D.Errorf(n, "expr: %v", err)
		if ue, ok := err.(*expr.UndefinedError); ok {
			e.Hint = ue.Hint()
		}
		return nil
	}
	p.NoteServices(c.D, n)
	return exprCheck{p: p}
}

type exprCheck struct{ p *expr.Program }

func (e exprCheck) Check(got Got, vars expr.Vars) *Failure {
	env := make(expr.Vars, len(vars)+1)
	for k, v := range vars {
		env[k] = v
	}
	env["value"] = got.Value
	out, err := e.p.Eval(env)
	if err != nil {
		return &Failure{Msg: err.Error()}
	}
	if b, ok := out.(bool); ok && b {
		return nil
	}
	return &Failure{Got: truncate(expr.Show(got.Value), 200), Want: "a value for which " + e.p.String() + " is true (it gave " + expr.Show(out) + ")"}
}
