package expect

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type containsOp struct{}

func (containsOp) Usage() Usage {
	return Usage{Name: "contains", Summary: "a string holds the substring, a list holds an equal element, or an object has the key", Example: "stdout: {contains: ready}"}
}

func (containsOp) Compile(c *Compiler, n *yaml.Node) Check {
	v := &expr.Value{}
	v.DecodeYAML(c.D, n)
	return containsCheck{want: *v}
}

type containsCheck struct{ want expr.Value }

func (e containsCheck) Check(got Got, vars expr.Vars) *Failure {
	want, err := e.want.Eval(vars)
	if err != nil {
		return &Failure{Msg: err.Error()}
	}
	switch g := got.Value.(type) {
	case string:
		w, ok := want.(string)
		if !ok {
			w = expr.Format(want)
		}
		if strings.Contains(g, w) {
			return nil
		}
		return &Failure{Got: expr.Show(excerpt(g)), Want: "a string containing " + expr.Show(w)}
	case []any:
		for _, x := range g {
			if Equal(want, x) {
				return nil
			}
		}
		return &Failure{Got: truncate(expr.Show(g), 300), Want: "a list containing " + expr.Show(want)}
	case map[string]any:
		if k, ok := want.(string); ok {
			if _, has := g[k]; has {
				return nil
			}
		}
		return &Failure{Got: truncate(expr.Show(g), 300), Want: "an object with key " + expr.Show(want)}
	}
	if !got.Found {
		return &Failure{Got: "nothing (absent)", Want: "something containing " + expr.Show(want)}
	}
	return &Failure{Got: expr.Show(got.Value) + " (" + expr.TypeName(got.Value) + ")", Want: "a string, list or object containing " + expr.Show(want)}
}

func excerpt(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

type matchOp struct{}

func (matchOp) Usage() Usage {
	return Usage{Name: "match", Summary: "a string matches the regular expression (Go RE2 syntax, unanchored)", Example: "headers: {Content-Type: {match: ^application/json}}"}
}

func (matchOp) Compile(c *Compiler, n *yaml.Node) Check {
	n = decode.Resolve(n)
	if n.Kind != yaml.ScalarNode {
		c.D.Errorf(n, "match: want a regular expression string")
		return nil
	}
	re, err := regexp.Compile(n.Value)
	if err != nil {
		c.D.Errorf(n, "match: bad regular expression %q: %v", n.Value, strings.TrimPrefix(err.Error(), "error parsing regexp: ")).
			WithHint("the syntax is Go's RE2; escape special characters with \\")
		return nil
	}
	return matchCheck{re: re}
}

type matchCheck struct{ re *regexp.Regexp }

func (m matchCheck) Check(got Got, _ expr.Vars) *Failure {
	s, ok := got.Value.(string)
	if !ok {
		return &Failure{Got: fmt.Sprintf("%s (%s)", expr.Show(got.Value), expr.TypeName(got.Value)), Want: "a string matching /" + m.re.String() + "/"}
	}
	if m.re.MatchString(s) {
		return nil
	}
	return &Failure{Got: expr.Show(excerpt(s)), Want: "a string matching /" + m.re.String() + "/"}
}
