package main_test

import (
	"strings"
	"testing"
)

// TestCallsInFlightAreTheTests runs testdata/hang: front calls back, which
// never answers /slow, with a client that has no timeout. The test that
// times out waiting on front names front→back's call still in flight as
// its cause (the wire tells a call as it ends, which this one had not);
// and a stream back still answers (server-sent events) counts for an
// interactions: check while it is open.
func TestCallsInFlightAreTheTests(t *testing.T) {
	env, _ := isolated(t)
	r := seamEnv(t, env, "run", "testdata/hang")
	if r.code != 1 || !strings.Contains(r.stdout, "1 passed, 1 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "PASS a subscription streams on") {
		t.Errorf("the open stream was not counted:\n%s", r.stdout)
	}
	_, failure, _ := strings.Cut(r.stdout, "FAIL an order waits on back")
	if !strings.Contains(failure, "1. front→back | GET /slow → no answer yet") || !strings.Contains(failure, "(still in flight)") {
		t.Errorf("the hung call is not the first suspect:\n%s", r.stdout)
	}
	if !strings.Contains(failure, "logs during the test:\n      front→back | GET /slow → no answer yet") {
		t.Errorf("the hung call is not on the test's timeline:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "1 test failed at front→back GET /slow → no answer yet") {
		t.Errorf("the summary does not name the hung call:\n%s", r.stdout)
	}
}
