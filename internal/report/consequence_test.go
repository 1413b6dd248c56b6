package report

import "testing"

// TestCauseSkipsConsequences: a call still in flight because the step
// failed (or the test ended) is listed but never the failure's cause; the
// step's own message is, when nothing else is.
func TestCauseSkipsConsequences(t *testing.T) {
	f := &Failure{Pos: "t.yaml:3:9", Message: "wait for text=Saved: no element matches\nmore", Suspects: []Suspect{
		{Edge: "browser→web", Line: "GET /favicon.ico → no answer: still in flight when the step failed (4.2s) ⚠"},
		{Edge: "browser→api", Line: "GET /events → 200 OK, then still in flight when the test ended (in the middle of its body) (3s)"},
		{Edge: "browser→api", Line: "GET /slow → no answer: still in flight when the run was interrupted (1.0s) ⚠"},
	}}
	if got, want := Cause(f), "t.yaml:3:9: wait for text=Saved: no element matches"; got != want {
		t.Errorf("Cause = %q; want %q", got, want)
	}
	f.Suspects = append(f.Suspects, Suspect{Edge: "api→db", Line: "SQL select 1 → ERROR 57014: canceling statement (2.0 ms) ⚠"})
	if s := CauseSuspect(f); s == nil || s.Edge != "api→db" {
		t.Errorf("CauseSuspect = %+v; want the SQL error", s)
	}
}
