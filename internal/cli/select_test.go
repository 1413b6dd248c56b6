package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// selectSuite writes a suite of exec tests: two in seam.yaml, three in an
// included file, of several priorities.
func selectSuite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("seam.yaml", `name: sel
include: [tests/*.yaml]
tests:
  - name: root critical
    priority: critical
    steps: [{exec: {command: "true"}}]
  - name: root low
    priority: low
    steps: [{exec: {command: "true"}}]
`)
	write("tests/more.yaml", `tests:
  - name: more high
    priority: high
    steps: [{exec: {command: "true"}}]
  - name: more medium
    steps: [{exec: {command: "true"}}]
  - name: more low
    priority: low
    steps: [{exec: {command: "true"}}]
`)
	return dir
}

func listNames(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"list"}, args...), IO{Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), code
}

func TestPriorityFilterTakesThatPriorityAndHigher(t *testing.T) {
	dir := selectSuite(t)
	out, errs, code := listNames(t, "--priority", "high", dir)
	if code != 0 || !strings.Contains(out, "root critical") || !strings.Contains(out, "more high") || strings.Contains(out, "medium") || strings.Contains(out, "low ") {
		t.Errorf("--priority high: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := listNames(t, "--priority", "urgent", dir); code != ExitUsage || !strings.Contains(errs, "critical, high, medium, low") {
		t.Errorf("--priority urgent: exit %d %s", code, errs)
	}
}

func TestAnIncludedFileMeansItsTestsOfTheSuite(t *testing.T) {
	dir := selectSuite(t)
	out, errs, code := listNames(t, filepath.Join(dir, "tests", "more.yaml"))
	if code != 0 || strings.Contains(out, "root") || strings.Count(out, "more ") != 3 || !strings.Contains(errs, "is included by") {
		t.Errorf("list tests/more.yaml: exit %d\n%s%s", code, out, errs)
	}
	var o, e bytes.Buffer
	if code := Run(context.Background(), []string{"validate", filepath.Join(dir, "tests", "more.yaml")}, IO{Stdout: &o, Stderr: &e}); code != 0 || !strings.Contains(o.String(), "ok, 5 tests") {
		t.Errorf("validate tests/more.yaml: exit %d\n%s%s", code, o.String(), e.String())
	}
}

func TestListShowsAShardsPart(t *testing.T) {
	dir := selectSuite(t)
	seen := map[string]int{}
	for _, k := range []string{"1/2", "2/2"} {
		out, errs, code := listNames(t, "--shard", k, dir)
		if code != 0 || !strings.Contains(errs, "--shard "+k) {
			t.Fatalf("--shard %s: exit %d\n%s%s", k, code, out, errs)
		}
		for _, n := range []string{"root critical", "root low", "more high", "more medium", "more low"} {
			if strings.Contains(out, n) {
				seen[n]++
			}
		}
	}
	if len(seen) != 5 {
		t.Errorf("the parts together: %v", seen)
	}
	for n, k := range seen {
		if k != 1 {
			t.Errorf("%s in %d parts", n, k)
		}
	}
}

func TestValidateTakesNoTestFilters(t *testing.T) {
	dir := selectSuite(t)
	var o, e bytes.Buffer
	if code := Run(context.Background(), []string{"validate", "--tags", "x", dir}, IO{Stdout: &o, Stderr: &e}); code != ExitUsage {
		t.Errorf("validate --tags: exit %d, want %d (validate checks every test)", code, ExitUsage)
	}
}
