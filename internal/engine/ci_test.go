package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/report"
)

func TestRetriesRunAFailedTestAgainAndMarkItFlaky(t *testing.T) {
	s := loadSuite(t, `name: r
vars: {base: ""}
tests:
  - name: second time lucky
    steps:
      - exec: [sh, -c, 'test -e "$0" && exit 0; touch "$0"; exit 1', ((base))]
        expect: {exit_code: 0}
  - name: never
    steps:
      - exec: [sh, -c, 'exit 3']
        expect: {exit_code: 0}
`)
	rec, counts := run(t, s, engine.Options{Retries: 2}, t.TempDir()+"/mark")
	ends := rec.ends()
	if e := ends["second time lucky"]; e.Status != report.Passed || !e.Flaky || e.Attempt != 2 {
		t.Errorf("lucky: %+v; want passed, flaky, attempt 2", e)
	}
	if e := ends["never"]; e.Status != report.Failed || e.Flaky || e.Attempt != 3 {
		t.Errorf("never: %+v; want failed on attempt 3", e)
	}
	if got := rec.order(report.TestRetry); len(got) != 3 {
		t.Errorf("test_retry events %v; want 1 for lucky and 2 for never", got)
	}
	if counts.Flaky != 1 || counts.Passed != 1 || counts.Failed != 1 {
		t.Errorf("counts %+v", counts)
	}
}

func TestBudgetStopsStartingTestsAndRunsRiskFirst(t *testing.T) {
	s := loadSuite(t, `name: b
vars: {base: ""}
tests:
  - name: low
    priority: low
    steps: [{exec: ["true"]}]
  - name: often failing
    steps: [{exec: [sleep, "0.05"]}]
  - name: critical
    priority: critical
    steps: [{exec: [sleep, "0.05"]}]
  - name: medium
    steps: [{exec: ["true"]}]
`)
	est := map[string]time.Duration{"critical": 50 * time.Millisecond, "often failing": 50 * time.Millisecond, "medium": time.Second, "low": time.Millisecond}
	rec, counts := run(t, s, engine.Options{Budget: 500 * time.Millisecond, Failures: map[string]int{"often failing": 3},
		Estimate: func(n string) (time.Duration, bool) { d, ok := est[n]; return d, ok }}, "")
	order := rec.order(report.TestStart)
	if strings.Join(order, ",") != "critical,often failing" {
		t.Errorf("started %v; want critical, then the test that failed most, then none past the budget", order)
	}
	ends := rec.ends()
	for _, n := range []string{"medium", "low"} {
		if e := ends[n]; e.Status != report.Skipped || !strings.Contains(e.Message, "not run: --budget 500ms would be exceeded") {
			t.Errorf("%s: %+v; want not run for the budget", n, e)
		}
	}
	if counts.Passed != 2 || counts.Skipped != 2 {
		t.Errorf("counts %+v", counts)
	}
}
