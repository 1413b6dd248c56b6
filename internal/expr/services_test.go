package expr_test

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
)

// Templates name services by service("name"); every constant name is
// collected, with the column of its string, for the loader to check.
func TestServiceNamesInTemplates(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want []string // name@col
	}{
		{`v: ((service("db").url))`, []string{"db@14"}},
		{`v: "x ((service('db').url)) ((service(\"api\").port))"`, []string{"db@17", "api@39"}},
		{`v: ((service(name).url))`, nil}, // computed: checked when it runs
		{`v: ((let s = service("a"); s.url))`, []string{"a@22"}},
		{`v: ((other("db")))`, nil},
		{`v: ((service("a").ports.x + service("b").url))`, []string{"a@14", "b@37"}},
		{"v: |\n  ((service(\"db\").url))\n", []string{"db@13"}},                 // a block: where the line holds it
		{`v: "é ((service('db').url))"`, []string{"db@17"}},                      // columns in characters
		{`v: ((service("é" + "b").url + service("db").url))`, []string{"db@39"}}, // expr-lang counts runes
	} {
		var got []decode.Named
		d := newDecoder()
		d.Src = []byte(tc.doc)
		d.Services = &got
		var s expr.Str
		s.DecodeYAML(d, valueNode(t, tc.doc))
		if d.Errs.Len() > 0 {
			t.Fatalf("%s: %v", tc.doc, d.Errs.Err())
		}
		var names []string
		for _, n := range got {
			names = append(names, n.Name+"@"+strconv.Itoa(n.Pos.Col))
		}
		if !reflect.DeepEqual(names, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.doc, names, tc.want)
		}
	}
}

// The fields a template reads of a service are collected too, each at its
// column, up to the first one computed when it runs.
func TestServiceFieldsInTemplates(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want string // name@col: field@col …
	}{
		{`v: ((service("web").ports.admin))`, "web@14: ports@21 admin@27"},
		{`v: ((service("web").uri))`, "web@14: uri@21"},
		{`v: ((service("web")["ports"].admin))`, "web@14: ports@21 admin@30"},
		{`v: ((service("web")?.url ?? "x"))`, "web@14: url@22"},
		{`v: ((service("web").ports[name].x))`, "web@14: ports@21"},
		{`v: ((service("web")))`, "web@14:"},
		{`v: ((len(service("web").url)))`, "web@18: url@25"},
	} {
		var got []decode.Named
		d := newDecoder()
		d.Services = &got
		d.Src = []byte(tc.doc)
		var s expr.Str
		s.DecodeYAML(d, valueNode(t, tc.doc))
		if d.Errs.Len() > 0 {
			t.Fatalf("%s: %v", tc.doc, d.Errs.Err())
		}
		if len(got) != 1 {
			t.Fatalf("%s: got %d services, want 1", tc.doc, len(got))
		}
		text := got[0].Name + "@" + strconv.Itoa(got[0].Pos.Col) + ":"
		for _, f := range got[0].Path {
			text += " " + f.Name + "@" + strconv.Itoa(f.Pos.Col)
		}
		if text != tc.want {
			t.Errorf("%s: got %q; want %q", tc.doc, text, tc.want)
		}
	}
}
