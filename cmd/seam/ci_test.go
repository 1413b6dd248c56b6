package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
)

const ciSuite = "testdata/ci"

// testNames reads the test_end events of an event log.
func testNames(t *testing.T, path string) (names []string, flaky int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e struct {
			Type, Test string
			Flaky      bool
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if e.Type == "test_end" {
			names = append(names, e.Test)
			if e.Flaky {
				flaky++
			}
		}
	}
	return names, flaky
}

func validJUnit(t *testing.T, path string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is missing; scripts/test.sh installs it (Debian package libxml2-utils)")
	}
	// The schema's copy that internal/report's tests keep equal to the shared one.
	out, err := exec.Command(xmllint, "--noout", "--schema", "../../internal/report/testdata/junit.xsd", path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s does not validate: %v\n%s", path, err, out)
	}
}

// TestShardsAreSeparateProcessesThenMerged runs the suite as three parts
// (separate seam processes, as CI machines would), by count and then by
// the first round's timings, and merges the parts' logs into one report.
func TestShardsAreSeparateProcessesThenMerged(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	dir := t.TempDir()
	mark := filepath.Join(dir, "mark")
	for _, round := range []string{"count", "timings"} {
		var logs, all []string
		for _, k := range []string{"1/3", "2/3", "3/3"} {
			log := filepath.Join(dir, round+strings.ReplaceAll(k, "/", "of")+".jsonl")
			args := []string{"run", ciSuite, "--shard", k, "--report", "json=" + log, "--retries", "1", "--var", "mark=" + mark}
			if round == "timings" {
				args = append(args, "--timings", filepath.Join(dir, "merged-count.jsonl"))
			}
			r := seam(t, args...)
			if r.code != 0 {
				t.Fatalf("%s: exit %d\n%s%s", k, r.code, r.stdout, r.stderr)
			}
			want := "--shard " + k + ": "
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
			if round == "timings" && !strings.Contains(r.stdout, "by duration") {
				t.Errorf("%s with --timings not balanced by duration:\n%s", k, r.stdout)
			}
			names, _ := testNames(t, log)
			all = append(all, names...)
			logs = append(logs, log)
		}
		sort.Strings(all)
		for i := 1; i < len(all); i++ {
			if all[i] == all[i-1] {
				t.Errorf("%s: %q ran in two parts", round, all[i])
			}
		}
		if len(all) != 13 {
			t.Errorf("%s: the parts ran %d tests; want all 13 once: %v", round, len(all), all)
		}
		merged, junit := filepath.Join(dir, "merged-"+round+".jsonl"), filepath.Join(dir, "merged-"+round+".xml")
		r := seam(t, append([]string{"report", "merge", "--json", merged, "--junit", junit}, logs...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "13 passed, 0 failed") {
			t.Fatalf("merge: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if names, _ := testNames(t, merged); len(names) != 13 {
			t.Errorf("merged log has %d tests; want 13", len(names))
		}
		validJUnit(t, junit)
	}
	// Parts of different splits do not merge.
	r := seam(t, "report", "merge", filepath.Join(dir, "count1of3.jsonl"), filepath.Join(dir, "merged-count.jsonl"))
	if r.code != 2 || !strings.Contains(r.stderr, "ran in") {
		t.Errorf("merging overlapping parts: exit %d, %s; want 2 naming the test", r.code, r.stderr)
	}
}

func TestRetriesMarkFlakyTests(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	dir := t.TempDir()
	junit, surefire, log := filepath.Join(dir, "j.xml"), filepath.Join(dir, "s.xml"), filepath.Join(dir, "e.jsonl")
	args := []string{"run", ciSuite, "--filter", "fails once", "--retries", "2", "--var", "mark=" + filepath.Join(dir, "m1"),
		"--report", "junit=" + junit, "--report", "surefire=" + surefire, "--report", "json=" + log}
	r := seam(t, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "RETRY fails once, then passes (attempt 1 failed") || !strings.Contains(r.stdout, "FLAKY fails once") {
		t.Fatalf("exit %d; want 0 with a retry and a flaky test:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, flaky := testNames(t, log); flaky != 1 {
		t.Errorf("event log: %d flaky test_end; want 1", flaky)
	}
	validJUnit(t, junit)
	j, _ := os.ReadFile(junit)
	if !strings.Contains(string(j), `name="seam.flaky" value="1"`) || !strings.Contains(string(j), "FLAKY fails once, then passes") {
		t.Errorf("junit does not name the flaky test:\n%s", j)
	}
	s, _ := os.ReadFile(surefire)
	if !strings.Contains(string(s), "<flakyFailure") || !strings.Contains(string(s), "first attempt fails") {
		t.Errorf("surefire report lacks flakyFailure with the first attempt's evidence:\n%s", s)
	}
	// Without retries it fails; with --fail-on-flaky a flaky pass fails the run.
	r = seam(t, "run", ciSuite, "--filter", "fails once", "--var", "mark="+filepath.Join(dir, "m2"))
	if r.code != 1 {
		t.Errorf("without --retries: exit %d; want 1", r.code)
	}
	r = seam(t, "run", ciSuite, "--filter", "fails once", "--retries", "1", "--fail-on-flaky", "--var", "mark="+filepath.Join(dir, "m3"))
	if r.code != 1 || !strings.Contains(r.stderr, "--fail-on-flaky") {
		t.Errorf("--fail-on-flaky: exit %d, %s; want 1", r.code, r.stderr)
	}
}

func TestBudgetRunsCriticalFirstAndReportsTheRestNotRun(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	dir := t.TempDir()
	// A first run is the history the budget estimates from.
	if r := seam(t, "run", ciSuite, "--retries", "1", "--var", "mark="+filepath.Join(dir, "m")); r.code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := seam(t, "run", ciSuite, "--budget", "300ms", "--retries", "1", "--var", "mark="+filepath.Join(dir, "m2"))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	if !strings.HasPrefix(lines[1], "PASS critical path") {
		t.Errorf("the critical test did not run first:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "not run: --budget 300ms would be exceeded") {
		t.Errorf("no test reported not run for the budget:\n%s", r.stdout)
	}
}

func TestCIBadInputIsAUsageError(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	other := filepath.Join(t.TempDir(), "other.xml")
	os.WriteFile(other, []byte(`<testsuites><testsuite name="shop"><testcase name="x" classname="shop" time="1.5"/></testsuite></testsuites>`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "0/4"}, "K counts from 1"},
		{[]string{"--shard", "5/4"}, "K is more than N"},
		{[]string{"--shard", "two"}, "want K/N"},
		{[]string{"--shard", "1/4", "--timings", other}, `timings of suite "shop", not "ci"`},
		{[]string{"--changed", "no-such-revision-here"}, "no such revision"},
		{[]string{"--retries", "-1"}, "--retries must be 0 or more"},
	} {
		r := seam(t, append([]string{"run", ciSuite}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 saying %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestCIConfigsInDocsRun runs the seam commands of docs/ci.md's GitHub
// Actions matrix and GitLab parallel job as CI would: each part a separate
// process of the built seam on examples/shop, then the merge job.
func TestCIConfigsInDocsRun(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(doc), "```yaml\n")
	if len(blocks) != 3 {
		t.Fatalf("docs/ci.md has %d yaml blocks; want 2 (GitHub, GitLab)", len(blocks)-1)
	}
	shop, err := filepath.Abs("../../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	for i, name := range []string{"github", "gitlab"} {
		src, _, _ := strings.Cut(blocks[i+1], "```")
		var cfg map[string]any
		if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
			t.Fatalf("%s config: %v", name, err)
		}
		var parts []string
		var partCmds, mergeCmds []string
		var subst func(cmd, k string) string
		switch name {
		case "github":
			jobs := cfg["jobs"].(map[string]any)
			seamJob := jobs["seam"].(map[string]any)
			for _, s := range seamJob["strategy"].(map[string]any)["matrix"].(map[string]any)["shard"].([]any) {
				parts = append(parts, fmt.Sprint(s))
			}
			partCmds = runsOf(seamJob["steps"])
			mergeCmds = runsOf(jobs["report"].(map[string]any)["steps"])
			subst = func(cmd, k string) string { return strings.ReplaceAll(cmd, "${{ matrix.shard }}", k) }
		case "gitlab":
			job := cfg["seam"].(map[string]any)
			for k := 1; k <= job["parallel"].(int); k++ {
				parts = append(parts, fmt.Sprint(k))
			}
			partCmds = seamLines(job["script"])
			mergeCmds = seamLines(cfg["seam-report"].(map[string]any)["script"])
			n := fmt.Sprint(len(parts))
			subst = func(cmd, k string) string {
				return strings.NewReplacer("$CI_NODE_INDEX", k, "$CI_NODE_TOTAL", n).Replace(cmd)
			}
		}
		if len(parts) != 3 || len(partCmds) != 1 || len(mergeCmds) != 1 {
			t.Fatalf("%s: parts %v, part commands %q, merge commands %q", name, parts, partCmds, mergeCmds)
		}
		work := t.TempDir()
		for _, k := range parts {
			r := runIn(t, work, shop, subst(partCmds[0], k))
			if r.code != 0 || !strings.Contains(r.stdout, "--shard "+k+"/3") {
				t.Fatalf("%s part %s: exit %d\n%s%s", name, k, r.code, r.stdout, r.stderr)
			}
		}
		r := runIn(t, work, shop, mergeCmds[0])
		if r.code != 0 || !strings.Contains(r.stdout, "18 passed, 0 failed") || !strings.Contains(r.stdout, "6 of 6 edges") {
			t.Fatalf("%s merge: exit %d; want all 18 tests and every edge covered across the parts\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		validJUnit(t, filepath.Join(work, "seam.xml"))
	}
}

func runsOf(steps any) []string {
	var out []string
	for _, s := range steps.([]any) {
		if run, ok := s.(map[string]any)["run"].(string); ok && strings.HasPrefix(run, "seam ") {
			out = append(out, run)
		}
	}
	return out
}

func seamLines(script any) []string {
	var out []string
	for _, l := range script.([]any) {
		if s := fmt.Sprint(l); strings.HasPrefix(s, "seam ") {
			out = append(out, s)
		}
	}
	return out
}

// runIn runs a documented seam command line in dir, with examples/shop
// at shop and shard-*.jsonl expanded as a shell would.
func runIn(t *testing.T, dir, shop, line string) result {
	t.Helper()
	var args []string
	for _, w := range strings.Fields(line)[1:] {
		switch {
		case w == "examples/shop":
			args = append(args, shop)
		case strings.Contains(w, "*"):
			m, _ := filepath.Glob(filepath.Join(dir, w))
			args = append(args, m...)
		default:
			args = append(args, w)
		}
	}
	cmd := exec.Command(seamBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitBounded(cmd, 3*time.Minute) {
		t.Fatalf("seam %s hung", line)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
}

// TestChangedSelectsFromTheKeptRuns: after a run seam keeps, --changed HEAD
// with nothing changed under the suite runs only what must always run.
func TestChangedSelectsFromTheKeptRuns(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	mark := filepath.Join(t.TempDir(), "m")
	if out, err := exec.Command("git", "status", "--porcelain", ciSuite).Output(); err != nil || len(out) > 0 {
		t.Skipf("the fixture has uncommitted changes (%s) or git failed (%v): the selection depends on them", out, err)
	}
	r := seam(t, "run", ciSuite, "--changed", "HEAD", "--retries", "1", "--var", "mark="+mark)
	if r.code != 0 || !strings.Contains(r.stdout, "13 of 13 tests selected (from 0 recorded run(s))") || !strings.Contains(r.stdout, "step 01: never recorded in an earlier run") {
		t.Fatalf("first run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = seam(t, "run", ciSuite, "--changed", "HEAD", "--var", "mark="+mark)
	if r.code != 0 || !strings.Contains(r.stdout, "1 of 13 tests selected (from 1 recorded run(s))") || !strings.Contains(r.stdout, "  critical path: critical\n") {
		t.Fatalf("second run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
