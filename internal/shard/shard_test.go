package shard

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

func TestParse(t *testing.T) {
	if s, err := Parse("2/4"); err != nil || s != (Spec{2, 4}) {
		t.Errorf("2/4 = %v, %v", s, err)
	}
	for in, want := range map[string]string{"0/4": "K counts from 1", "5/4": "K is more than N", "1/0": "N must be at least 1",
		"x": "want K/N", "a/b": "two whole numbers", "1/5000": "over 1000"} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v; want %q", in, err, want)
		}
	}
}

func names(n int) []Test {
	out := make([]Test, n)
	for i := range out {
		out[i] = Test{Name: fmt.Sprintf("t%02d", i)}
	}
	return out
}

func TestSplitByCountIsBalancedAndDeterministic(t *testing.T) {
	p := Split(names(10), 3, Options{})
	sizes := []int{len(p.Parts[0]), len(p.Parts[1]), len(p.Parts[2])}
	if !reflect.DeepEqual(sizes, []int{4, 3, 3}) {
		t.Errorf("sizes %v; want 4 3 3", sizes)
	}
	if q := Split(names(10), 3, Options{}); !reflect.DeepEqual(p.Parts, q) && !reflect.DeepEqual(p.Parts, q.Parts) {
		t.Errorf("two splits differ: %v, %v", p.Parts, q.Parts)
	}
	seen := map[string]bool{}
	for _, part := range p.Parts {
		for _, n := range part {
			if seen[n] {
				t.Errorf("%s in two parts", n)
			}
			seen[n] = true
		}
	}
	if len(seen) != 10 {
		t.Errorf("%d tests placed; want 10", len(seen))
	}
}

func TestSplitByTimingsBalancesSkewedDurations(t *testing.T) {
	tests := names(40)
	timings := map[string]time.Duration{}
	for i, tt := range tests {
		d := 20 * time.Millisecond
		if i%10 == 3 {
			d = time.Second
		}
		timings[tt.Name] = d
	}
	p := Split(tests, 4, Options{Timings: timings})
	var mx, sum time.Duration
	for _, l := range p.Load {
		mx, sum = max(mx, l), sum+l
	}
	if ratio := float64(mx) / (float64(sum) / 4); ratio > 1.05 {
		t.Errorf("imbalance %.2f (loads %v); want ≤ 1.05", ratio, p.Load)
	}
	// By count, the four long tests could share parts; by time each gets one.
	for k, part := range p.Parts {
		long := 0
		for _, n := range part {
			if timings[n] == time.Second {
				long++
			}
		}
		if long != 1 {
			t.Errorf("part %d has %d long tests; want 1", k+1, long)
		}
	}
}

func TestSplitWeighsSerialAndFreshAndPlacesUnknownByCount(t *testing.T) {
	tests := []Test{{Name: "serial", Serial: true}, {Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "new1"}, {Name: "new2"}}
	timings := map[string]time.Duration{"serial": time.Second, "a": time.Second, "b": time.Second, "c": time.Second}
	p := Split(tests, 2, Options{Timings: timings, Parallel: 2})
	// With 2 workers the serial test holds both for 1s: as much as a, b, c together (1.5s) nearly.
	if !reflect.DeepEqual(p.Unknown, []string{"new1", "new2"}) {
		t.Errorf("unknown %v", p.Unknown)
	}
	if len(p.Parts[0]) != 3 || len(p.Parts[1]) != 3 {
		t.Errorf("parts %v; want the unknown tests on the part with fewer tests", p.Parts)
	}
	if p.Parts[0][0] != "serial" || len(p.Parts[0]) != 3 {
		t.Errorf("parts %v; want serial with fewer known tests", p.Parts)
	}
	f := Split([]Test{{Name: "fresh", Fresh: true}, {Name: "x"}, {Name: "y"}}, 2, Options{Timings: map[string]time.Duration{"fresh": time.Second, "x": time.Second, "y": time.Second}, EnvStart: 2 * time.Second})
	if !reflect.DeepEqual(f.Parts[0], []string{"fresh"}) {
		t.Errorf("parts %v; want the fresh test (3s with its environment) alone", f.Parts)
	}
}

func TestReadJUnitAndEvents(t *testing.T) {
	x := `<?xml version="1.0"?><testsuites><testsuite name="ci"><testcase name="a" classname="ci" time="1.500"/><testcase name="b" classname="ci" time="0.25"></testcase></testsuite></testsuites>`
	tm, err := Read(strings.NewReader(x), "j.xml")
	if err != nil {
		t.Fatal(err)
	}
	if tm.Suite != "ci" || tm.Durations["a"] != 1500*time.Millisecond || tm.Durations["b"] != 250*time.Millisecond {
		t.Errorf("%+v", tm)
	}
	if err := tm.Check("shop", []string{"a"}, "j.xml"); err == nil || !strings.Contains(err.Error(), `suite "ci", not "shop"`) {
		t.Errorf("another suite's timings: %v", err)
	}
	tm.Suite = ""
	if err := tm.Check("ci", []string{"z"}, "j.xml"); err == nil || !strings.Contains(err.Error(), "none of them") {
		t.Errorf("timings of no test of the suite: %v", err)
	}
	t0 := time.Unix(1000, 0)
	ev := `{"time":"1970-01-01T00:16:40Z","type":"run_start","suite":"ci"}
{"time":"1970-01-01T00:16:42Z","type":"test_start","test":"a"}
{"time":"1970-01-01T00:16:43Z","type":"test_retry","test":"a","duration_ms":100}
{"time":"1970-01-01T00:16:44Z","type":"test_end","test":"a","status":"passed","flaky":true,"duration_ms":300}
{"time":"1970-01-01T00:16:44Z","type":"test_end","test":"s","status":"skipped"}
`
	tm, err = Read(strings.NewReader(ev), "e.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if tm.Durations["a"] != 400*time.Millisecond || tm.Failures["a"] != 1 || tm.EnvStart != 2*time.Second || len(tm.Durations) != 1 {
		t.Errorf("%+v (t0 %v)", tm, t0)
	}
	for in, want := range map[string]string{"": "empty", "hello": "neither", "<html/>": "not <testsuites>",
		`<testsuite name="x"><testcase name="a" time="NaN"/></testsuite>`: "not a number", `{"type":"log"}`: "run_start"} {
		if _, err := Read(strings.NewReader(in), "f"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v; want %q", in, err, want)
		}
	}
	_ = report.RunStart
}

// FuzzRead: timings from any file never panic, and durations are never negative.
func FuzzRead(f *testing.F) {
	f.Add(`<testsuites><testsuite name="ci"><testcase name="a" time="1.5"/></testsuite></testsuites>`)
	f.Add(`<testsuite name="ci"><testcase name="a" time="1e3"/></testsuite>`)
	f.Add("{\"type\":\"run_start\",\"suite\":\"x\"}\n{\"type\":\"test_end\",\"test\":\"a\",\"status\":\"passed\",\"duration_ms\":3}\n")
	f.Fuzz(func(t *testing.T, in string) {
		tm, err := Read(strings.NewReader(in), "f")
		if err != nil {
			return
		}
		for n, d := range tm.Durations {
			if d < 0 && !strings.HasPrefix(in, "{") {
				t.Errorf("%q: negative duration %v", n, d)
			}
		}
		Split([]Test{{Name: "a"}, {Name: "b"}}, 2, Options{Timings: tm.Durations})
	})
}
