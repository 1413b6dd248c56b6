package report

import (
	"strings"
	"time"
)

// EnvFailed begins the message of the run_end of a run whose environment
// could not start; the reason follows after ": ".
const EnvFailed = "the environment could not start"

// Run is the result model of one run, built from its events.
type Run struct {
	Suite string
	Seed  uint64
	Shard string // "2/4": the part of a split this run is
	// Seeds are the parts' seeds of a merged run whose parts ran with
	// different seeds (Seed is then 0).
	Seeds []PartSeed
	// Missing are the parts of a merged run's split that it lacks.
	Missing []string
	// Cut are the logs (a merged run's parts) that ended before their
	// run did (Event.Cut).
	Cut []string
	// Status is the run's as a whole (its run_end's): Failed when it
	// could not test what it was asked to (its environment could not
	// start, it was interrupted or cut off, a part is missing), whatever
	// the counts.
	Status Status
	// EnvError is why the environment could not start, "" when it did
	// (Event.EnvError; from an older log, the run_end's message).
	EnvError string
	Start    time.Time
	Duration time.Duration
	Tests    []*TestResult
	Counts   Counts
	Services []ServiceInfo
}

// TestResult is one test's outcome.
type TestResult struct {
	Name     string
	Pos      string
	Tags     []string
	Priority string
	Status   Status
	Start    time.Time
	Duration time.Duration
	Failure  *Failure
	Skip     string // reason, when skipped
	Steps    []*StepResult
	Logs     []string // log events during the test
	// Attempts are the failed attempts --retries ran before the last one
	// (whose outcome is the test's), each with its evidence.
	Attempts []*Attempt
	Flaky    bool // passed after failed attempts
	Attempt  int  // the last attempt's number (1 without retries)
	retrying bool
}

// Attempt is one failed attempt of a retried test.
type Attempt struct {
	Number   int
	Duration time.Duration
	Failure  *Failure
	Steps    []*StepResult
	Logs     []string
}

// StepResult is one step's outcome.
type StepResult struct {
	Phase    string
	Name     string
	Pos      string
	Status   Status
	Duration time.Duration
	Attempts int
	Message  string
}

// Collector builds a Run from events.
type Collector struct {
	run   Run
	byKey map[string]*TestResult
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{byKey: map[string]*TestResult{}}
}

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// Event implements Sink.
func (c *Collector) Event(e Event) {
	switch e.Type {
	case RunStart:
		c.run.Suite, c.run.Seed, c.run.Seeds, c.run.Start, c.run.Services = e.Suite, e.Seed, e.Seeds, e.Time, e.Services
		c.run.Shard = e.Shard
	case TestStart:
		if t := c.byKey[e.Test]; t != nil && t.retrying {
			t.retrying = false // the next attempt of a retried test
			return
		}
		t := &TestResult{Name: e.Test, Pos: e.Pos, Tags: e.Tags, Priority: e.Priority, Start: e.Time}
		c.byKey[e.Test] = t
		c.run.Tests = append(c.run.Tests, t)
	case StepEnd:
		if t := c.byKey[e.Test]; t != nil {
			t.Steps = append(t.Steps, &StepResult{Phase: e.Phase, Name: e.Step, Pos: e.Pos, Status: e.Status,
				Duration: ms(e.Duration), Attempts: e.Attempt, Message: e.Message})
		}
	case Log:
		if t := c.byKey[e.Test]; t != nil {
			t.Logs = append(t.Logs, LogLine(e))
		}
	case TestRetry:
		if t := c.byKey[e.Test]; t != nil {
			t.Attempts = append(t.Attempts, &Attempt{Number: e.Attempt, Duration: ms(e.Duration), Failure: e.Failure, Steps: t.Steps, Logs: t.Logs})
			t.Steps, t.Logs, t.retrying = nil, nil, true
		}
	case TestEnd:
		t := c.byKey[e.Test]
		if t == nil { // a test that never started (skipped, or not run after --fail-fast)
			t = &TestResult{Name: e.Test, Pos: e.Pos, Tags: e.Tags, Priority: e.Priority, Start: e.Time}
			c.byKey[e.Test] = t
			c.run.Tests = append(c.run.Tests, t)
		}
		t.Status, t.Duration, t.Failure = e.Status, ms(e.Duration), e.Failure
		t.Flaky, t.Attempt = e.Flaky, max(e.Attempt, 1)
		if e.Flaky {
			c.run.Counts.Flaky++
		}
		if e.Status == Skipped {
			t.Skip = e.Message
		}
		switch e.Status {
		case Passed:
			c.run.Counts.Passed++
		case Failed:
			c.run.Counts.Failed++
		case Skipped:
			c.run.Counts.Skipped++
		}
	case RunEnd:
		c.run.Duration, c.run.Missing, c.run.Status = ms(e.Duration), e.Missing, e.Status
		c.run.Cut = e.Cut
		c.run.EnvError = e.EnvError
		if why, ok := strings.CutPrefix(e.Message, EnvFailed+": "); ok && c.run.EnvError == "" && e.Status == Failed {
			c.run.EnvError = why
		}
	}
}

// Run returns the model built so far.
func (c *Collector) Run() *Run { return &c.run }

// LogLine renders a log event as "service | line".
func LogLine(e Event) string {
	if e.Service == "" {
		return e.Message
	}
	return e.Service + " | " + e.Message
}
