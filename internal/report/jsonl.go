package report

import (
	"bufio"
	"encoding/json"
	"io"
)

// JSONL writes every event as one line of JSON.
type JSONL struct {
	w   *bufio.Writer
	enc *json.Encoder
	err error
	cov *CoverageBuilder
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
	if j.err != nil {
		return
	}
	e.Time = e.Time.UTC()
	j.cov.Event(e)
	j.err = j.enc.Encode(e)
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

// ReadJSONL reads an event log back, for re-rendering a saved run.
func ReadJSONL(r io.Reader) ([]Event, error) {
	dec := json.NewDecoder(r)
	var out []Event
	for dec.More() {
		var e Event
		if err := dec.Decode(&e); err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}
