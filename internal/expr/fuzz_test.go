package expr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// fuzzVars are the variables fuzzed templates and expressions may read.
var fuzzVars = expr.Vars{"a": "text", "n": 3, "m": map[string]any{"k": []any{1, "x"}}}

// FuzzTemplate decodes arbitrary text as a templated string and renders
// it: problems are placed on the string's line, rendering never panics.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"((a))", "x((n+1))y", "((m.k[1]))", "((service(\"db\").url))", "(((", "((a))((", "((nope))", "$((a))", "((upper(a)))", "((n / 0))", "{{.a}}", "((fake.email()))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d := decode.New("seam.yaml", &diag.List{})
		d.Vars = map[string]bool{"a": true, "n": true, "m": true}
		var s expr.Str
		s.DecodeYAML(d, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text, Line: 3, Column: 5})
		for _, e := range d.Errs.Errors() {
			if e.Pos.Line < 3 || e.Pos.File != "seam.yaml" {
				t.Fatalf("problem at %s: %v", e.Pos, e)
			}
		}
		if d.Errs.Len() == 0 {
			want, wantErr := s.String(fuzzVars)
			// Quoted's text is String's; quoting changes values only.
			text, quoted, err := s.Quoted(fuzzVars, strings.ToUpper)
			if text != want || (err != nil) != (wantErr != nil) || !s.IsTemplate() && quoted != text {
				t.Fatalf("%q: Quoted %q %q (%v); String %q (%v)", text, text, quoted, err, want, wantErr)
			}
		}
	})
}

// FuzzExpr compiles and runs arbitrary expressions: never a panic, and
// an undefined name is caught when compiling.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{"a + 'x'", "n * 2 > 5", "m.k[0]", "len(m.k) == 2 && a startsWith 't'", "nope", "1..3", "a matches '['", "n / 0", "[1,2] | map(# * n)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := expr.Compile(src, map[string]bool{"a": true, "n": true, "m": true})
		if err != nil {
			return
		}
		_, _ = p.Eval(fuzzVars)
	})
}

// FuzzQuery compiles arbitrary jq queries and runs them on arbitrary JSON:
// never a panic, and never longer than the query timeout.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{".a", ".items[0].id", ".[] | select(.n > 1)", "length", "keys", ".a // \"x\"", "[.[] | .+1]", "..", "tostring", "path(..)"} {
		f.Add(s, []byte(`{"a": 1, "items": [{"id": 7}], "n": [1, 2, 3]}`))
	}
	f.Fuzz(func(t *testing.T, src string, data []byte) {
		// Queries that can run without end are bounded by the timeout,
		// which is tested once (TestQueryTimeout), not at every input.
		for _, w := range []string{"def", "repeat", "range", "recurse", "until", "while", "limit", "env", "input", "$__loc__", "getpath", "splits", "ltrimstr", "@", "pow", "exp"} {
			if strings.Contains(src, w) {
				return
			}
		}
		q, err := expr.CompileQuery(src)
		if err != nil {
			return
		}
		v, err := expr.DecodeJSON(data)
		if err != nil {
			return
		}
		_, _, _ = q.Run(v)
	})
}

// A jq query that never ends is an error after the timeout, not a hang.
func TestQueryTimeout(t *testing.T) {
	q, err := expr.CompileQuery("def f: f; f")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err = q.Run(nil)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("Run = %v after %v", err, time.Since(start))
	}
}
