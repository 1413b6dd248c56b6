package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryPortGoesThroughTheWire: auth serves HTTP on its main port and
// gRPC on a second one; sales reaches both through seam's wire (the gRPC
// port from SEAM_AUTH_PORTS_GRPC and service("auth").ports.grpc), and the
// calls on the gRPC port are decoded: method, status code and message.
func TestEveryPortGoesThroughTheWire(t *testing.T) {
	env, state := isolated(t)
	bin := filepath.Join(filepath.Dir(seamBin), "grpcsvc")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/grpcsvc").CombinedOutput(); err != nil {
		t.Fatalf("building the gRPC test service: %v\n%s", err, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: ports
services:
  auth:
    process: {run: [`+bin+`, -api, ((addr)), -grpc, "127.0.0.1:((ports.grpc))"]}
    ports: [api, grpc]
    ready: {http: /healthz}
  sales:
    process: {run: [`+bin+`, -listen, ((addr)), -grpc-port, ((service("auth").ports.grpc))]}
    ready: {http: /healthz}
    depends_on: [auth]
tests:
  - name: sales is given the wire's ports
    steps:
      - http: {service: sales, path: /config}
        expect: {body: {.flag: {ne: ((service("auth").ports.grpc))}}}
        capture: {flag: .body.flag, env: .body.env}
      - exec: [test, ((flag)), "=", ((env))]
  - name: gRPC calls are recorded
    steps:
      - http: {service: sales, path: /check, query: {token: t1}}
        expect: {text: OK}
      - http: {service: sales, path: /check}
        expect: {text: Unauthenticated}
      - http: {service: sales, path: /hello}
        expect: {text: hello from auth}
      - interactions: {from: sales, to: auth, grpc: /grpc.health.v1.Health/Check, code: OK, count: 1}
      - interactions: {from: sales, to: auth, grpc: "/grpc.health.v1.*/Check", code: 16, count: 1}
        expect: {interactions: {".[0].port": grpc, ".[0].message": no token given, ".[0].code": UNAUTHENTICATED}}
      - interactions: {from: sales, to: auth, method: GET, path: /hello, count: 1}
        expect: {interactions: {".[0].port": api}}
  - name: a refused call fails and shows on the edge
    steps:
      - http: {service: sales, path: /check}
      - interactions: {from: sales, to: auth, grpc: /grpc.health.v1.Health/Check, code: ok}
`), 0o644)
	r := seamEnv(t, env, "run", dir)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"PASS sales is given the wire's ports",
		"PASS gRPC calls are recorded",
		"FAIL a refused call fails and shows on the edge",
		"sales→auth | GRPC /grpc.health.v1.Health/Check → UNAUTHENTICATED: no token given",
		"0 interaction(s) matched sales→auth gRPC /grpc.health.v1.Health/Check → OK; want at least 1",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertClean(t, state)
}

// TestGRPCPatternErrorsArePlaced: a wrong gRPC method or code in an
// interactions step is an error at its position.
func TestGRPCPatternErrorsArePlaced(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: grpcerrors
services:
  back:
    process: {run: [sleep, "60"]}
  front:
    process: {run: [sleep, "60"]}
    depends_on: [back]
tests:
  - name: bad patterns
    steps:
      - interactions: {from: front, to: back, grpc: Check, code: NOPE}
`), 0o644)
	r := seam(t, "validate", dir)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`seam.yaml:11:53: interactions.grpc: "Check" is not a gRPC method path: write /package.Service/Method`,
		`seam.yaml:11:66: interactions.code: "NOPE" is not a gRPC status`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}
