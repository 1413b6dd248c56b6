package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWireRecordsEdges: a service is given seam's proxy for what it
// depends on; the exchanges on that edge show in the test's timeline, and
// wire: false gives the real address instead.
func TestWireRecordsEdges(t *testing.T) {
	env, state := isolated(t)
	svc := testService(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: wire
services:
  back:
    process: {run: [`+svc+`, -listen, ((addr))]}
    ready: {http: /healthz}
  front:
    process: {run: [`+svc+`, -listen, ((addr)), -call, ((service("back").url))]}
    ready: {http: /healthz}
    depends_on: [back]
  direct:
    process: {run: [`+svc+`, -listen, ((addr)), -call, ((service("back").url))]}
    ready: {http: /healthz}
    depends_on: [{name: back, wire: false}]
tests:
  - name: front calls back through the wire
    steps:
      - http: {service: front, path: /call, query: {path: /port}}
        expect: {status: 200}
      - http: {service: front, path: /call, query: {path: /nowhere}}
        expect: {status: 200}
  - name: direct is given back's own address
    steps:
      - http: {service: direct, path: /callee}
        expect: {text: ((service("back").url))}
      - http: {service: front, path: /callee}
        expect: {text: {ne: ((service("back").url))}}
  - name: interactions are checked
    steps:
      - http: {service: front, path: /call, query: {path: /port}}
      - http: {service: front, path: /call, query: {path: /healthz}}
      - interactions: {from: front, to: back, path: /port, status: 200, count: 1, before: {from: front, to: back, path: /healthz}}
      - interactions: {from: front, to: back, path: "/n*", never: true}
  - name: a client that writes a byte at a time is decoded all the same
    steps:
      - http: {service: front, path: /call-split, query: {path: /port}}
        expect: {status: 200}
      - interactions: {from: front, to: back, method: GET, path: /port, status: 200, count: 1}
  - name: a wrong count fails with the edges' timeline
    steps:
      - http: {service: front, path: /call, query: {path: /port}}
      - interactions: {from: front, to: back, method: GET, path: /port, count: 2}
`), 0o644)
	log := filepath.Join(t.TempDir(), "run.jsonl")
	r := seamEnv(t, env, "run", dir, "--report", "json="+log)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"PASS direct is given back's own address",
		"FAIL front calls back through the wire",
		"front→back | GET /port → 200 OK",
		"front→back | GET /nowhere → 404 Not Found",
		"PASS interactions are checked",
		"PASS a client that writes a byte at a time is decoded all the same",
		`step "interactions": 1 interaction(s) matched front→back GET /port; want exactly 2`,
		"the edges during this test (1 interactions):",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "direct→back") {
		t.Errorf("wire: false still went through the wire:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "integration coverage: 1 of 1 edges exercised (100%)") {
		t.Errorf("no coverage line:\n%s", r.stdout)
	}
	cov := seamEnv(t, env, "coverage", log)
	for _, want := range []string{"front→back   GET /healthz ×1, GET /nowhere ×1, GET /port ×4", "direct→back  not recorded (wire: false)"} {
		if cov.code != 0 || !strings.Contains(cov.stdout, want) {
			t.Errorf("seam coverage lacks %q (exit %d):\n%s%s", want, cov.code, cov.stdout, cov.stderr)
		}
	}
	assertClean(t, state)
}

// TestEdgeErrorsArePlaced: a fault or interactions step, or a test's
// faults:, on an edge that is not a wired depends_on is an error at its
// position, before anything starts.
func TestEdgeErrorsArePlaced(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: edges
services:
  back:
    process: {run: [sleep, "60"]}
  front:
    process: {run: [sleep, "60"]}
    depends_on: [back]
  direct:
    process: {run: [sleep, "60"]}
    depends_on: [{name: back, wire: false}]
tests:
  - name: faults for the whole test
    faults:
      - {from: front, to: back, latency: 10ms}
      - {from: back, to: front, reset: true}
    steps:
      - fault: {from: direct, to: back, reset: true}
      - interactions: {from: front, to: nowhere, never: true}
  - name: faults is a list
    faults: {from: front, to: back, latency: 10ms}
    steps:
      - exec: [true]
`), 0o644)
	r := seam(t, "validate", dir)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"seam.yaml:15:9:",  // back → front is not an edge
		"seam.yaml:17:16:", // direct → back is not wired
		"seam.yaml:18:41:", // no service nowhere
		"seam.yaml:20:13: faults: want a list of faults",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "seam.yaml:14:") {
		t.Errorf("front → back is a wired edge, yet it is reported:\n%s", r.stderr)
	}
}
