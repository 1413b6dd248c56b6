package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallSuite writes a suite of four passing tests that need no service.
func smallSuite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	suite := "name: small\ntests:\n"
	for _, n := range []string{"a", "b", "c", "d"} {
		suite += "  - {name: " + n + ", steps: [{exec: [\"true\"]}]}\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runParts runs the parts ks of n of suite, each writing its event log
// and JUnit report into dir, and returns the logs' paths.
func runParts(t *testing.T, suite, dir string, n string, ks ...string) []string {
	t.Helper()
	var logs []string
	for _, k := range ks {
		log := filepath.Join(dir, "part"+k+".jsonl")
		r := seam(t, "run", suite, "--shard", k+"/"+n, "--report", "json="+log, "--report", "junit="+filepath.Join(dir, "part"+k+".xml"))
		if r.code != 0 {
			t.Fatalf("part %s/%s: exit %d\n%s%s", k, n, r.code, r.stdout, r.stderr)
		}
		logs = append(logs, log)
	}
	return logs
}

// TestMergeOfPartsWithOneMissingFails: merging the logs of parts 1/3 and
// 3/3 writes the report of what they ran but says part 2/3 is missing
// and exits 1, so CI does not take the incomplete report for green.
func TestMergeOfPartsWithOneMissingFails(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	suite, dir := smallSuite(t), t.TempDir()
	logs := runParts(t, suite, dir, "3", "1", "2", "3")
	merged, junit := filepath.Join(dir, "merged.jsonl"), filepath.Join(dir, "merged.xml")
	r := seam(t, "report", "merge", "--json", merged, "--junit", junit, logs[0], logs[2])
	if r.code != 1 || !strings.Contains(r.stderr, "part 2/3 is missing: its tests are not in this report") {
		t.Errorf("merge without part 2/3: exit %d, stderr %q; want 1 saying part 2/3 is missing", r.code, r.stderr)
	}
	names, _ := testNames(t, merged)
	if len(names) == 0 || len(names) >= 4 {
		t.Errorf("the merged log holds tests %v; want those of parts 1 and 3", names)
	}
	validJUnit(t, junit)
	if j, _ := os.ReadFile(junit); !strings.Contains(string(j), `name="seam.missing" value="2/3"`) {
		t.Errorf("merged JUnit does not name the missing part:\n%s", j)
	}
	// Every part: exit 0, all four tests.
	r = seam(t, append([]string{"report", "merge", "--json", merged}, logs...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "4 passed, 0 failed") {
		t.Errorf("merge of every part: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Parts of different splits, or one part twice: a usage error.
	other := runParts(t, suite, t.TempDir(), "2", "1")
	if r := seam(t, "report", "merge", logs[1], other[0]); r.code != 2 || !strings.Contains(r.stderr, "the same --shard N") {
		t.Errorf("parts of 3 and of 2: exit %d, %s; want 2", r.code, r.stderr)
	}
}

// TestShardWithNoTestWritesEmptyReports: a part that gets no test (6/6 of
// four tests) writes every report it was asked for, empty and valid, and
// its log counts as the part in the merge.
func TestShardWithNoTestWritesEmptyReports(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	suite, dir := smallSuite(t), t.TempDir()
	log, junit, surefire, html := filepath.Join(dir, "e6.jsonl"), filepath.Join(dir, "e6.xml"), filepath.Join(dir, "s6.xml"), filepath.Join(dir, "e6.html")
	r := seam(t, "run", suite, "--shard", "6/6", "--report", "json="+log, "--report", "junit="+junit, "--report", "surefire="+surefire, "--report", "html="+html)
	if r.code != 0 || !strings.Contains(r.stdout, "no test to run here") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, p := range []string{log, junit, surefire, html} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("report %s not written: %v", filepath.Base(p), err)
		}
	}
	data, _ := os.ReadFile(log)
	if !strings.Contains(string(data), `"type":"run_start","suite":"small","shard":"6/6"`) || !strings.Contains(string(data), `"type":"run_end"`) {
		t.Errorf("the empty part's event log:\n%s", data)
	}
	validJUnit(t, junit)
	if j, _ := os.ReadFile(junit); !strings.Contains(string(j), `tests="0"`) {
		t.Errorf("the empty part's JUnit:\n%s", j)
	}
	logs := append(runParts(t, suite, dir, "6", "1", "2", "3", "4", "5"), log)
	merged := filepath.Join(dir, "merged.xml")
	r = seam(t, append([]string{"report", "merge", "--junit", merged}, logs...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "4 passed, 0 failed") {
		t.Errorf("merge of six parts, two empty: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	validJUnit(t, merged)
	// Each part that ran a test had its own seed: the merged report names
	// each (the empty parts need none), not part 1's as the run's.
	if m, _ := os.ReadFile(merged); strings.Contains(string(m), `name="seam.seed"`) || !strings.Contains(string(m), `name="seam.seed.part4"`) {
		t.Errorf("merged JUnit does not give each part's seed:\n%s", m)
	}
	r = seam(t, append([]string{"report", "merge", "--junit", merged}, logs[:5]...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "part 6/6 is missing") {
		t.Errorf("merge without the empty part 6/6: exit %d, %s; want 1 saying it is missing", r.code, r.stderr)
	}
}

// TestMergeJUnitFailsLikeMergingLogs: merging the parts' JUnit reports
// exits 1 when a test failed, and refuses (exit 2) a part given twice,
// naming the test and the files, as merging their event logs does.
func TestMergeJUnitFailsLikeMergingLogs(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	suite, dir := smallSuite(t), t.TempDir()
	// d fails.
	os.WriteFile(filepath.Join(suite, "seam.yaml"), []byte("name: small\ntests:\n"+
		"  - {name: a, steps: [{exec: [\"true\"]}]}\n  - {name: b, steps: [{exec: [\"true\"]}]}\n"+
		"  - {name: c, steps: [{exec: [\"true\"]}]}\n  - {name: d, steps: [{exec: [\"false\"], expect: {exit_code: 0}}]}\n"), 0o644)
	var xmls []string
	for _, k := range []string{"1", "2"} {
		x := filepath.Join(dir, "part"+k+".xml")
		seam(t, "run", suite, "--shard", k+"/2", "--report", "junit="+x)
		xmls = append(xmls, x)
	}
	merged := filepath.Join(dir, "merged.xml")
	r := seam(t, append([]string{"report", "merge", "--junit", merged}, xmls...)...)
	if r.code != 1 {
		t.Errorf("merge of JUnit reports with a failed test: exit %d\n%s%s; want 1", r.code, r.stdout, r.stderr)
	}
	validJUnit(t, merged)
	if m, _ := os.ReadFile(merged); strings.Count(string(m), "<testcase ") != 4 {
		t.Errorf("merged JUnit does not hold the 4 tests once:\n%s", m)
	}
	os.Remove(merged)
	r = seam(t, "report", "merge", "--junit", merged, xmls[0], xmls[1], xmls[0])
	if r.code != 2 || !strings.Contains(r.stderr, xmls[0]+" is given twice (test ") {
		t.Errorf("the same part twice: exit %d, %s; want 2 naming the test and the files", r.code, r.stderr)
	}
	if _, err := os.Stat(merged); err == nil {
		t.Errorf("a refused merge wrote %s", merged)
	}
	// A copy of a part under another name: the test and both files.
	again := filepath.Join(dir, "again.xml")
	data, _ := os.ReadFile(xmls[1])
	os.WriteFile(again, data, 0o644)
	r = seam(t, "report", "merge", "--junit", merged, xmls[0], xmls[1], again)
	if r.code != 2 || !strings.Contains(r.stderr, "is in "+xmls[1]+" and in "+again) || !strings.Contains(r.stderr, `test "`) {
		t.Errorf("a part's copy: exit %d, %s; want 2 naming the test and the files", r.code, r.stderr)
	}
	// One part's report alone: the other is said missing, and it fails.
	r = seam(t, "report", "merge", "--junit", merged, xmls[0])
	if r.code != 1 || !strings.Contains(r.stderr, "part 2/2 is missing: its tests are not in this report") {
		t.Errorf("a part's JUnit alone: exit %d, %s; want 1 naming part 2/2", r.code, r.stderr)
	}
}
