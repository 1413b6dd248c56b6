package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// JSONL writes every event as one line of JSON.
type JSONL struct {
	w   *bufio.Writer
	enc *json.Encoder
	err error
	cov *CoverageBuilder
	// ended: the run_end is written; it stays last (then coverage).
	ended bool
}

// NewJSONL returns a JSONL reporter writing to w; call Flush at the end.
func NewJSONL(w io.Writer) *JSONL {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &JSONL{w: bw, enc: enc, cov: NewCoverageBuilder()}
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
	j.err = j.enc.Encode(e)
	j.ended = e.Type == RunEnd
	if e.Type == RunEnd && j.err == nil {
		if c := j.cov.Coverage(); c.Total > 0 || len(c.Edges) > 0 {
			j.err = j.enc.Encode(Event{Time: e.Time, Type: CoverageEvent, Coverage: c})
		}
		if j.err == nil {
			j.err = j.w.Flush()
		}
	}
}

// Finish implements Finisher: it reports any write error.
func (j *JSONL) Finish(*Run) error {
	if j.err == nil {
		j.err = j.w.Flush()
	}
	return j.err
}

// ReadJSONL reads an event log back, for re-rendering a saved run. Its
// errors name the line (1-based) that is wrong: a truncated last line, a
// line that is not JSON, or one that is not a seam event (a foreign
// file); the events before it are returned too. An empty log is an error.
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
					return out, fmt.Errorf("line %d: the log ends in the middle of an event (truncated: the run may have been cut off)", line)
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
		return nil, fmt.Errorf("line 1: the log is empty (want the JSON lines seam run writes, starting with run_start)")
	}
	return out, nil
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
