package process_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/process"
	"github.com/seamtest/seam/internal/suite"
	"go.yaml.in/yaml/v4"
)

func node(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	return decode.Resolve(&n)
}

// TestFilesTemplateProblemIsPlacedInTheTemplate checks that an unknown name
// in a {template: file} is reported at its line and column in that file.
func TestFilesTemplateProblemIsPlacedInTheTemplate(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "app.yaml.tmpl")
	os.WriteFile(tmpl, []byte("# app config\nlisten: ((addr))\ndb: ((service(\"db\").url))\ncache: ((servise(\"cache\").url))\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: t
services:
  db: {postgres: {}}
  api:
    process:
      run: [./api, -config, '((files["app.yaml"]))']
      files: {app.yaml: {template: app.yaml.tmpl}}
`), 0o644)
	reg := builtin.New()
	defer reg.Close()
	_, err := suite.Load(dir, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, ServicesOnly: true})
	var list *diag.List
	if !errors.As(err, &list) || list.Len() != 1 {
		t.Fatalf("Load = %v, want one problem", err)
	}
	e := list.Errors()[0]
	if e.Pos.File != tmpl || e.Pos.Line != 4 || e.Pos.Col != 10 || !strings.Contains(e.Msg, `undefined variable "servise"`) ||
		!strings.Contains(e.Hint, `did you mean "service"?`) {
		t.Errorf("got %v (at %s), want %s:4:10: undefined variable \"servise\" with a hint", e, e.Pos, tmpl)
	}
}

// TestJobWritesItsFilesAndSeesTheirPaths runs a job whose command reads a
// file that files: wrote, templated, into the instance's folder.
func TestJobWritesItsFilesAndSeesTheirPaths(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seed.tmpl"), []byte("seed for ((name)) from ((service(\"db\").url))\n"), 0o644)
	errs := &diag.List{}
	d := decode.New("seam.yaml", errs)
	d.Dir = dir
	d.Vars = map[string]bool{"service": true, "name": true, "tmp": true, "bin": true, "addr": true, "env": true}
	spec := process.JobKind{}.Decode(d, node(t, `
run: [sh, -c, 'cat "$0" "$1"', '((files["seed.txt"]))', '((files["conf/app.env"]))']
files:
  seed.txt: {template: seed.tmpl}
  conf/app.env: "SEED=((files[\"seed.txt\"]))\n"
timeout: 10s
`))
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	j, ok := spec.(service.Job)
	if !ok || j.JobTimeout() != 10*time.Second {
		t.Fatalf("spec %T is not a job with a 10s timeout", spec)
	}
	tmp := t.TempDir()
	var lines []string
	vars := expr.Vars{"name": "seeder", "tmp": tmp, "service": func(n string) (map[string]any, error) {
		return map[string]any{"url": "postgres://db"}, nil
	}}
	inst, err := spec.Start(context.Background(), &service.StartEnv{Name: "seeder", Dir: dir, TempDir: tmp, Vars: vars,
		Log: func(stream, line string) { lines = append(lines, line) }}) // stdout only: one goroutine
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-inst.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not end")
	}
	if err := inst.ExitErr(); err != nil {
		t.Fatalf("exit: %v; output %q", err, lines)
	}
	want := []string{"seed for seeder from postgres://db", "SEED=" + filepath.Join(tmp, "seed.txt")}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("output %q, want %q", lines, want)
	}
	// The user's template is read, never written.
	if b, _ := os.ReadFile(filepath.Join(dir, "seed.tmpl")); !strings.Contains(string(b), "((name))") {
		t.Errorf("the template changed: %q", b)
	}
}

// FuzzFilesDecode feeds files: mappings to the decoder: it never panics,
// and every name it accepts stays inside the instance's folder.
func FuzzFilesDecode(f *testing.F) {
	for _, s := range []string{
		`{a.yaml: x}`, `{/etc/x: y}`, `{../x: y}`, `{a/../../b: c}`, `{"": x}`, `{a: {template: t}}`,
		`{a: ((nope))}`, `{a: [1]}`, `[a]`, `{./a: x, a: y}`, `{a/./b: "((name))"}`, `{"a\\b": x}`,
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		var n yaml.Node
		if yaml.Unmarshal([]byte(src), &n) != nil || decode.Resolve(&n) == nil || decode.Resolve(&n).Kind == 0 {
			return
		}
		errs := &diag.List{}
		d := decode.New("seam.yaml", errs)
		d.Dir = dir
		d.Vars = map[string]bool{"name": true}
		var fs process.Files
		fs.DecodeYAML(d, decode.Resolve(&n))
		for _, name := range fs.Names() {
			p := filepath.Join("/inst", name)
			if !strings.HasPrefix(p, "/inst/") {
				t.Errorf("accepted %q, which leaves the folder (%s)", name, p)
			}
		}
	})
}
