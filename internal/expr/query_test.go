package expr_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/expr"
)

func TestQueryRun(t *testing.T) {
	doc, err := expr.DecodeJSON([]byte(`{
		"id": 1167860,
		"big": 123456789012345678901,
		"gone": null,
		"items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 0}],
		"empty": []
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  any
		found bool
	}{
		{".id", 1167860, true},
		{".big", bigInt("123456789012345678901"), true},
		{".items[0].sku", "A", true},
		{".items[1].qty", 0, true},
		{".items | length", 2, true},
		{".id / 2", 583930, true},
		{".id * 1.5", 1751790.0, true},
		{".items[].sku", []any{"A", "B"}, true},
		{"[.items[].sku]", []any{"A", "B"}, true},
		{".items[] | select(.qty > 0) | .sku", "A", true},
		{".missing", nil, false},
		{".gone", nil, false},
		{".items[5]", nil, false},
		{".empty[]", nil, false},
		{"empty", nil, false},
		{".items[] | select(.qty > 5)", nil, false},
		{"(.gone, .id)", []any{nil, 1167860}, true},
		{".items[0]", map[string]any{"sku": "A", "qty": 2}, true},
		{"halt", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := expr.CompileQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if q.String() != tt.query {
				t.Errorf("String() = %q", q.String())
			}
			got, found, err := q.Run(doc)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if found != tt.found {
				t.Errorf("found = %v, want %v", found, tt.found)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Run = %#v (%T), want %#v (%T)", got, got, tt.want, tt.want)
			}
		})
	}
}

func TestQueryRuntimeError(t *testing.T) {
	tests := []struct {
		query string
		in    any
		msg   string
	}{
		{".a.b", map[string]any{"a": 1}, "expected an object but got: number"},
		{".[0]", map[string]any{"a": 1}, "expected an array"},
		{`error("boom")`, nil, "boom"},
		{"range(20000)", nil, "more than 10000 results"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := expr.CompileQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, found, err := q.Run(tt.in)
			if err == nil {
				t.Fatalf("no error; got %#v, %v", got, found)
			}
			if !strings.HasPrefix(err.Error(), "jq "+tt.query+": ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q, want it to name the query and say %q", err, tt.msg)
			}
			if found || got != nil {
				t.Errorf("a failed query returned %#v, %v", got, found)
			}
		})
	}
}

func TestCompileQueryErrors(t *testing.T) {
	for _, src := range []string{".items[", ".a |", "nosuchfunc(1)", "$undefined"} {
		_, err := expr.CompileQuery(src)
		if err == nil {
			t.Errorf("CompileQuery(%q): no error", src)
			continue
		}
		if !strings.HasPrefix(err.Error(), "bad jq query "+`"`+src+`"`) {
			t.Errorf("CompileQuery(%q) error = %q", src, err)
		}
	}
}
