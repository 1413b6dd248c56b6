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
	for _, want := range []string{"front→back   GET /healthz ×1, GET /nowhere ×1, GET /port ×3", "direct→back  not recorded (wire: false)"} {
		if cov.code != 0 || !strings.Contains(cov.stdout, want) {
			t.Errorf("seam coverage lacks %q (exit %d):\n%s%s", want, cov.code, cov.stdout, cov.stderr)
		}
	}
	assertClean(t, state)
}
