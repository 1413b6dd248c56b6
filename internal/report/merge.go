package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Merge joins the event logs of the parts of one suite's run (seam run
// --shard K/N on N machines) into the log of one run: one run_start
// (earliest time, the totals summed), every part's events in turn, and
// one run_end (the longest part's duration, as the parts ran at once; the
// counts summed; failed when a part failed). Coverage is not copied: a
// JSONL reporter given the merged events derives it across all parts.
// Logs of different suites are an error.
func Merge(logs [][]Event) ([]Event, error) {
	if len(logs) == 0 {
		return nil, fmt.Errorf("no event log to merge")
	}
	start := logs[0][0]
	start.Shard, start.Total = "", 0
	end := Event{Type: RunEnd, Suite: start.Suite, Seed: start.Seed}
	var counts Counts
	var body []Event
	var msgs []string
	seen := map[string]string{}
	for i, events := range logs {
		first := events[0]
		if first.Type != RunStart {
			return nil, fmt.Errorf("log %d does not start with run_start", i+1)
		}
		if first.Suite != start.Suite {
			return nil, fmt.Errorf("log %d is of suite %q, log 1 of %q: merge the parts of one suite's run", i+1, first.Suite, start.Suite)
		}
		if first.Time.Before(start.Time) {
			start.Time = first.Time
		}
		start.Total += first.Total
		part := first.Shard
		if part == "" {
			part = fmt.Sprintf("log %d", i+1)
		}
		for _, e := range events[1:] {
			switch e.Type {
			case RunStart, CoverageEvent:
				continue
			case RunEnd:
				end.Duration = max(end.Duration, e.Duration)
				if e.Time.After(end.Time) {
					end.Time = e.Time
				}
				if e.Status == Failed {
					end.Status = Failed
				}
				if e.Message != "" {
					msgs = append(msgs, part+": "+e.Message)
				}
				continue
			case TestEnd:
				if other, dup := seen[e.Test]; dup {
					return nil, fmt.Errorf("test %q ran in %s and in %s: merge the parts of one split (the same --shard N and --timings on every part)", e.Test, other, part)
				}
				seen[e.Test] = part
				switch e.Status {
				case Passed:
					counts.Passed++
					if e.Flaky {
						counts.Flaky++
					}
				case Failed:
					counts.Failed++
				case Skipped:
					counts.Skipped++
				}
			}
			body = append(body, e)
		}
	}
	end.Counts = &counts
	end.Message = strings.Join(msgs, "; ")
	out := append([]Event{start}, body...)
	if end.Time.IsZero() {
		end.Time = start.Time.Add(ms(end.Duration))
	}
	return append(out, end), nil
}

// MergeJUnit joins JUnit XML reports of one suite's parts into one
// document: each <testsuite> of the same name becomes one, its testcases
// in turn, its counts summed, its time the longest part's; properties of
// the first part. The result validates against the same schema as seam's
// own JUnit reports.
func MergeJUnit(w io.Writer, inputs []io.Reader, names []string) error {
	var merged []*xmlSuite
	byName := map[string]*xmlSuite{}
	for i, r := range inputs {
		var doc xmlSuites
		if err := xml.NewDecoder(r).Decode(&doc); err != nil {
			return fmt.Errorf("%s: not a JUnit report of seam's (<testsuites>): %v", names[i], err)
		}
		for _, s := range doc.Suites {
			m := byName[s.Name]
			if m == nil {
				c := s
				c.Cases = nil
				c.Tests, c.Failures, c.Errors, c.Skipped = 0, 0, 0, 0
				c.SystemOut.Text, c.SystemErr.Text = "", ""
				c.ID = len(merged)
				m = &c
				byName[s.Name] = m
				merged = append(merged, m)
			}
			m.Cases = append(m.Cases, s.Cases...)
			m.Tests += s.Tests
			m.Failures += s.Failures
			m.Errors += s.Errors
			m.Skipped += s.Skipped
			m.SystemOut.Text += s.SystemOut.Text
			m.SystemErr.Text += s.SystemErr.Text
			if s.Timestamp < m.Timestamp {
				m.Timestamp = s.Timestamp
			}
			a, _ := strconv.ParseFloat(m.Time, 64)
			b, _ := strconv.ParseFloat(s.Time, 64)
			m.Time = seconds(time.Duration(max(a, b) * float64(time.Second)))
		}
	}
	out := xmlSuites{}
	for _, m := range merged {
		out.Suites = append(out.Suites, *m)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
