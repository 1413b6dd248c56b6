package shard

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// Timings are the durations of a suite's tests in earlier runs.
type Timings struct {
	Suite     string                   // the suite they are of, when the source names it
	Durations map[string]time.Duration // mean per test over the runs read
	Failures  map[string]int           // runs in which each test failed (event logs only)
	EnvStart  time.Duration            // from run start to the first test (event logs only)
	Runs      int
}

// maxTimingsBytes bounds a timings file: JUnit of a huge suite is a few
// megabytes.
const maxTimingsBytes = 64 << 20

// Read reads timings from r, JUnit XML or a JSON event log (by its first
// byte); name is the file's name for errors.
func Read(r io.Reader, name string) (*Timings, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTimingsBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxTimingsBytes {
		return nil, fmt.Errorf("%s: over %d MiB; want a JUnit or JSON report of one run", name, maxTimingsBytes>>20)
	}
	t := bytes.TrimSpace(data)
	switch {
	case len(t) == 0:
		return nil, fmt.Errorf("%s is empty; want a JUnit XML or JSON lines report of an earlier run", name)
	case t[0] == '<':
		return ReadJUnit(bytes.NewReader(t), name)
	case t[0] == '{':
		events, err := report.ReadJSONL(bytes.NewReader(t))
		if err != nil {
			return nil, fmt.Errorf("%s: after %d events: %v", name, len(events), err)
		}
		if len(events) == 0 || events[0].Type != report.RunStart {
			return nil, fmt.Errorf("%s is not a seam event log (it does not start with run_start)", name)
		}
		return FromEvents([][]report.Event{events}), nil
	}
	return nil, fmt.Errorf("%s is neither JUnit XML nor a seam JSON event log", name)
}

type junitCase struct {
	Name string `xml:"name,attr"`
	Time string `xml:"time,attr"`
}

type junitSuite struct {
	Name   string       `xml:"name,attr"`
	Cases  []junitCase  `xml:"testcase"`
	Suites []junitSuite `xml:"testsuite"`
}

// ReadJUnit reads the testcase durations of JUnit XML, with
// <testsuites> or a single <testsuite> at its root.
func ReadJUnit(r io.Reader, name string) (*Timings, error) {
	dec := xml.NewDecoder(r)
	var root junitSuite
	var start xml.StartElement
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: no <testsuites> or <testsuite> element", name)
			}
			return nil, fmt.Errorf("%s: not JUnit XML: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			start = se
			break
		}
	}
	if start.Name.Local != "testsuites" && start.Name.Local != "testsuite" {
		return nil, fmt.Errorf("%s: starts with <%s>, not <testsuites> or <testsuite>", name, start.Name.Local)
	}
	if err := dec.DecodeElement(&root, &start); err != nil {
		return nil, fmt.Errorf("%s: not JUnit XML: %v", name, err)
	}
	suites := root.Suites
	if start.Name.Local == "testsuite" {
		suites = []junitSuite{root}
	}
	t := &Timings{Durations: map[string]time.Duration{}, Failures: map[string]int{}, Runs: 1}
	for i, s := range suites {
		if i == 0 {
			t.Suite = s.Name
		} else if s.Name != t.Suite {
			t.Suite = "" // several suites: names cannot be checked
		}
		for _, c := range s.Cases {
			sec, err := strconv.ParseFloat(strings.TrimSpace(c.Time), 64)
			if err != nil || sec < 0 || math.IsNaN(sec) || sec > 1e7 {
				return nil, fmt.Errorf("%s: testcase %q: time %q is not a number of seconds", name, c.Name, c.Time)
			}
			t.Durations[c.Name] += time.Duration(sec * float64(time.Second))
		}
	}
	if len(t.Durations) == 0 {
		return nil, fmt.Errorf("%s holds no testcase; want the JUnit report of an earlier run", name)
	}
	return t, nil
}

// FromEvents derives timings from runs' event logs (each starting with
// run_start): a test's duration is the mean over the runs it ran in of
// all its attempts' time; failures count the runs it failed in.
func FromEvents(runs [][]report.Event) *Timings {
	t := &Timings{Durations: map[string]time.Duration{}, Failures: map[string]int{}}
	sums := map[string]float64{}
	n := map[string]int{}
	var envSum time.Duration
	envRuns := 0
	for _, events := range runs {
		if len(events) == 0 {
			continue
		}
		t.Runs++
		if t.Suite == "" {
			t.Suite = events[0].Suite
		}
		run := map[string]float64{}
		firstTest := time.Time{}
		for _, e := range events {
			switch e.Type {
			case report.TestStart:
				if firstTest.IsZero() {
					firstTest = e.Time
				}
			case report.TestRetry:
				run[e.Test] += e.Duration
			case report.TestEnd:
				if e.Status == report.Skipped {
					continue
				}
				run[e.Test] += e.Duration
				if e.Status == report.Failed || e.Flaky {
					t.Failures[e.Test]++
				}
			}
		}
		for name, ms := range run {
			sums[name] += ms
			n[name]++
		}
		if !firstTest.IsZero() && firstTest.After(events[0].Time) {
			envSum += firstTest.Sub(events[0].Time)
			envRuns++
		}
	}
	for name, ms := range sums {
		t.Durations[name] = time.Duration(ms / float64(n[name]) * float64(time.Millisecond))
	}
	if envRuns > 0 {
		t.EnvStart = envSum / time.Duration(envRuns)
	}
	return t
}

// Check refuses timings of another suite: a source that names another
// suite, or one none of whose tests is among names.
func (t *Timings) Check(suite string, names []string, source string) error {
	if t.Suite != "" && suite != "" && t.Suite != suite && !strings.HasSuffix(t.Suite, "."+suite) {
		return fmt.Errorf("%s holds timings of suite %q, not %q: give a report of this suite's earlier run", source, t.Suite, suite)
	}
	if len(t.Durations) == 0 {
		return nil
	}
	for _, n := range names {
		if _, ok := t.Durations[n]; ok {
			return nil
		}
	}
	return fmt.Errorf("%s holds timings of %d tests, none of them in suite %q: give a report of this suite's earlier run", source, len(t.Durations), suite)
}
