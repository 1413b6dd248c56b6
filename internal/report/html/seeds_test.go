package html_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
	html "github.com/seamtest/seam/internal/report/html"
)

// TestPageStatesEachPartsSeed: a merged run whose parts had different
// seeds names each, not one seed that replays only its first part.
func TestPageStatesEachPartsSeed(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	part := func(shard string, seed uint64, test string) []report.Event {
		return []report.Event{
			{Time: t0, Type: report.RunStart, Suite: "s", Seed: seed, Shard: shard, Total: 1},
			{Time: t0, Type: report.TestEnd, Test: test, Status: report.Passed},
			{Time: t0, Type: report.RunEnd, Seed: seed, Counts: &report.Counts{Passed: 1}},
		}
	}
	m, err := report.Merge([][]report.Event{part("1/3", 502510923, "a"), part("2/3", 17, "b"), part("3/3", 9, "c")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := html.Build(m.Events)
	if len(p.Seeds) != 3 || p.Seed != 0 {
		t.Errorf("page seed %d, seeds %v", p.Seed, p.Seeds)
	}
	var buf bytes.Buffer
	if err := html.Write(&buf, p); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.Contains(page, "part 1/3 502510923, part 2/3 17, part 3/3 9; <small>replay a part with seam run --shard K/N --seed S</small>") ||
		strings.Contains(page, "replays it") {
		t.Errorf("the page does not state each part's seed:\n%s", page[:min(len(page), 2000)])
	}
	// One run: its seed, as before.
	buf.Reset()
	html.Write(&buf, html.Build(part("", 42, "a")))
	if !strings.Contains(buf.String(), "42 <small>(seam run --seed 42 replays it)</small>") {
		t.Error("a run's page lost its seed")
	}
}
