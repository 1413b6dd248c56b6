package engine

import (
	"github.com/seamtest/seam/internal/report"
)

// Host is the little the engine needs from a test host such as
// *testing.T: the Go API runs each suite test as a subtest and reports
// its end through it, in the same words the CLI's console uses.
type Host interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Skipf(format string, args ...any)
}

// ReportTo reports a finished test (its test_end event) through h, with
// the components' log lines printed during it.
func ReportTo(h Host, end report.Event, logs []string) {
	h.Helper()
	switch end.Status {
	case report.Failed:
		h.Errorf("%s: %s\n%s", end.Pos, end.Test, report.FailureText(end.Failure, logs))
	case report.Skipped:
		h.Skipf("seam: %s", end.Message)
	}
}
