package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// counterProto is the streaming service grpcsvc serves, as a suite would
// name it.
const counterProto = `syntax = "proto3";
package seamtest;
message CountRequest { int32 n = 1; }
message CountReply { int32 i = 1; }
service Counter {
  rpc Count(CountRequest) returns (stream CountReply);
}
`

// TestGRPCStep: the grpc step calls a real gRPC server seam started, with
// types from the suite's .proto files (auth) or by server reflection
// (plain): unary calls that answer OK and error codes, a server stream,
// metadata, trailers; an unknown method (asked by reflection) and a port
// without gRPC fail the step with what to do.
func TestGRPCStep(t *testing.T) {
	env, state := isolated(t)
	bin := grpcService(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "proto"), 0o755)
	os.WriteFile(filepath.Join(dir, "proto", "health.proto"), []byte(healthProto), 0o644)
	os.WriteFile(filepath.Join(dir, "proto", "counter.proto"), []byte(counterProto), 0o644)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: grpcstep
services:
  auth:
    process: {run: [`+bin+`, -api, ((addr)), -grpc, "127.0.0.1:((ports.grpc))"]}
    ports: [api, grpc]
    ready: {http: /healthz}
    grpc: {protos: [proto/health.proto, proto/counter.proto]}
  plain:
    process: {run: [`+bin+`, -api, ((addr)), -grpc, "127.0.0.1:((ports.grpc))"]}
    ports: [api, grpc]
    ready: {http: /healthz}
tests:
  - name: a unary call answers OK
    steps:
      - grpc: {service: auth, method: grpc.health.v1.Health/Check, request: {service: auth}, metadata: {authorization: Bearer t1}}
        expect: {code: OK, message: {.status: SERVING}, status_message: "", headers: {'.["content-type"]': application/grpc}}
  - name: a unary call answers an error code
    steps:
      - grpc: {service: auth, method: /grpc.health.v1.Health/Check, request: {service: nope}, metadata: {authorization: Bearer t1}, timeout: 2s}
        expect: {code: NOT_FOUND, status_message: unknown service}
      - grpc: {service: auth, method: grpc.health.v1.Health/Check, request: {service: auth}}
        expect: {code: UNAUTHENTICATED, status_message: no token given}
  - name: a server stream
    steps:
      - grpc: {service: auth, method: seamtest.Counter/Count, request: {n: 3}}
        expect: {code: OK, messages: [{i: 1}, {i: 2}, {i: 3}], trailers: {.counted: "3"}}
      - grpc: {service: auth, method: seamtest.Counter/Count, request: {n: -1}}
        expect: {code: INVALID_ARGUMENT, messages: [{i: 1}]}
  - name: types by reflection
    steps:
      - grpc: {service: plain, method: seamtest.Counter/Count, request: {n: 2}}
        expect: {code: OK, messages: [{i: 1}, {i: 2}]}
      - grpc: {addr: '127.0.0.1:((service("plain").ports.grpc))', method: grpc.health.v1.Health/Check, request: {service: auth}, metadata: {authorization: x}}
        expect: {code: OK, message: {.status: SERVING}}
  - name: an unknown method by reflection
    steps:
      - grpc: {service: plain, method: grpc.health.v1.Health/Nope}
  - name: a port without gRPC
    steps:
      - grpc: {service: plain, port: api, method: grpc.health.v1.Health/Check}
`), 0o644)
	r := seamEnv(t, env, "run", dir)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"PASS a unary call answers OK",
		"PASS a unary call answers an error code",
		"PASS a server stream",
		"PASS types by reflection",
		"FAIL an unknown method by reflection",
		"service grpc.health.v1.Health has no method Nope (methods: Check, List, Watch)",
		"FAIL a port without gRPC",
		"(as 127.0.0.1:", "says by reflection)",
		"the call ended with code UNAVAILABLE", "looked like an HTTP/1.1 header", "expect: {code: UNAVAILABLE}",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertClean(t, state)
}

// TestGRPCStepErrorsArePlaced: with the service's .proto files known, an
// unknown method or request field is a validate error at its position.
func TestGRPCStepErrorsArePlaced(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "health.proto"), []byte(healthProto), 0o644)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: grpcsteperrors
services:
  auth:
    process: {run: [sleep, "60"]}
    grpc: {protos: [health.proto]}
tests:
  - name: bad calls
    steps:
      - grpc: {service: auth, method: grpc.health.v1.Health/Chek}
      - grpc: {service: auth, method: grpc.health.v1.Health/Check, request: {servic: a}}
      - grpc: {service: auth, method: Check}
      - grpc: {service: auth, port: grpc, method: grpc.health.v1.Health/Check}
`), 0o644)
	r := seam(t, "validate", dir)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`seam.yaml:9:39: grpc.method: grpc.health.v1.Health/Chek: service grpc.health.v1.Health has no method Chek; did you mean Check?`,
		`seam.yaml:10:78: grpc.request: grpc.health.v1.HealthCheckRequest has no field "servic"`,
		`did you mean "service"?`,
		`seam.yaml:11:39: grpc.method: "Check" is not a gRPC method: write package.Service/Method`,
		`seam.yaml:12:37: grpc.port: service "auth" has no port "grpc"`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestGRPCFault: a fault answers sales's health Check to auth in auth's
// place (sales's client had a connection open: it is drained and the
// client reconnects), while auth's other calls and ports still reach it;
// the call is recorded as injected, and coverage lists it apart.
func TestGRPCFault(t *testing.T) {
	env, state := isolated(t)
	bin := grpcService(t)
	dir := t.TempDir()
	log := filepath.Join(t.TempDir(), "run.jsonl")
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: grpcfault
services:
  auth:
    process: {run: [`+bin+`, -api, ((addr)), -grpc, "127.0.0.1:((ports.grpc))"]}
    ports: [api, grpc]
    ready: {http: /healthz}
    grpc: {reflection: true}
  sales:
    process: {run: [`+bin+`, -listen, ((addr)), -grpc-port, ((service("auth").ports.grpc)), -direct-port, "0"]}
    ready: {http: /healthz}
    depends_on: [auth]
tests:
  - name: auth is down for sales
    steps:
      - http: {service: sales, path: /check, query: {token: t1}}
        expect: {text: OK}
      - fault: {from: sales, to: auth, grpc: {method: /grpc.health.v1.Health/Check, code: UNAVAILABLE, message: down for maintenance}}
      - http: {service: sales, path: /check, query: {token: t1}}
        expect: {text: Unavailable}
      - http: {service: sales, path: /hello}
        expect: {text: hello from auth}
      - interactions: {from: sales, to: auth, grpc: /grpc.health.v1.Health/Check, code: UNAVAILABLE, injected: true, count: 1}
        expect: {interactions: {".[0].message": down for maintenance}}
      - interactions: {from: sales, to: auth, grpc: /grpc.health.v1.Health/Check, code: OK, count: 1}
  - name: the fault ends with its test
    steps:
      - http: {service: sales, path: /check, query: {token: t1}}
        expect: {text: OK}
`), 0o644)
	r := seamEnv(t, env, "run", dir, "--report", "json="+log)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cov := seamEnv(t, env, "coverage", log)
	if !strings.Contains(cov.stdout, "injected by faults (not exercised): GRPC /grpc.health.v1.Health/Check ×1") {
		t.Errorf("seam coverage:\n%s%s", cov.stdout, cov.stderr)
	}
	assertClean(t, state)
}

// TestGRPCFaultErrorsArePlaced: a wrong code or method in a gRPC fault is
// a validate error at its position.
func TestGRPCFaultErrorsArePlaced(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: grpcfaulterrors
services:
  back:
    process: {run: [sleep, "60"]}
  front:
    process: {run: [sleep, "60"]}
    depends_on: [back]
tests:
  - name: bad faults
    steps:
      - fault: {from: front, to: back, grpc: {method: /a.B/C, code: NOPE}}
      - fault: {from: front, to: back, grpc: {method: Check, code: 14}}
      - fault: {from: front, to: back, grpc: {code: OK}}
`), 0o644)
	r := seam(t, "validate", dir)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`seam.yaml:11:46: fault.grpc.code: "NOPE" is not a gRPC status`,
		`seam.yaml:12:46: fault.grpc.method: "Check" is not a gRPC method path`,
		`seam.yaml:13:46: fault.grpc.code: OK is not a fault`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}
