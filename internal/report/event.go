// Package report defines seam's event stream and result model, and the
// reporters that render them: the live console, JUnit XML and JSON lines.
// Every reporter reads the same events; file reports render the result
// model that Collector derives from them, so a saved event log can be
// rendered again.
package report

import (
	"strings"
	"sync"
	"time"
)

// EventType names what happened.
type EventType string

// The event types, in the order a run emits them.
const (
	RunStart  EventType = "run_start"
	TestStart EventType = "test_start"
	StepStart EventType = "step_start"
	StepEnd   EventType = "step_end"
	TestEnd   EventType = "test_end"
	// TestRetry ends a failed attempt of a test that --retries runs
	// again (from a fresh reset): it carries that attempt's failure and
	// duration; the same test's next test_start begins the next attempt.
	TestRetry EventType = "test_retry"
	RunEnd    EventType = "run_end"
	Log       EventType = "log"
	// CoverageEvent comes last in a JSON lines report: the run's
	// integration coverage, from the events before it.
	CoverageEvent EventType = "coverage"
)

// Status is how a step or test ended.
type Status string

// The statuses.
const (
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
)

// Event is one thing that happened in a run. The JSON lines report is these
// events, one per line; docs/events.md documents the fields.
type Event struct {
	Time     time.Time `json:"time"`
	Type     EventType `json:"type"`
	Suite    string    `json:"suite,omitempty"`
	Test     string    `json:"test,omitempty"`
	Service  string    `json:"service,omitempty"`
	Stream   string    `json:"stream,omitempty"`
	Pos      string    `json:"pos,omitempty"`
	Phase    string    `json:"phase,omitempty"`
	Step     string    `json:"step,omitempty"`
	Index    int       `json:"index,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	Worker   int       `json:"worker,omitempty"`
	Status   Status    `json:"status,omitempty"`
	Duration float64   `json:"duration_ms,omitempty"`
	Message  string    `json:"message,omitempty"`
	Failure  *Failure  `json:"failure,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Priority string    `json:"priority,omitempty"`
	Profile  string    `json:"profile,omitempty"` // run_start: the --profile applied
	// Seed is the run's seed; in a merged log (seam report merge), the
	// seed every part ran with, absent when they differ (Seeds has each).
	Seed uint64 `json:"seed,omitempty"`
	// Seeds, in the run_start and run_end of a merged log whose parts
	// ran with different seeds, are each part's: seam run --shard K/N
	// --seed S replays a part.
	Seeds []PartSeed `json:"seeds,omitempty"`
	// Flaky marks a test_end that passed after failed attempts
	// (test_retry events before it); Attempt is then the passing one.
	Flaky  bool    `json:"flaky,omitempty"`
	Shard  string  `json:"shard,omitempty"` // run_start: "2/4" under --shard
	Total  int     `json:"total,omitempty"`
	Counts *Counts `json:"counts,omitempty"`
	// Missing, in the run_end of a merged log, are the parts of the
	// split ("2/3") that no log was given for: their tests are not in it.
	Missing []string `json:"missing,omitempty"`
	// Cut, in a run_end, names the logs that ended before their run did
	// (the run was killed, by a CI job's timeout say, or is still
	// running): a log's file in the run_end that seam report makes up
	// for it (EndCut), the part ("2/3") in a merged log's. Their tests
	// that had not ended are not in the report.
	Cut []string `json:"cut,omitempty"`
	// EnvError, in a run_end, is why the environment could not start,
	// whole: the error and the failing service's last log lines (the
	// message has its first line only). In a merged log, each failed
	// part's, each line of it after "2/3: ".
	EnvError string        `json:"env_error,omitempty"`
	Services []ServiceInfo `json:"services,omitempty"`
	Edges    []EdgeInfo    `json:"edges,omitempty"`    // run_start: the depends_on edges
	Coverage *Coverage     `json:"coverage,omitempty"` // coverage: the run's integration coverage
	// Exchange is what an interaction (a log event of stream "wire")
	// carried, masked, for the reports that show it whole.
	Exchange *Exchange `json:"exchange,omitempty"`
}

// PartSeed is the seed one part of a merged run ran with.
type PartSeed struct {
	Part string `json:"part"` // "2/3"; for a log without --shard, its name
	Seed uint64 `json:"seed"`
}

// Exchange is the content of one interaction on an edge, masked as
// everything seam writes is (internal/mask). Request is the request as
// sent: an HTTP request line with its header lines, "GRPC /pkg.Svc/Method"
// with its metadata, an SQL statement whole (with its parameters), a
// Redis command; Response the answer's status line with its header lines
// (HTTP/2: then its trailers), or the statement's result. Bodies are the
// first 4 KiB of each (gRPC: the messages as JSON when their types are
// known), text as sent or, for binary data, its size.
type Exchange struct {
	Request      string `json:"request,omitempty"`
	RequestBody  string `json:"request_body,omitempty"`
	Response     string `json:"response,omitempty"`
	ResponseBody string `json:"response_body,omitempty"`
}

// Span places a log line that is an interaction on the timeline: when it
// started and ended, and (when known) what it carried.
type Span struct {
	Start, End time.Time
	Exchange   *Exchange
}

// LogFunc takes a component's log line as it happens: service names the
// component (or, for an interaction, the edge "orders→db"), stream where
// the line came from ("stdout", "wire", …); span is nil for a plain line.
type LogFunc func(service, stream, line string, span *Span)

// ServiceInfo says what ran for one of the suite's services (run_start):
// its kind, and whether a stand-in stub ran in place of the real one.
type ServiceInfo struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	StandsIn string `json:"stands_in_for,omitempty"` // the real kind, when a stand-in ran
}

// ServicesLine renders services for people: "db postgres, payments stub (stand-in for process)".
func ServicesLine(ss []ServiceInfo) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.Name + " " + s.Kind
		if s.StandsIn != "" {
			parts[i] += " (stand-in for " + s.StandsIn + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// Failure is why a test failed, pointing at the step that failed.
type Failure struct {
	Kind string `json:"kind"` // "assertion", "error" (the step could not run) or "timeout"
	Pos  string `json:"pos"`
	Step string `json:"step"`
	// Phase is "setup" when the failing step was one of the test's
	// setup: steps (the failure is then an error, never an assertion).
	Phase    string `json:"phase,omitempty"`
	Message  string `json:"message"`
	Diff     string `json:"diff,omitempty"`
	Request  string `json:"request,omitempty"`
	Response string `json:"response,omitempty"`
	// Suspects are the interactions on the system's edges that most
	// likely caused the failure, likeliest first (at most 3).
	Suspects []Suspect `json:"suspects,omitempty"`
	// Artifacts are files the failing step saved (a browser step's
	// screenshot and page HTML).
	Artifacts []Artifact `json:"artifacts,omitempty"`
}

// StepText names the failing step for people: `step "GET /x"`, or
// `setup step "GET /x"` for one of the test's setup: steps.
func (f *Failure) StepText() string {
	if f.Phase != "" {
		return f.Phase + ` step "` + f.Step + `"`
	}
	return `step "` + f.Step + `"`
}

// Artifact is a file saved for a failure.
type Artifact struct {
	Name string `json:"name"` // "screenshot", "page HTML"
	Path string `json:"path"`
}

// Suspect is a suspicious interaction and why it ranks where it does.
type Suspect struct {
	Edge   string  `json:"edge"`   // "orders→db"
	Line   string  `json:"line"`   // the interaction as the timeline shows it
	Reason string  `json:"reason"` // "an SQL error; 2 hop(s) from api, …"
	Score  float64 `json:"score"`
	// Injected: a fault the test set made it; it is listed, but a
	// failure is not grouped under it (Cause).
	Injected bool `json:"injected,omitempty"`
	// Unlinked: nothing links it to the failing step (off its path and
	// not during it, after its answer, an error of a connection's setup
	// the client went past, or the failing step checks the wire itself);
	// it is listed after those that are linked, whatever its score, and a
	// failure is not grouped under it (Cause).
	Unlinked bool `json:"unlinked,omitempty"`
}

// Counts tallies test outcomes.
type Counts struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// Flaky are passed tests that failed first (counted in Passed too).
	Flaky int `json:"flaky,omitempty"`
}

// Add counts a test_end event by its status (a flaky pass in Passed and
// Flaky).
func (c *Counts) Add(e Event) {
	switch e.Status {
	case Passed:
		c.Passed++
		if e.Flaky {
			c.Flaky++
		}
	case Failed:
		c.Failed++
	case Skipped:
		c.Skipped++
	}
}

// Sink receives events as they happen.
type Sink interface {
	Event(e Event)
}

// Finisher is a reporter that renders the final result model.
type Finisher interface {
	Finish(r *Run) error
}

// Fanout sends every event to each sink in turn, one event at a time, so
// sinks need no locking of their own.
type Fanout struct {
	mu    sync.Mutex
	sinks []Sink
}

// NewFanout returns a Fanout over sinks.
func NewFanout(sinks ...Sink) *Fanout { return &Fanout{sinks: sinks} }

// Event implements Sink.
func (f *Fanout) Event(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sinks {
		s.Event(e)
	}
}
