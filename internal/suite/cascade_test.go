package suite_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/suite"
)

// problems lists err's problems, each as "file:line:col: msg" with the
// file's base name.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var list *diag.List
	if !errors.As(err, &list) {
		t.Fatalf("Load = %v, want a list of problems", err)
	}
	var out []string
	for _, e := range list.Errors() {
		e.Pos.File = filepath.Base(e.Pos.File)
		out = append(out, e.Pos.String()+": "+e.Msg)
	}
	return out
}

// One mistake is one problem: the names a broken step, a broken capture
// or a use of reusable steps that do not exist would define are not then
// told undefined at every step that reads them.
func TestOneMistakeIsOneProblem(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"bad capture query", `tests:
  - name: t
    steps:
      - exec: [echo, '{"a":1}']
        capture: {p: '((x))'}
      - exec: [echo, '((p))']
      - exec: [echo, '((p)) ((p))']
`, `seam.yaml:5:22: capture p: bad jq query "((x))": function not defined: x/0`},
		{"capture of a field the result has not", `tests:
  - name: t
    steps:
      - exec: [echo]
        capture: {p: .bdy.id}
      - exec: [echo, '((p))']
`, `seam.yaml:5:22: capture p: the result has no field "bdy"`},
		{"step of an unknown kind", `tests:
  - name: t
    steps:
      - htp: {url: http://x}
        capture: {id: .body.id}
      - exec: [echo, '((id))']
`, `seam.yaml:4:9: steps[0]: unknown step kind "htp"`},
		{"bad capture in reusable steps used by two tests", `steps:
  make:
    - exec: [echo, '{"a":1}']
      capture: {payer: '((acct))'}
tests:
  - name: a
    steps:
      - use: make
      - exec: [echo, '((payer))']
  - name: b
    steps:
      - use: make
      - exec: [echo, '((payer)) ((payer))']
`, `seam.yaml:4:24: capture payer: bad jq query "((acct))": function not defined: acct/0`},
		{"use of reusable steps that do not exist", `tests:
  - name: t
    steps:
      - use: nothing like it
      - exec: [echo, '((payer))']
`, `seam.yaml:4:14: steps[0]: no reusable steps named "nothing like it"`},
		{"a missing parameter a default reads", `steps:
  say:
    params: {a: null, b: ((a))}
    steps: [{exec: [echo, ((b))]}]
tests:
  - name: t
    steps:
      - use: say
`, `seam.yaml:8:9: steps[0]: "say" needs the parameter "a"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := loadText(t, c.text, suite.Options{})
			if got := problems(t, err); len(got) != 1 || got[0] != c.want {
				t.Errorf("problems:\n%s\nwant only:\n%s", strings.Join(got, "\n"), c.want)
			}
		})
	}
}

// Reusable steps whose name is written in two files are one problem,
// told with both places: the uses are checked against neither (the
// parameters given, the names captured), and the problems inside each
// definition are still found, once.
func TestReusableStepsWrittenTwiceIsOneProblem(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tests"), 0o755)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte("include: [tests/*.yaml]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tests", "a.yaml"), []byte(`steps:
  funded pair:
    steps:
      - exec: [true]
`), 0o644)
	var b strings.Builder
	b.WriteString(`steps:
  funded pair:
    params: {a: 500, b: 0}
    steps:
      - exec: [echo, '((a))']
        capture: {payer: .stdout}
      - exec: [echo, '((b)) ((nope))']
        capture: {payee: .stdout}
tests:
`)
	for _, n := range []string{"one", "two", "three"} {
		b.WriteString(`  - name: ` + n + `
    setup:
      - use: funded pair
        with: {a: 10000, c: ((undefined_in_with))}
    steps:
      - exec: [echo, '((payer)) ((payee))']
`)
	}
	os.WriteFile(filepath.Join(dir, "tests", "b.yaml"), []byte(b.String()), 0o644)
	reg := builtin.New()
	defer reg.Close()
	_, err := suite.Load(dir, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes})
	got := problems(t, err)
	want := []string{
		`b.yaml:2:3: reusable steps "funded pair" are written twice`,
		`b.yaml:7:31: undefined variable "nope"`,
		`b.yaml:13:31: undefined variable "undefined_in_with"`,
		`b.yaml:19:31: undefined variable "undefined_in_with"`,
		`b.yaml:25:31: undefined variable "undefined_in_with"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(err.Error(), "first at "+filepath.Join(dir, "tests", "a.yaml")+":2:3") {
		t.Errorf("the first place is not told: %v", err)
	}
}

// A fault named from a data server (which calls no one) is told with the
// services whose calls do reach the callee.
func TestEdgeFromAServerNamesTheCallers(t *testing.T) {
	_, _, err := loadText(t, `services:
  bus:
    nats: {}
  cache:
    redis: {}
  api:
    process:
      run: [sleep, "60"]
    depends_on: [bus, cache]
tests:
  - name: t
    steps:
      - fault: {from: bus, to: cache, latency: 1s}
`, suite.Options{})
	var list *diag.List
	if !errors.As(err, &list) || len(list.Errors()) != 1 {
		t.Fatalf("Load = %v, want one problem", err)
	}
	if e := list.Errors()[0]; !strings.Contains(e.Msg, "bus→cache is not an edge") ||
		e.Hint != "bus is a nats server and calls no one: name an edge from a service that depends on cache (here: api)" {
		t.Errorf("problem %q, hint %q", e.Msg, e.Hint)
	}
}

// A test's faults: name an edge once: a second fault on it would
// silently replace the first.
func TestFaultsNameAnEdgeOnce(t *testing.T) {
	_, _, err := loadText(t, `services:
  back:
    process:
      run: [sleep, "60"]
  api:
    process:
      run: [sleep, "60"]
    depends_on: [back]
tests:
  - name: t
    faults:
      - {from: api, to: back, http: {path: /price*, status: 503}}
      - {from: api, to: back, latency: 500ms}
    steps:
      - exec: ["true"]
`, suite.Options{})
	got := problems(t, err)
	want := "seam.yaml:13:9: faults[1]: a second fault on api→back, which would replace the one at line 12: an edge has one fault at a time"
	if len(got) != 1 || got[0] != want {
		t.Errorf("problems:\n%s\nwant only:\n%s", strings.Join(got, "\n"), want)
	}
}
