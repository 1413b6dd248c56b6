package suite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/suite"
	"github.com/seamtest/seam/internal/suite/bigsuite"
)

// splitCases are layouts the line splitter must read right or give up
// on: each loads the same parsed test by test as parsed whole.
var splitCases = map[string]string{
	"plain":                  "name: s\ntests:\n  - name: a\n    steps: [{exec: [\"true\"]}]\n  # between\n  - name: b\n    steps: [{exec: [\"true\"]}]\n",
	"compact":                "name: s\ntests:\n- name: a\n  steps: [{exec: [\"true\"]}]\n- name: b\n  steps: [{exec: [\"true\"]}]\nvars: {x: 1}\n",
	"anchor across tests":    "tests:\n  - &t\n    name: a\n    steps: [{exec: [\"true\"]}]\n  - <<: *t\n    name: b\n",
	"anchor in vars":         "vars: {x: &x 1}\ntests:\n  - name: a\n    vars: {y: *x}\n    steps: [{exec: [\"true\"]}]\n",
	"quoted over lines":      "tests:\n  - name: \"a\n  - b\"\n    steps: [{exec: [\"true\"]}]\n",
	"flow over lines":        "tests:\n  - {name: a,\n  - steps: []}\n",
	"second document":        "tests:\n  - name: a\n    steps: [{exec: [\"true\"]}]\n---\ntests: []\n",
	"duplicate key":          "tests:\n  - name: a\n    steps: [{exec: [\"true\"]}]\ntests:\n  - name: b\n    steps: [{exec: [\"true\"]}]\n",
	"crlf":                   "name: s\r\ntests: # the tests\r\n  - name: a\r\n    steps: [{exec: [\"true\"]}]\r\n  - name: a\r\n    steps: [{exec: [\"true\"]}]\r\n",
	"errors in tests":        "tests:\n  - name: a\n    steps: [{http: {url: x, metod: GET}}]\n  - name: b\n    steps: [{exec: {command: \"true\"}, expect: {stdout: {matchs: x}}}]\n  - nme: c\n",
	"syntax error in a test": "tests:\n  - name: a\n    steps: [{exec: [\"true\"]}]\n  - name: b\n\tsteps: []\n",
	"tabbed item":            "tests:\n  - name: a\n    steps: [{exec: [\"true\"]}]\n  x: 1\n",
	"block scalar":           "tests:\n  - name: |\n      - not an item\n    steps: [{exec: [\"true\"]}]\n",
	"deep":                   "tests:\n  - name: a\n    steps: [{exec: [\"true\"]}]\n    vars: {x: " + strings.Repeat("[", 120) + strings.Repeat("]", 120) + "}\n",
	"services":               "services:\n  api:\n    process: {run: [sleep, \"9\"]}\ntests:\n  - name: a\n    steps: [{http: {service: nope, path: /}}]\n  - name: b\n    steps: [{http: {service: api, path: /}}]\n",
}

// Parsing test by test (as files over a MiB are) finds the same tests and
// the same problems, at the same positions, as parsing the file whole,
// for every fixture and for layouts the splitter might misread.
func TestSplitSameAsWhole(t *testing.T) {
	reg := builtin.New()
	defer reg.Close()
	files, _ := filepath.Glob("../../testdata/invalid/*.yaml")
	valid, _ := filepath.Glob("../../testdata/e2e/*/seam.yaml")
	examples, _ := filepath.Glob("../../examples/*/seam.yaml")
	for _, f := range append(append(files, valid...), examples...) {
		sameBothWays(t, reg, f)
	}
	dir := t.TempDir()
	for name, src := range splitCases {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		sameBothWays(t, reg, f)
	}
}

func sameBothWays(t *testing.T, reg *builtin.Registry, file string) {
	t.Helper()
	opts := suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes}
	whole, werr := suite.LoadAt(file, opts, -1)
	split, serr := suite.LoadAt(file, opts, 0)
	if w, s := fmt.Sprint(werr), fmt.Sprint(serr); w != s {
		t.Errorf("%s: parsed whole:\n%s\nparsed test by test:\n%s", file, w, s)
		return
	}
	if w, s := testsOf(whole), testsOf(split); w != s {
		t.Errorf("%s: parsed whole: %s\nparsed test by test: %s", file, w, s)
	}
	opts.Discard = true
	counted, _ := suite.LoadAt(file, opts, 0)
	if whole != nil && (counted.Count != whole.Count || len(counted.Tests) != 0 || whole.Count != len(whole.Tests)) {
		t.Errorf("%s: discarding: count %d, %d kept; want %d, none kept", file, counted.Count, len(counted.Tests), whole.Count)
	}
}

func testsOf(s *suite.Suite) string {
	if s == nil {
		return "no suite"
	}
	var b strings.Builder
	for _, t := range s.Tests {
		fmt.Fprintf(&b, "%s@%s[%d,%d,%d] ", t.Name, t.Pos, len(t.Setup), len(t.Steps), len(t.Teardown))
	}
	return b.String()
}

// FuzzSplit checks that arbitrary files load the same parsed test by test
// as parsed whole.
func FuzzSplit(f *testing.F) {
	for _, src := range splitCases {
		f.Add([]byte(src))
	}
	files, _ := filepath.Glob("../../testdata/invalid/*.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	reg := builtin.New()
	defer reg.Close()
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "seam.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sameBothWays(t, reg, file)
	})
}

// Validating a big suite (seam validate: Discard) holds memory near the
// size of its file, not the twenty-odd times a whole node tree and model
// take. The peak heap is sampled while it loads; the bound is generous
// (measured: about 5 times).
func TestValidateMemoryBounded(t *testing.T) {
	const size = 2 << 20
	file, n, err := bigsuite.WriteFile(t.TempDir(), size)
	if err != nil {
		t.Fatal(err)
	}
	reg := builtin.New()
	defer reg.Close()
	opts := suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, Discard: true}
	peak := func(load func()) uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var top atomic.Uint64
		done, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > base && ms.HeapInuse-base > top.Load() {
					top.Store(ms.HeapInuse - base)
				}
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
		load()
		close(done)
		<-stopped
		return top.Load()
	}
	var count int
	got := peak(func() {
		s, err := suite.Load(file, opts)
		if err != nil {
			t.Fatal(err)
		}
		count = s.Count
	})
	if count != n {
		t.Fatalf("validated %d tests, want %d", count, n)
	}
	t.Logf("%d tests, %d MiB file: peak heap %d MiB (%.1f× the file)", n, size>>20, got>>20, float64(got)/size)
	if got > 12*size {
		t.Errorf("validating a %d MiB suite took a peak heap of %d MiB, more than 12 times the file", size>>20, got>>20)
	}
}
