package report_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// shardLog is the event log of part shard ("K/N", "" for a run without
// --shard) that ran tests, all passing, with seed.
func shardLog(shard string, seed uint64, tests ...string) []report.Event {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ev := []report.Event{{Time: t0, Type: report.RunStart, Suite: "small", Seed: seed, Shard: shard, Total: len(tests)}}
	for _, name := range tests {
		ev = append(ev, report.Event{Time: t0, Type: report.TestStart, Test: name},
			report.Event{Time: t0, Type: report.TestEnd, Test: name, Status: report.Passed, Duration: 3})
	}
	c := report.Counts{Passed: len(tests)}
	return append(ev, report.Event{Time: t0.Add(3 * time.Millisecond), Type: report.RunEnd, Suite: "small", Seed: seed, Duration: 3, Counts: &c})
}

func TestMergeNamesTheMissingParts(t *testing.T) {
	m, err := report.Merge([][]report.Event{shardLog("1/3", 7, "a"), shardLog("3/3", 7, "c")}, []string{"s1.jsonl", "s3.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Missing) != 1 || m.Missing[0] != "2/3" {
		t.Fatalf("Missing = %q; want [2/3]", m.Missing)
	}
	end := m.Events[len(m.Events)-1]
	if end.Type != report.RunEnd || end.Status != report.Failed || !strings.Contains(end.Message, "part 2/3 is missing: its tests are not in this report") {
		t.Errorf("run_end %+v: want failed, saying part 2/3 is missing", end)
	}
	var console bytes.Buffer
	c := report.NewConsole(&console, report.ConsoleOptions{})
	for _, e := range m.Events {
		c.Event(e)
	}
	if out := console.String(); !strings.Contains(out, "FAILED") || !strings.Contains(out, "part 2/3 is missing") {
		t.Errorf("console of the merged run does not say it failed for a missing part:\n%s", out)
	}
	var junit bytes.Buffer
	j := report.NewJUnit(&junit)
	j.Hostname = "h"
	if err := j.Finish(collect(m.Events)); err != nil {
		t.Fatal(err)
	}
	if out := junit.String(); !strings.Contains(out, `name="seam.missing" value="2/3"`) || !strings.Contains(out, "part 2/3 is missing") {
		t.Errorf("JUnit of the merged run does not name the missing part:\n%s", out)
	}

	m, err = report.Merge([][]report.Event{shardLog("1/4", 7, "a"), shardLog("4/4", 7)}, nil)
	if err != nil || strings.Join(m.Missing, " ") != "2/4 3/4" ||
		!strings.Contains(m.Events[len(m.Events)-1].Message, "parts 2/4 and 3/4 are missing") {
		t.Errorf("two missing: %v, %+v", err, m)
	}
	// Every part: nothing missing, and a passing run stays passing.
	m, err = report.Merge([][]report.Event{shardLog("2/2", 7, "b"), shardLog("1/2", 7, "a")}, nil)
	if err != nil || len(m.Missing) != 0 || m.Events[len(m.Events)-1].Status == report.Failed {
		t.Errorf("all parts: %v, missing %q", err, m.Missing)
	}
	// Logs of runs without --shard cannot be counted: merged as they are.
	m, err = report.Merge([][]report.Event{shardLog("", 7, "a"), shardLog("", 7, "b")}, nil)
	if err != nil || len(m.Missing) != 0 {
		t.Errorf("logs without --shard: %v, missing %q", err, m.Missing)
	}
}

func TestMergeRefusesPartsOfDifferentSplits(t *testing.T) {
	for _, c := range []struct {
		logs [][]report.Event
		want string
	}{
		{[][]report.Event{shardLog("1/2", 7, "a"), shardLog("2/3", 7, "b")}, "p2 is part 2/3, p1 part 1/2: merge the parts of one split"},
		{[][]report.Event{shardLog("1/2", 7, "a"), shardLog("1/2", 7)}, "part 1/2 is given twice: p1 and p2"},
		// With its tests (it said: test "a" ran in 1/2 and in 1/2).
		{[][]report.Event{shardLog("1/2", 7, "a"), shardLog("1/2", 7, "a")}, "part 1/2 is given twice: p1 and p2"},
		{[][]report.Event{shardLog("1/2", 7, "a"), shardLog("", 7, "b")}, "p1 is part 1/2 of a split, p2 is not"},
		{[][]report.Event{shardLog("1/2", 7, "a"), shardLog("x/2", 7, "b")}, `p2: its run_start has shard "x/2", not K/N`},
	} {
		if _, err := report.Merge(c.logs, []string{"p1", "p2"}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v; want an error saying %q", err, c.want)
		}
	}
}

// junitOf renders a part's log as seam's JUnit report.
func junitOf(t *testing.T, events []report.Event) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	j := report.NewJUnit(&b)
	j.Hostname = "h"
	if err := j.Finish(collect(events)); err != nil {
		t.Fatal(err)
	}
	return &b
}

func TestMergeJUnitCountsFailuresAndRefusesATestTwice(t *testing.T) {
	failing := shardLog("2/2", 7, "b")
	failing[len(failing)-2].Status = report.Failed
	failing[len(failing)-2].Failure = &report.Failure{Kind: "error", Pos: "seam.yaml:4:5", Step: "exec", Message: "boom"}
	var out bytes.Buffer
	failed, err := report.MergeJUnit(&out, []io.Reader{junitOf(t, shardLog("1/2", 7, "a")), junitOf(t, failing)}, []string{"p1.xml", "p2.xml"})
	if err != nil || failed != 1 {
		t.Errorf("a part with an erring test: %d failed, %v; want 1", failed, err)
	}
	out.Reset()
	failed, err = report.MergeJUnit(&out, []io.Reader{junitOf(t, shardLog("1/2", 7, "a")), junitOf(t, shardLog("2/2", 7, "b"))}, []string{"p1.xml", "p2.xml"})
	if err != nil || failed != 0 {
		t.Errorf("passing parts: %d failed, %v; want 0", failed, err)
	}
	// The same part twice: every test would be listed twice.
	out.Reset()
	_, err = report.MergeJUnit(&out, []io.Reader{junitOf(t, shardLog("1/2", 7, "a", "c")), junitOf(t, shardLog("2/2", 7, "b")), junitOf(t, shardLog("1/2", 7, "a", "c"))},
		[]string{"p1.xml", "p2.xml", "again.xml"})
	if err == nil || !strings.Contains(err.Error(), `test "a" (suite "small") is in p1.xml and in again.xml`) {
		t.Errorf("the same part twice: %v; want an error naming the test and both files", err)
	}
	if out.Len() != 0 {
		t.Errorf("a refused merge wrote:\n%s", out.String())
	}
}

// validates checks a JUnit report against the shared schema.
func validates(t *testing.T, doc []byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (Debian package libxml2-utils)")
	}
	file := filepath.Join(t.TempDir(), "j.xml")
	os.WriteFile(file, doc, 0o644)
	if out, err := exec.Command(xmllint, "--noout", "--schema", schemaPath(t), file).CombinedOutput(); err != nil {
		t.Errorf("does not validate: %v\n%s\n%s", err, out, doc)
	}
}

func TestMergeRecordsEachPartsSeed(t *testing.T) {
	m, err := report.Merge([][]report.Event{shardLog("1/3", 11, "a"), shardLog("2/3", 22, "b"), shardLog("3/3", 11, "c")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := m.Events[0]
	want := []report.PartSeed{{Part: "1/3", Seed: 11}, {Part: "2/3", Seed: 22}, {Part: "3/3", Seed: 11}}
	if start.Seed != 0 || len(start.Seeds) != 3 || start.Seeds[0] != want[0] || start.Seeds[1] != want[1] || start.Seeds[2] != want[2] {
		t.Errorf("run_start seed %d, seeds %v; want no one seed and %v", start.Seed, start.Seeds, want)
	}
	var jsonl bytes.Buffer
	j := report.NewJSONL(&jsonl)
	for _, e := range m.Events {
		j.Event(e)
	}
	j.Finish(nil)
	first, _, _ := strings.Cut(jsonl.String(), "\n")
	if strings.Contains(first, `"small","seed":`) || !strings.Contains(first, `"seeds":[{"part":"1/3","seed":11},{"part":"2/3","seed":22},{"part":"3/3","seed":11}]`) {
		t.Errorf("merged run_start: %s", first)
	}
	var console bytes.Buffer
	c := report.NewConsole(&console, report.ConsoleOptions{})
	for _, e := range m.Events {
		c.Event(e)
	}
	if !strings.Contains(console.String(), "(seeds: part 1/3 11, part 2/3 22, part 3/3 11; replay a part with seam run --shard K/N --seed S)") {
		t.Errorf("console:\n%s", console.String())
	}
	ju := junitOf(t, m.Events).String()
	if strings.Contains(ju, `name="seam.seed"`) || !strings.Contains(ju, `<property name="seam.seed.part1" value="11">`) ||
		!strings.Contains(ju, `<property name="seam.seed.part2" value="22">`) || !strings.Contains(ju, `<property name="seam.seed.part3" value="11">`) {
		t.Errorf("merged JUnit properties:\n%s", ju)
	}
	validates(t, []byte(ju))

	// One seed for every part: it is the seed.
	m, _ = report.Merge([][]report.Event{shardLog("1/2", 7, "a"), shardLog("2/2", 7, "b")}, nil)
	if m.Events[0].Seed != 7 || m.Events[0].Seeds != nil {
		t.Errorf("shared seed: run_start seed %d, seeds %v", m.Events[0].Seed, m.Events[0].Seeds)
	}

	// The parts' JUnit reports merged: each part's seed by its seam.shard.
	var out bytes.Buffer
	p2, p1 := junitOf(t, shardLog("2/2", 22, "b")), junitOf(t, shardLog("1/2", 11, "a"))
	if _, err := report.MergeJUnit(&out, []io.Reader{p2, p1}, []string{"p2.xml", "p1.xml"}); err != nil {
		t.Fatal(err)
	}
	x := out.String()
	if strings.Contains(x, `name="seam.seed"`) || strings.Contains(x, `name="seam.shard"`) ||
		!strings.Contains(x, `<property name="seam.seed.part1" value="11">`) || !strings.Contains(x, `<property name="seam.seed.part2" value="22">`) {
		t.Errorf("merged JUnit of parts with different seeds:\n%s", x)
	}
	validates(t, out.Bytes())
	out.Reset()
	if _, err := report.MergeJUnit(&out, []io.Reader{junitOf(t, shardLog("1/2", 7, "a")), junitOf(t, shardLog("2/2", 7, "b"))}, []string{"p1", "p2"}); err != nil ||
		!strings.Contains(out.String(), `<property name="seam.seed" value="7">`) || strings.Contains(out.String(), "seam.seed.part") {
		t.Errorf("merged JUnit of parts with one seed (%v):\n%s", err, out.String())
	}
}

// TestJUnitMissingNamesTheLostParts: parts name themselves (seam.shard) in
// their JUnit reports, so a merge of JUnit files can tell a lost one too.
func TestJUnitMissingNamesTheLostParts(t *testing.T) {
	read := func(b *bytes.Buffer) []byte { return b.Bytes() }
	p1 := read(junitOf(t, shardLog("1/3", 7, "a")))
	p3 := read(junitOf(t, shardLog("3/3", 7, "c")))
	if got := report.JUnitMissing([][]byte{p1, p3}); len(got) != 1 || got[0] != "2/3" {
		t.Errorf("parts 1 and 3 of 3: missing %q; want 2/3", got)
	}
	p2 := read(junitOf(t, shardLog("2/3", 7, "b")))
	if got := report.JUnitMissing([][]byte{p3, p2, p1}); len(got) != 0 {
		t.Errorf("all parts: missing %q", got)
	}
	if got := report.JUnitMissing([][]byte{[]byte("<testsuites/>"), []byte("not xml")}); len(got) != 0 {
		t.Errorf("reports that name no part: missing %q", got)
	}
}
