package cli

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeTimer is a timer the test fires by hand.
type fakeTimer struct {
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

// A job is never ready: its "running" and "done" end the wait for its
// start, so no "starting…" comes after the environment is up.
func TestUpProgressOfAJobEndsItsStart(t *testing.T) {
	var out []string
	var timers []*fakeTimer
	p := newUpProgress(map[string]string{"seed": "process", "api": "process"}, func(format string, args ...any) {
		out = append(out, fmt.Sprintf(format, args...))
	})
	p.after = func(_ time.Duration, f func()) interface{ Stop() bool } {
		t := &fakeTimer{f: f}
		timers = append(timers, t)
		return t
	}
	fire := func() {
		for _, t := range timers {
			if !t.stopped {
				t.stopped = true
				t.f()
			}
		}
	}
	p.progress("seed", "starting")
	p.progress("seed", "running")
	p.progress("seed", "done in 4ms")
	p.progress("api", "starting")
	fire() // the api is slow; the job's waits all ended
	p.progress("api", "ready")
	fire()
	got := strings.Join(out, "\n")
	for _, want := range []string{"seed             done in", "api              starting…", "api              ready in"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "seed             starting…") || strings.Contains(got, "seed             running…") {
		t.Errorf("a job that ended still said it was starting or running:\n%s", got)
	}

	// A long job says it runs, until it is done.
	out = nil
	p.progress("migrate", "starting")
	p.progress("migrate", "running")
	fire()
	p.progress("migrate", "done in 3s")
	fire()
	if got := strings.Join(out, "\n"); !strings.Contains(got, "migrate          running…") || strings.Contains(got, "starting…") {
		t.Errorf("a long job's progress:\n%s", got)
	}
}
