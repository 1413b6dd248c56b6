package expect_test

import (
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// stepFields are the result fields of a step like http's: headers compare
// their keys case-insensitively.
var stepFields = []expect.Field{
	{Name: "status"},
	{Name: "headers", FoldKeys: true},
	{Name: "body"},
	{Name: "stdout"},
}

// parseYAML returns the top node of the YAML document src.
func parseYAML(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatalf("bad test YAML %q: %v", src, err)
	}
	n := decode.Resolve(&root)
	if n == nil {
		t.Fatalf("empty test YAML %q", src)
	}
	return n
}

// compileWith compiles the expect block src with d and returns it with the
// problems d collected.
func compileWith(t *testing.T, d *decode.Decoder, src string) (*expect.Expectation, []*diag.Error) {
	t.Helper()
	c := expect.Compiler{D: d, Ops: expect.Builtin()}
	e := c.Compile(parseYAML(t, src), stepFields)
	return e, d.Errs.Errors()
}

// compile compiles src for "t.yaml" and fails the test on any problem.
func compile(t *testing.T, src string) *expect.Expectation {
	t.Helper()
	e, errs := compileWith(t, decode.New("t.yaml", &diag.List{}), src)
	for _, err := range errs {
		t.Errorf("unexpected compile problem: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return e
}

// compileErrs compiles src for "t.yaml", expecting problems.
func compileErrs(t *testing.T, src string) []*diag.Error {
	t.Helper()
	_, errs := compileWith(t, decode.New("t.yaml", &diag.List{}), src)
	if len(errs) == 0 {
		t.Fatalf("compiling %q: no problem reported", src)
	}
	return errs
}

// jsonValue decodes a JSON document into the canonical value model.
func jsonValue(t *testing.T, src string) any {
	t.Helper()
	v, err := expr.DecodeJSON([]byte(src))
	if err != nil {
		t.Fatalf("bad test JSON %q: %v", src, err)
	}
	return v
}

// errText is the error of f, or "" when f is nil (the check held).
func errText(f *expect.Failure) string {
	if f == nil {
		return ""
	}
	return f.Error()
}
