package report_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// Services print as they stop, after the engine's run_end (an interrupt
// shows it most); the event log ends with run_end all the same.
func TestJSONLEndsWithRunEnd(t *testing.T) {
	var b bytes.Buffer
	j := report.NewJSONL(&b)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, e := range []report.Event{
		{Time: t0, Type: report.RunStart, Suite: "s"},
		{Time: t0, Type: report.RunEnd, Suite: "s", Status: report.Failed, Message: "interrupted: the remaining tests were not run"},
		{Time: t0, Type: report.Log, Service: "db", Message: "LOG:  received fast shutdown request"},
	} {
		j.Event(e)
	}
	if err := j.Finish(nil); err != nil {
		t.Fatal(err)
	}
	events, err := report.ReadJSONL(&b)
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Type != report.RunEnd {
		t.Errorf("the log ends with %s %q, want run_end", last.Type, last.Message)
	}
}
