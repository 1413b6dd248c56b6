package expect

import (
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type notOp struct{}

func (notOp) Usage() Usage {
	return Usage{Name: "not", Summary: "the nested expectation must fail", Example: "stdout: {not: {contains: panic}}"}
}

func (notOp) Compile(c *Compiler, n *yaml.Node) Check {
	m := c.Matcher(n, "not", false)
	if m == nil {
		return nil
	}
	return notCheck{m: m, src: n}
}

type notCheck struct {
	m   Check
	src *yaml.Node
}

func (n notCheck) Check(got Got, vars expr.Vars) *Failure {
	if n.m.Check(got, vars) != nil {
		return nil
	}
	return &Failure{Got: truncate(expr.Show(got.Value), 200), Want: "not " + nodeText(n.src)}
}

func nodeText(n *yaml.Node) string {
	x, err := decode.Any(n)
	if err != nil {
		return n.Value
	}
	return expr.Format(expr.Normalize(x))
}

type allOp struct{}

func (allOp) Usage() Usage {
	return Usage{Name: "all", Summary: "every list element matches the nested expectation", Example: ".items: {all: {.qty: {gt: 0}}}"}
}

func (allOp) Compile(c *Compiler, n *yaml.Node) Check {
	m := c.Matcher(n, "all", false)
	if m == nil {
		return nil
	}
	return everyCheck{m: m}
}

type everyCheck struct{ m Check }

func (e everyCheck) Check(got Got, vars expr.Vars) *Failure {
	list, ok := got.Value.([]any)
	if !ok {
		return &Failure{Got: expr.Show(got.Value) + " (" + expr.TypeName(got.Value) + ")", Want: "a list"}
	}
	for i, x := range list {
		if f := e.m.Check(Got{Value: x, Found: true}, vars); f != nil {
			f.Path = joinPath("["+itoa(i)+"]", f.Path)
			return f
		}
	}
	return nil
}

func itoa(i int) string { return expr.Format(i) }
