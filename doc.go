// Package seam runs integration tests of systems made of several
// components from `go test`, with the same engine as the seam command.
//
// Run a suite file's tests as subtests (go test -run filters them):
//
//	func TestShop(t *testing.T) {
//		seam.Run(t, "testdata/shop")
//	}
//
// Or start the suite's services and test them in Go, like httptest grown up:
//
//	func TestOrder(t *testing.T) {
//		env := seam.Start(t, "testdata/shop")
//		resp, err := http.Post(env.URL("orders")+"/orders", "application/json", body)
//		…
//	}
//
// Start registers the cleanup before it starts anything; every process it
// starts dies with the test binary, and a crashed binary's leftovers are
// reaped by the next run. To share one environment between a package's
// tests, start it with Up in TestMain (or lazily, once) and Attach it to each
// test: a failing test then shows the log lines the components printed
// during it.
//
// An Env belongs to the test that started or attached it. Misusing it never
// kills the test binary: used after that test ended (kept by another test,
// or by a goroutine that outlived it), it fails the tests still running
// above it, naming the line, or prints the problem and fails the binary's
// run; an Env from Up used without Attach reports through the test attached
// last, or through Close's error. Tests that share an Env from Up run one at
// a time: Attach from a test running beside another attached one fails it.
// Each Attach starts from the baseline (data reset; faults and stub mappings
// set before it gone), except a subtest's under an attached parent: it
// shares the parent's data, faults and mappings, and what it adds of the
// latter two ends with it.
//
// Services can also be declared in code with Process and StubService and
// started with StartServices.
//
// A stub stands in for a component that is missing or third-party. Check
// what it was sent, and give it answers for one test only:
//
//	pay := env.Stub("payments")
//	pay.Add(`{"request": {"urlPath": "/charges"}, "response": {"status": 402}}`)
//	…
//	pay.Verify(seam.Match{Method: "POST", Path: "/charges", JSON: map[string]any{"amount": 500}}, 1)
//
// A failed verification lists the closest requests and what differed; a
// request no mapping matched fails the test the same way.
//
// Every depends_on edge between services runs through seam's wire, a
// recording proxy, so a test can check the interactions themselves:
//
//	env.VerifyInteractions(seam.Edge{From: "orders", To: "payments", Path: "/charges", Status: 201}, 1)
//	calls := env.Interactions(seam.Edge{From: "orders", To: "inventory"})
//
// and disturb them, until the test ends or ClearFaults:
//
//	env.Fault("orders", "pricing", seam.Fault{GRPC: &seam.GRPCFault{Code: codes.Unavailable}})
//	env.Fault("orders", "inventory", seam.Fault{Latency: 200 * time.Millisecond})
package seam
