package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// JSONL writes every event as one line of JSON, each line with one
// Write as the event happens: a run killed at any moment (SIGKILL, a CI
// job's timeout) leaves a log of whole events, at most the one being
// written torn, and the log is never behind the console. One write per
// event is cheap next to what an event stands for (a step, an
// interaction), and buffering would lose the last log lines of a test
// that hung, which are what a killed run's reader wants most.
type JSONL struct {
	w   io.Writer
	buf bytes.Buffer // the line being written
	enc *json.Encoder
	err error
	cov *CoverageBuilder
	// ended: the run_end is written; it stays last (then coverage).
	ended bool
}

// NewJSONL returns a JSONL reporter writing to w. Each event is one
// Write of one whole line; Finish reports the first write error.
func NewJSONL(w io.Writer) *JSONL {
	j := &JSONL{w: w, cov: NewCoverageBuilder()}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	return j
}

// Event implements Sink.
func (j *JSONL) Event(e Event) {
	if j.err != nil || j.ended {
		// After run_end (and its coverage) nothing: the services'
		// lines as they stop, after an interrupt say, are in their logs.
		return
	}
	e.Time = e.Time.UTC()
	j.cov.Event(e)
	j.write(e)
	j.ended = e.Type == RunEnd
	if e.Type == RunEnd && j.err == nil {
		if c := j.cov.Coverage(); c.Total > 0 || len(c.Edges) > 0 {
			j.write(Event{Time: e.Time, Type: CoverageEvent, Coverage: c})
		}
	}
}

// write writes e as one line with one Write.
func (j *JSONL) write(e Event) {
	j.buf.Reset()
	if j.err = j.enc.Encode(e); j.err == nil {
		_, j.err = j.w.Write(j.buf.Bytes())
	}
}

// Finish implements Finisher: it reports any write error.
func (j *JSONL) Finish(*Run) error {
	return j.err
}

// ReadJSONL reads an event log back, for re-rendering a saved run. Its
// errors name the line (1-based) that is wrong: a truncated last line (a
// *CutError), a line that is not JSON, or one that is not a seam event (a
// foreign file); the events before it are returned too. An empty log is
// an error that wraps ErrEmptyLog. A log without run_end is no error
// here: ReadRun reads a run's log as cut off then.
func ReadJSONL(r io.Reader) ([]Event, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []Event
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
		eof := err == io.EOF
		if t := bytes.TrimSpace(b); len(t) > 0 {
			e, derr := decodeEvent(t, len(out) == 0)
			if derr != nil {
				if eof && !bytes.HasSuffix(b, []byte("\n")) && isTruncated(derr) {
					return out, &CutError{Line: line}
				}
				return out, fmt.Errorf("line %d: %w", line, derr)
			}
			out = append(out, e)
		}
		if eof {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("line 1: %w", ErrEmptyLog)
	}
	return out, nil
}

// ErrEmptyLog is (wrapped) the error of reading a log with no event in
// it: the run was cut off before its first event, or the file is not a
// log seam run wrote.
var ErrEmptyLog = errors.New("the log is empty (want the JSON lines seam run writes, starting with run_start; a run cut off before it began leaves none)")

// CutError is the error of reading a log whose last line is an event cut
// in the middle: the run writing it was killed (a CI job's timeout, say)
// while it wrote that line, or is still writing. The lines before it are
// whole events.
type CutError struct {
	Line int // the torn line, 1-based
}

func (e *CutError) Error() string {
	return fmt.Sprintf("line %d: the log ends in the middle of an event (truncated: the run may have been cut off)", e.Line)
}

// ReadRun reads the event log of one run as ReadJSONL does, but a log of
// a run that was cut off (killed, or still running) is no error: one
// that ends in the middle of an event or without run_end is read as far
// as it is whole and completed by EndCut, whose run_end says so (its Cut
// is [name]). name names the log in that message, like "shard-2.jsonl".
// Other faults (a line that is not a seam event, an empty log, a torn
// first line) are ReadJSONL's errors. A torn line after run_end (the
// coverage event, which a reader derives again from the events) is
// dropped: the run's results are whole.
func ReadRun(r io.Reader, name string) ([]Event, error) {
	events, err := ReadJSONL(r)
	var cut *CutError
	switch {
	case errors.As(err, &cut) && len(events) > 0:
		if hasRunEnd(events) {
			return events, nil
		}
		return EndCut(events, name, fmt.Sprintf("in the middle of an event at line %d", cut.Line)), nil
	case err != nil:
		return events, err
	case !hasRunEnd(events):
		return EndCut(events, name, fmt.Sprintf("after %s", Plural(len(events), "event", "events"))), nil
	}
	return events, nil
}

func hasRunEnd(events []Event) bool {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Type == RunEnd {
			return true
		}
	}
	return false
}

// CutOffText begins the message of a test_end and run_end that EndCut
// makes up.
const CutOffText = "cut off"

// EndCut completes the events of a run whose log ends before its
// run_end, name naming the log and where saying where it ends ("after 151
// events"): each test that started and did not end gets a test_end,
// skipped "cut off: …" (what became of it is not known), and a run_end
// is added, failed, whose Cut is [name] and whose message says what the
// report lacks. The events it adds are timed at the last event. events
// must start with run_start; they are returned as they are when they
// have a run_end.
func EndCut(events []Event, name, where string) []Event {
	if len(events) == 0 || hasRunEnd(events) {
		return events
	}
	start, last := events[0], events[len(events)-1].Time
	var open []string // tests started and not ended, in order
	seen := map[string]bool{}
	var counts Counts
	for _, e := range events {
		switch e.Type {
		case TestStart:
			if !seen[e.Test] {
				seen[e.Test] = true
				open = append(open, e.Test)
			}
		case TestEnd:
			seen[e.Test] = true
			if i := indexOf(open, e.Test); i >= 0 {
				open = append(open[:i], open[i+1:]...)
			}
			counts.Add(e)
		}
	}
	out := append([]Event(nil), events...)
	for _, t := range open {
		out = append(out, Event{Time: last, Type: TestEnd, Test: t, Status: Skipped,
			Message: CutOffText + ": the log ends while this test ran; its outcome is not known"})
		counts.Skipped++
	}
	msg := fmt.Sprintf("%s: %s ends %s, without its run_end: the run was killed (a CI job's timeout?) or is still running", CutOffText, name, where)
	switch len(open) {
	case 0:
	case 1:
		msg += "; the test it was running is marked skipped"
	default:
		msg += fmt.Sprintf("; the %d tests it was running are marked skipped", len(open))
	}
	switch n := start.Total - len(seen); {
	case n == 1:
		msg += "; 1 test it had not started is not in this report"
	case n > 1:
		msg += fmt.Sprintf("; %d tests it had not started are not in this report", n)
	}
	return append(out, Event{Time: last, Type: RunEnd, Suite: start.Suite, Seed: start.Seed, Seeds: start.Seeds,
		Status: Failed, Duration: float64(last.Sub(start.Time)) / float64(time.Millisecond), Counts: &counts,
		Cut: []string{name}, Message: msg})
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

var knownTypes = map[EventType]bool{RunStart: true, TestStart: true, StepStart: true, StepEnd: true,
	TestEnd: true, TestRetry: true, RunEnd: true, Log: true, CoverageEvent: true}

func decodeEvent(b []byte, first bool) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF):
			return e, fmt.Errorf("not JSON: %v (want one seam event per line)", err)
		case errors.As(err, &te):
			return e, fmt.Errorf("not a seam event: field %q holds a %s (is this a seam event log?)", te.Field, te.Value)
		}
		return e, fmt.Errorf("not a seam event: %v", err)
	}
	switch {
	case e.Type == "":
		return e, fmt.Errorf("not a seam event: no \"type\" (is this a seam event log, written by seam run --report json=PATH?)")
	case !knownTypes[e.Type]:
		return e, fmt.Errorf("unknown event type %q (an event log of a newer seam, or not a seam log)", e.Type)
	case first && e.Type != RunStart:
		return e, fmt.Errorf("the log starts with %s, not run_start (is it the whole log?)", e.Type)
	}
	return e, nil
}

// isTruncated reports whether a decoding error means the input stopped
// early.
func isTruncated(err error) bool {
	return strings.Contains(err.Error(), "unexpected end of JSON input")
}
