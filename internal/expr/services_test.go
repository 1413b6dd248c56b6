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
		{"v: |\n  ((service(\"db\").url))\n", []string{"db@4"}}, // a block: the scalar's own position
	} {
		var got []decode.Named
		d := newDecoder()
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
