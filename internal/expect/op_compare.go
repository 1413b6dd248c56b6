package expect

import (
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// cmpOp is one of gt, gte, lt, lte: numeric comparison.
type cmpOp struct{ name string }

var cmpWords = map[string]string{"gt": "greater than", "gte": "at least", "lt": "less than", "lte": "at most"}

func (o cmpOp) Usage() Usage {
	return Usage{Name: o.name, Summary: "a number " + cmpWords[o.name] + " the operand", Example: ".total: {" + o.name + ": 10}"}
}

func (o cmpOp) Compile(c *Compiler, n *yaml.Node) Check {
	n = decode.Resolve(n)
	v := &expr.Value{}
	v.DecodeYAML(c.D, n)
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float" && n.ShortTag() != "!!str") {
		c.D.Errorf(n, "%s: want a number", o.name)
		return nil
	}
	if n.ShortTag() == "!!str" && !v.IsTemplateOnly() {
		c.D.Errorf(n, "%s: want a number, got %q", o.name, n.Value).WithHint("write the number without quotes")
		return nil
	}
	return cmpCheck{name: o.name, want: *v}
}

type cmpCheck struct {
	name string
	want expr.Value
}

func (c cmpCheck) Check(got Got, vars expr.Vars) *Failure {
	want, err := c.want.Eval(vars)
	if err != nil {
		return &Failure{Msg: err.Error()}
	}
	wantText := "a number " + cmpWords[c.name] + " " + expr.Show(want)
	r, ok := compare(got.Value, want)
	if !ok {
		if !got.Found {
			return &Failure{Got: "nothing (absent)", Want: wantText}
		}
		return &Failure{Got: expr.Show(got.Value) + " (" + expr.TypeName(got.Value) + ")", Want: wantText}
	}
	var pass bool
	switch c.name {
	case "gt":
		pass = r > 0
	case "gte":
		pass = r >= 0
	case "lt":
		pass = r < 0
	case "lte":
		pass = r <= 0
	}
	if pass {
		return nil
	}
	return &Failure{Got: expr.Show(got.Value), Want: wantText}
}
