package main_test

import (
	"os"
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
	bin := grpcService(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "proto"), 0o755)
	os.WriteFile(filepath.Join(dir, "proto", "health.proto"), []byte(healthProto), 0o644)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: ports
services:
  auth:
    process: {run: [`+bin+`, -api, ((addr)), -grpc, "127.0.0.1:((ports.grpc))"]}
    ports: [api, grpc]
    ready: {http: /healthz}
    grpc: {protos: [proto/health.proto]}
  sales:
    process: {run: [`+bin+`, -listen, ((addr)), -grpc-port, ((service("auth").ports.grpc)), -direct-port, ((service("auth").direct_ports.grpc))]}
    ready: {http: /healthz}
    depends_on: [auth]
tests:
  - name: sales is given the wire's ports
    steps:
      - http: {service: sales, path: /config}
        expect: {body: {.flag: {ne: ((service("auth").ports.grpc))}, .direct: ((service("auth").ports.grpc))}}
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
        expect: {interactions: {".[0].request_body": {service: auth}, ".[0].response_body": {status: SERVING}}}
      - interactions: {from: sales, to: auth, grpc: "/grpc.health.v1.*/Check", code: 16, count: 1}
        expect: {interactions: {".[0].port": grpc, ".[0].message": no token given, ".[0].code": UNAUTHENTICATED}}
      - interactions: {from: sales, to: auth, method: GET, path: /hello, count: 1}
        expect: {interactions: {".[0].port": api}}
  - name: a refused call fails and shows on the edge
    steps:
      - http: {service: sales, path: /check}
      - interactions: {from: sales, to: auth, grpc: /grpc.health.v1.Health/Check, code: ok}
  - name: a fault on the edge reaches its gRPC port too # last: the client backs off after it
    steps:
      - fault: {from: sales, to: auth, reset: true}
      - http: {service: sales, path: /check, query: {token: t1}}
        expect: {text: Unavailable}
`), 0o644)
	r := seamEnv(t, env, "run", dir)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"PASS sales is given the wire's ports",
		"PASS gRPC calls are recorded",
		"PASS a fault on the edge reaches its gRPC port too",
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

// healthProto is gRPC's health service, as a suite would name it.
const healthProto = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`

// TestGRPCPatternErrorsArePlaced: a wrong gRPC method or code in an
// interactions step, or a .proto that does not compile, is an error at
// its position.
func TestGRPCPatternErrorsArePlaced(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.proto"), []byte("syntax = \"proto3\";\nmessage A {\n  strin name = 1;\n}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: grpcerrors
services:
  back:
    process: {run: [sleep, "60"]}
    grpc: {protos: [bad.proto]}
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
		`seam.yaml:12:53: interactions.grpc: "Check" is not a gRPC method path: write /package.Service/Method`,
		`seam.yaml:12:66: interactions.code: "NOPE" is not a gRPC status`,
		`seam.yaml:5:11: service "back": grpc: bad.proto:3:3: field A.name: unknown type strin`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestGRPCTypesByReflection: with grpc: {reflection: true} seam asks the
// callee for its services once it is ready, and the wire shows the
// messages as JSON; a callee without reflection is a start error that
// says what to do.
func TestGRPCTypesByReflection(t *testing.T) {
	env, state := isolated(t)
	bin := grpcService(t)
	suite := `name: reflect
services:
  auth:
    process: {run: [` + bin + `, -api, ((addr)), -grpc, "127.0.0.1:((ports.grpc))"]}
    ports: [api, grpc]
    ready: {http: /healthz}
    grpc: {reflection: true}
  sales:
    process: {run: [` + bin + `, -listen, ((addr)), -grpc-port, ((service("auth").ports.grpc)), -direct-port, "0"]}
    ready: {http: /healthz}
    depends_on: [auth]
tests:
  - name: messages as JSON
    steps:
      - http: {service: sales, path: /check, query: {token: t1}}
        expect: {text: OK}
      - interactions: {from: sales, to: auth, grpc: /grpc.health.v1.Health/Check, count: 1}
        expect: {interactions: {".[0].request_body": {service: auth}, ".[0].response_body": {status: SERVING}, ".[0].code": OK}}
`
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(suite), 0o644)
	r := seamEnv(t, env, "run", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "PASS messages as JSON") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Asking the HTTP port: it serves no gRPC at all, so the hint asks
	// whether the port is right.
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(strings.Replace(suite, "grpc: {reflection: true}", "grpc: {reflection: true, port: api}", 1)), 0o644)
	r = seamEnv(t, env, "run", dir)
	if r.code != 3 || !strings.Contains(r.stdout+r.stderr, "asking auth's port api") || !strings.Contains(r.stdout+r.stderr, "is the port right?") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertClean(t, state)
}
