package suite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/suite"
)

const usedSteps = `vars: {greeting: hello}
steps:
  say:
    params: {word: ((greeting)), times: 1}
    steps:
      - name: echo
        exec: [echo, ((word))]
        capture: {said: .stdout}
  twice:
    params: [who]
    steps:
      - use: say
        with: {word: ((who)), times: 2}
      - exec: [echo, ((said))]
tests:
  - name: t
    steps:
      - use: twice
        with: {who: ada}
        name: greet
      - exec: [echo, ((said)) ((who)) ((times))]
`

// A use: step stands for the reusable steps, named after the use, with
// the parameters set as the first of them starts; what they capture and
// their parameters are the test's after them.
func TestUseExpandsReusableSteps(t *testing.T) {
	s, _, err := loadText(t, usedSteps, suite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps := s.Tests[0].Steps
	var names []string
	for _, st := range steps {
		names = append(names, st.Name)
	}
	if got := strings.Join(names, " | "); got != "greet › say › echo | greet › exec echo ((said)) | exec echo ((said)) ((who)) ((times))" {
		t.Errorf("steps: %s", got)
	}
	var vars []string
	for _, v := range steps[0].Vars {
		vars = append(vars, v.Name)
	}
	if strings.Join(vars, ",") != "who,word,times" || len(steps[1].Vars) != 0 {
		t.Errorf("vars of the first step: %v; of the second: %v", vars, steps[1].Vars)
	}
	if !strings.HasSuffix(steps[0].Pos.String(), ":7:9") {
		t.Errorf("a used step's position is where it is written: %s", steps[0].Pos)
	}
}

func TestUseProblems(t *testing.T) {
	for _, c := range []struct{ name, steps, test, want string }{
		{"unknown", `say: [{exec: [echo]}]`, `- use: sya`, `:8:14: steps[0]: no reusable steps named "sya" (did you mean "say"?)`},
		{"missing param", `say: {params: [word], steps: [{exec: [echo, ((word))]}]}`, `- use: say`, `:8:9: steps[0]: "say" needs the parameter "word"`},
		{"unknown param", `say: {params: [word], steps: [{exec: [echo, ((word))]}]}`, "- use: say\n        with: {wrod: x, word: y}", `:9:16: steps[0]: "wrod" is not a parameter of "say" (did you mean "word"?`},
		{"other keys", `say: [{exec: [echo]}]`, "- use: say\n        expect: {stdout: x}", `:9:9: steps[0]: unknown key "expect"`},
		{"error inside, once", `say: [{exec: [echo, ((nope))]}]`, "- use: say\n      - use: say", `undefined variable "nope"`},
		{"unused, still checked", `say: [{exec: [echo, ((nope))]}]`, "- exec: [echo]", `which no test uses`},
		{"cycle", `a: [{use: b}]
  b: [{use: a}]`, "- use: a", `more than 8 deep`},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := "steps:\n  " + c.steps + "\n\n\ntests:\n  - name: t\n    steps:\n      " + c.test + "\n"
			_, _, err := loadText(t, text, suite.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant %q", err, c.want)
			}
			if c.name == "error inside, once" && strings.Count(err.Error(), "nope") != 1 {
				t.Errorf("reported more than once: %v", err)
			}
		})
	}
}

func TestSkipTakesTrueOrAReason(t *testing.T) {
	for _, c := range []struct{ skip, want string }{{"5", "skip: want true or the reason (text), got number 5"}, {"[a]", "got a list"}} {
		_, _, err := loadText(t, "tests:\n  - name: t\n    skip: "+c.skip+"\n    steps: [{exec: [echo]}]\n", suite.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("skip: %s: %v", c.skip, err)
		}
	}
	s, _, err := loadText(t, "tests:\n  - name: t\n    skip: \"5 is not ready\"\n    steps: [{exec: [echo]}]\n", suite.Options{})
	if err != nil || s.Tests[0].Skip != "5 is not ready" {
		t.Errorf("a reason: %v", err)
	}
}

// A misspelled services: is one problem, not one per service named.
func TestMisspelledServicesIsOneProblem(t *testing.T) {
	_, _, err := loadText(t, `servics:
  web: {process: {run: [sleep, "1000"]}}
tests:
  - name: t
    steps:
      - http: {service: web, path: /}
      - exec: [echo, '((service("web").url))']
`, suite.Options{})
	if err == nil || !strings.Contains(err.Error(), `unknown key "servics"`) || strings.Contains(err.Error(), "no service") {
		t.Errorf("got %v", err)
	}
}

// Reusable steps written in the suite file and used from an included
// file are placed in the suite file, the use in the included one.
func TestUseFromAnIncludedFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tests"), 0o755)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte("steps:\n  say: [{exec: [echo, ((nope))]}]\ninclude: [tests/a.yaml]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tests", "a.yaml"), []byte("tests:\n  - name: a\n    steps:\n      - use: say\n"), 0o644)
	reg := builtin.New()
	defer reg.Close()
	_, err := suite.Load(dir, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "seam.yaml")+":2:") || !strings.Contains(err.Error(), "used at "+filepath.Join(dir, "tests", "a.yaml")+":4:9") {
		t.Errorf("got %v", err)
	}
}

// An included file may hold reusable steps too; a test in any file uses
// them, the suite file's tests included; a name written twice is refused.
func TestReusableStepsInAnIncludedFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tests"), 0o755)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte("include: [tests/*.yaml]\ntests:\n  - name: root\n    steps:\n      - use: shout\n        with: {w: a}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tests", "lib.yaml"), []byte("steps:\n  shout:\n    params: [w]\n    steps: [{exec: [echo, ((w))]}]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tests", "z.yaml"), []byte("tests:\n  - name: z\n    steps:\n      - use: shout\n        with: {w: b}\n"), 0o644)
	reg := builtin.New()
	defer reg.Close()
	opts := suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes}
	s, err := suite.Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tests) != 2 || s.Tests[0].Steps[0].Name != "shout › exec echo ((w))" || !strings.HasSuffix(s.Tests[1].Steps[0].Pos.File, "lib.yaml") {
		t.Errorf("tests: %d; first step %q at %s", len(s.Tests), s.Tests[0].Steps[0].Name, s.Tests[1].Steps[0].Pos)
	}
	os.WriteFile(filepath.Join(dir, "tests", "dup.yaml"), []byte("steps:\n  shout: [{exec: [echo]}]\n"), 0o644)
	if _, err := suite.Load(dir, opts); err == nil || !strings.Contains(err.Error(), `reusable steps "shout" are written twice (first at `) || !strings.Contains(err.Error(), "dup.yaml:2:3") {
		t.Errorf("twice: %v", err)
	}
}

// "or use url: instead" is offered only by steps that take a url:.
func TestNoSuchServiceHintFitsTheStep(t *testing.T) {
	_, _, err := loadText(t, `tests:
  - name: t
    steps:
      - http: {service: web, path: /}
      - interactions: {from: web, to: db}
`, suite.Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, ":5:") && strings.Contains(line, "url:") {
			t.Errorf("interactions takes no url: %s", line)
		}
	}
	if !strings.Contains(err.Error(), "or use url: instead") {
		t.Errorf("http takes url: %v", err)
	}
}
