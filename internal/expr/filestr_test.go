package expr_test

import (
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
)

func TestFileStrPlacesProblemsInTheFile(t *testing.T) {
	d := decode.New("seam.yaml", &diag.List{})
	d.Vars = map[string]bool{"addr": true}
	d.Later = map[string]string{"service": "known later"}
	s := expr.FileStr(d, "app.tmpl", "# config\nlisten: ((addr))\n  db: ((service(\"db\").url)), ((nope))\n")
	errs := d.Errs.Errors()
	if len(errs) != 2 {
		t.Fatalf("got %v, want two problems (every one in the file)", d.Errs)
	}
	if e := errs[0]; e.Pos.File != "app.tmpl" || e.Pos.Line != 3 || e.Pos.Col != 9 || e.Msg != `"service" is not known here` || e.Hint != "known later" {
		t.Errorf("got %v at %s, want app.tmpl:3:9: \"service\" is not known here (known later)", e, e.Pos)
	}
	if e := errs[1]; e.Pos.String() != "app.tmpl:3:32" || e.Msg != `undefined variable "nope"` {
		t.Errorf("got %v at %s, want app.tmpl:3:32: undefined variable \"nope\"", e, e.Pos)
	}
	d = decode.New("seam.yaml", &diag.List{})
	d.Vars = map[string]bool{"addr": true}
	s = expr.FileStr(d, "app.tmpl", "listen: ((addr))\n")
	if got, err := s.String(expr.Vars{"addr": "127.0.0.1:1"}); err != nil || got != "listen: 127.0.0.1:1\n" || d.Errs.Len() != 0 {
		t.Errorf("String = %q, %v; problems %v", got, err, d.Errs)
	}
}

// FuzzFileStr checks that a problem in any template file is placed on one
// of its lines, at a column inside that line (or just past its end).
func FuzzFileStr(f *testing.F) {
	for _, s := range []string{"a: ((b))", "x\n((\n", "((a))\n((nope))", "é((x))", "((a +))", "\n\n  ((1/))", "$((x))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d := decode.New("seam.yaml", &diag.List{})
		d.Vars = map[string]bool{"a": true}
		expr.FileStr(d, "f.tmpl", text)
		lines := strings.Split(text, "\n")
		for _, e := range d.Errs.Errors() {
			if e.Pos.File != "f.tmpl" || e.Pos.Line < 1 || e.Pos.Line > len(lines) || e.Pos.Col < 1 || e.Pos.Col > len(lines[e.Pos.Line-1])+1 {
				t.Errorf("%q: problem at %d:%d, outside the text: %v", text, e.Pos.Line, e.Pos.Col, e)
			}
		}
	})
}

// Columns in a template file count characters, as YAML's do, and the
// services it names are collected with the fields read, at their places.
func TestFileStrColumnsAndServices(t *testing.T) {
	var named []decode.Named
	d := decode.New("seam.yaml", &diag.List{})
	d.Services = &named
	expr.FileStr(d, "app.tmpl", "# 注文\ngröße: ((service(\"db\").ports.pg))\n")
	if d.Errs.Len() != 0 || len(named) != 1 {
		t.Fatalf("problems %v; services %v", d.Errs.Err(), named)
	}
	if n := named[0]; n.Name != "db" || n.Pos.String() != "app.tmpl:2:18" || len(n.Path) != 2 || n.Path[1].Pos.String() != "app.tmpl:2:30" {
		t.Errorf("got %+v", n)
	}
	d = decode.New("seam.yaml", &diag.List{})
	d.Vars = map[string]bool{}
	expr.FileStr(d, "app.tmpl", "# 注文\ngröße: ((nope))\n")
	if e := d.Errs.Errors(); len(e) != 1 || e[0].Pos.String() != "app.tmpl:2:10" {
		t.Errorf("got %v, want one problem at app.tmpl:2:10", d.Errs.Err())
	}
}

// A template file with a service the suite may not have on one line and
// an undefined name on the next is told both: the service is noted for
// the loader to check, the name reported at its place.
func TestFileStrTellsEveryProblem(t *testing.T) {
	var named []decode.Named
	d := decode.New("seam.yaml", &diag.List{})
	d.Vars = map[string]bool{"service": true}
	d.Services = &named
	expr.FileStr(d, "app.tmpl", "# config\nport: 1\nurl: ((service(\"nope\").url))\nx: ((undefined_var))\ny: ((1 +)) ((a + b))\n")
	var got []string
	for _, e := range d.Errs.Errors() {
		got = append(got, e.Pos.String()+" "+e.Msg)
	}
	want := []string{
		`app.tmpl:4:6 undefined variable "undefined_var"`,
		`app.tmpl:5:6 bad expression "1 +": unexpected token EOF`,
		`app.tmpl:5:14 undefined variable "a"`,
		`app.tmpl:5:14 undefined variable "b"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(named) != 1 || named[0].Name != "nope" || named[0].Pos.String() != "app.tmpl:3:16" {
		t.Errorf("services noted: %+v, want nope at app.tmpl:3:16", named)
	}
}
