package seam_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/seamtest/seam"
	"google.golang.org/grpc/codes"
)

func TestMain(m *testing.M) {
	// Keep the state of these tests' runs out of the user's folders.
	var dir string
	if os.Getenv("SEAM_STATE_DIR") == "" {
		if d, err := os.MkdirTemp("", "seam-gotest-state-"); err == nil {
			dir = d
			os.Setenv("SEAM_STATE_DIR", dir)
		}
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir) // before os.Exit, which skips deferred calls
	}
	os.Exit(code)
}

func TestRunSuiteAsSubtests(t *testing.T) {
	seam.Run(t, "examples/shop")
}

func TestRunSuiteInParallel(t *testing.T) {
	seam.Run(t, "examples/shop", seam.Parallel(), seam.Tags("orders"))
}

func TestStartAndTalkToServices(t *testing.T) {
	env := seam.Start(t, "examples/shop")
	resp, err := http.Get(env.URL("inventory") + "/stock/A1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"available":10`) {
		t.Fatalf("GET /stock/A1: %d %s", resp.StatusCode, body)
	}
	if env.Port("orders") == env.Port("inventory") || !strings.HasPrefix(env.Addr("orders"), "127.0.0.1:") {
		t.Errorf("addresses: %s %s", env.Addr("orders"), env.Addr("inventory"))
	}
	if logs := env.Logs("inventory"); len(logs) == 0 || !strings.Contains(logs[0], "inventory listening on") {
		t.Errorf("inventory logs: %q", logs)
	}
}

// TestFaultsFromGo: a Go test puts faults on the example's edges, as a
// suite's fault step does: a gRPC status answered in pricing's place (the
// call recorded as injected, orders refusing the order, inventory never
// called), an HTTP answer in inventory's place; cleared, orders go
// through again.
func TestFaultsFromGo(t *testing.T) {
	env := seam.Start(t, "examples/shop")
	order := func() (int, string) {
		t.Helper()
		resp, err := http.Post(env.URL("orders")+"/orders", "application/json", strings.NewReader(`{"sku":"C3","qty":1}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	env.Fault("orders", "pricing", seam.Fault{GRPC: &seam.GRPCFault{Method: "/shop.pricing.v1.Pricing/Quote", Code: codes.Unavailable, Message: "down for a test"}})
	if code, body := order(); code != 503 || !strings.Contains(body, "pricing unreachable") {
		t.Fatalf("with pricing faulted: %d %s", code, body)
	}
	env.VerifyInteractions(seam.Edge{From: "orders", To: "pricing", GRPC: "/shop.pricing.v1.Pricing/Quote", Code: "UNAVAILABLE"}, 1)
	env.VerifyInteractions(seam.Edge{From: "orders", To: "inventory"}, 0)
	if in := env.Interactions(seam.Edge{From: "orders", To: "pricing", GRPC: "/shop.pricing.v1.Pricing/Quote"}); len(in) != 1 || !in[0].Injected || in[0].GRPCMessage != "down for a test" {
		t.Errorf("the faulted call: %+v", in)
	}
	env.ClearFaults("orders", "pricing")
	env.Fault("orders", "inventory", seam.Fault{HTTP: &seam.HTTPFault{Method: "POST", Path: "/reserve", Status: 409, Body: `{"error":"held by a fault"}`}})
	if code, body := order(); code == 201 {
		t.Fatalf("with inventory faulted: %d %s", code, body)
	}
	env.VerifyInteractions(seam.Edge{From: "orders", To: "inventory", Method: "POST", Path: "/reserve", Status: 409}, 1)
	env.ClearFaults("orders", "inventory")
	if code, body := order(); code != 201 {
		t.Fatalf("with the faults cleared: %d %s", code, body)
	}
	// The faults set and cleared on the edges are on their timelines, but
	// they are no calls: only the three quotes count.
	env.VerifyInteractions(seam.Edge{From: "orders", To: "pricing"}, 3)
	for _, i := range env.Interactions(seam.Edge{From: "orders", To: "inventory"}) {
		if i.Protocol == "fault" {
			t.Errorf("a fault's marker counted as a call: %+v", i)
		}
	}
}

func TestChildFaultMisuse(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "fault-misuse" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	env, err := seam.Up(context.Background(), "examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	// Each misuse fails its test (and stops it).
	for from, f := range map[string]seam.Fault{"ordrs": {Reset: true}, "browser": {Reset: true}, "orders": {Jitter: time.Second}} {
		to := "pricing"
		if from == "browser" {
			to = "nosuch"
		}
		t.Run(from, func(t *testing.T) { env.Attach(t).Fault(from, to, f) })
	}
}

func TestServicesBuiltInCode(t *testing.T) {
	env := seam.StartServices(t,
		seam.Process("inventory", "((bin))", "-listen", "((addr))").
			Build("go build -o ((bin)) ./examples/shop/inventory").
			ReadyHTTP("/healthz"),
		seam.Process("orders", "((bin))", "-listen", "((addr))", "-inventory", `((service("inventory").url))`).
			Build("go build -o ((bin)) ./examples/shop/orders").
			DependsOn("inventory").
			ReadyLog("orders listening"),
	)
	resp, err := http.Post(env.URL("orders")+"/orders", "application/json", strings.NewReader(`{"sku":"B2","qty":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("ordering an item out of stock: status %d, want 409", resp.StatusCode)
	}
}

// The tests below fail on purpose; they only run in a child process that
// TestFailuresAreReportedThroughT starts, which checks their output.

func TestChildBrokenSuite(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "broken-suite" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	// Its browser tests would each wait expect_timeout (5 s) for a page
	// that never changes; what is checked is told by the API tests.
	seam.Run(t, "examples/shop", seam.Var("broken", "true"), seam.ExcludeTags("browser"))
}

func TestChildBadSuiteFile(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "bad-file" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	seam.Run(t, "testdata/invalid/unknown-kind.yaml")
}

func TestChildMisuse(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "misuse" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	env := seam.Start(t, "examples/shop")
	t.Log("url:", env.URL("shipping"))
}

func TestChildAfterCleanup(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "after-cleanup" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	var env *seam.Env
	t.Run("inner", func(t *testing.T) { env = seam.Start(t, "examples/shop") })
	env.Attach(t).URL("orders")
}

func TestChildFailingGoTestShowsLogs(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "go-failure" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	env := seam.Start(t, "examples/shop", seam.Var("broken", "true"))
	resp, err := http.Post(env.URL("orders")+"/orders", "application/json", strings.NewReader(`{"sku":"A1","qty":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("status %d, want 201", resp.StatusCode)
	}
}

func TestChildBrowserExpectation(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "browser-expect" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	env := seam.Start(t, "examples/shop")
	page := env.Browser()
	page.ExpectTimeout = time.Second
	page.Open("orders", "/")
	page.ExpectText("body", "a text the page never shows")
}

func TestChildInteractionExpectations(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "interactions" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	env := seam.Start(t, "examples/shop")
	post(t, env.URL("orders")+"/orders", `{"sku": "B2", "qty": 1}`) // out of stock: never charged
	env.VerifyInteractions(seam.Edge{From: "orders", To: "payments", Path: "/charges"}, 1)
}

func TestChildStubExpectations(t *testing.T) {
	if os.Getenv("SEAM_CHILD") != "stub" {
		t.Skip("run by TestFailuresAreReportedThroughT")
	}
	env := seam.StartServices(t, seam.StubService("pay", "testdata/stubs/pay"))
	post(t, env.URL("pay")+"/charges", `{"amount": 5}`)
	post(t, env.URL("pay")+"/refunds", `{"amount": 5}`)
	env.Stub("pay").Verify(seam.Match{Method: "POST", Path: "/charges", JSON: map[string]any{"amount": 7}}, 1)
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestToxiproxyClientsDriveTheWire puts a toxic on an edge through the
// Toxiproxy-compatible API with Toxiproxy's own Go client.
func TestToxiproxyClientsDriveTheWire(t *testing.T) {
	env := seam.Start(t, "examples/shop")
	tp := toxiproxy.NewClient(env.ToxiproxyURL())
	p, err := tp.Proxy("orders->payments")
	if err != nil {
		t.Fatal(err)
	}
	// Downstream, as Toxiproxy's: the charge reaches payments, and orders
	// meets a reset instead of its answer.
	if _, err := p.AddToxic("drop", "reset_peer", "downstream", 1, toxiproxy.Attributes{"timeout": 0}); err != nil {
		t.Fatalf("adding a toxic: %v", err)
	}
	if code := post(t, env.URL("orders")+"/orders", `{"sku": "C3", "qty": 1}`); code != http.StatusBadGateway {
		t.Errorf("an order while payments resets: %d, want 502", code)
	}
	env.VerifyInteractions(seam.Edge{From: "orders", To: "payments", Status: 201}, 0)
	// What the fault cut is on the edge too, as the fault's doing.
	cut := seam.Edge{From: "orders", To: "payments", Result: "reset by a fault (reset_peer toxic, downstream)"}
	for _, i := range env.Interactions(cut) {
		if !i.Injected {
			t.Errorf("a cut the fault made is not marked injected: %+v", i)
		}
	}
	env.VerifyInteractions(cut, seam.AtLeastOnce)
	if err := p.RemoveToxic("drop"); err != nil {
		t.Fatal(err)
	}
	if code := post(t, env.URL("orders")+"/orders", `{"sku": "A1", "qty": 1}`); code != http.StatusCreated {
		t.Errorf("an order once the toxic is removed: %d, want 201", code)
	}
}

// TestEdgeSelectsSQLAndRedis: statements are selected by a regular
// expression and their result, as the interactions step does.
func TestEdgeSelectsSQL(t *testing.T) {
	env := seam.Start(t, "examples/shop")
	if code := post(t, env.URL("orders")+"/orders", `{"sku": "A1", "qty": 1}`); code != http.StatusCreated {
		t.Fatalf("an order: %d", code)
	}
	env.VerifyInteractions(seam.Edge{From: "orders", To: "db", SQL: "^insert into ORDERS", Result: "INSERT 0 1"}, 1)
	env.VerifyInteractions(seam.Edge{From: "orders", To: "db", SQL: "^delete"}, 0)
	if got := env.Interactions(seam.Edge{From: "orders", To: "db", SQL: "insert"}); len(got) != 1 || got[0].Protocol != "postgres" {
		t.Errorf("interactions: %+v", got)
	}
	// What orders sent payments, whole: its headers (the secret one
	// masked) and its body.
	got := env.Interactions(seam.Edge{From: "orders", To: "payments", Path: "/charges"})
	if len(got) != 1 || got[0].RequestHeader.Get("Content-Type") != "application/json" || got[0].RequestHeader.Get("Authorization") != "***" ||
		!strings.Contains(string(got[0].RequestBody), `"currency":"EUR"`) || got[0].ResponseHeader.Get("Content-Length") == "" {
		t.Errorf("orders→payments: %+v", got)
	}
}

// TestStubFromGo declares a stub in code, adds a mapping for one test and
// verifies what the stub was sent.
func TestStubFromGo(t *testing.T) {
	env := seam.StartServices(t, seam.StubService("pay", "testdata/stubs/pay"))
	pay := env.Stub("pay")
	if code := post(t, env.URL("pay")+"/charges", `{"amount": 500, "currency": "EUR"}`); code != 201 {
		t.Fatalf("charge: %d", code)
	}
	pay.Add(`{"request": {"method": "POST", "urlPath": "/refunds"}, "response": {"status": 202}}`)
	if code := post(t, env.URL("pay")+"/refunds", `{"charge": "ch_1"}`); code != 202 {
		t.Fatalf("refund through the added mapping: %d", code)
	}
	pay.Verify(seam.Match{Method: "POST", Path: "/charges", JSON: map[string]any{"amount": 500}}, 1)
	pay.Verify(seam.Match{Path: "/refunds", BodyContains: "ch_1"}, seam.AtLeastOnce)
	pay.Verify(seam.Match{Path: "/charges", Headers: map[string]string{"X-Nope": "1"}}, 0)
	reqs := pay.Requests(seam.Match{Method: "POST"})
	if len(reqs) != 2 || reqs[0].Path != "/charges" || reqs[1].Path != "/refunds" {
		t.Errorf("requests: %+v", reqs)
	}
}

func TestFailuresAreReportedThroughT(t *testing.T) {
	for _, tc := range []struct {
		child  string
		test   string
		want   []string
		absent []string
	}{
		{"broken-suite", "TestChildBrokenSuite", []string{
			"--- FAIL: TestChildBrokenSuite/seam/an_order_reserves_its_stock_in_inventory",
			`step "place the order": status: got 502; want 201`,
			"inventory | reserve C3 x2: failed: storage unavailable",
			"--- PASS: TestChildBrokenSuite/seam/a_bad_order_never_reaches_inventory",
		}, []string{"TestChildBrokenSuite/seam/the_page_says_why"}}, // ExcludeTags("browser")
		{"bad-file", "TestChildBadSuiteFile", []string{
			`unknown-kind.yaml:6:9: steps[0]: unknown step kind "htp"`,
			`hint: did you mean "http"?`,
		}, nil},
		{"misuse", "TestChildMisuse", []string{
			`seam_test.go:`, // reported at the caller's line
			`seam: no service "shipping"; the services are: bus, db, inventory, orders, payments, pricing`,
		}, nil},
		{"after-cleanup", "TestChildAfterCleanup", []string{
			"seam: the environment is stopped (its test ended, or Close was called)",
		}, nil},
		{"stub", "TestChildStubExpectations", []string{
			`seam: stub pay: 0 request(s) matched POST /charges; want exactly 1`,
			"closest: POST /charges",
			`- body: want equalToJson {"amount":7}`,
			"seam: stub pay: 1 request(s) matched no stub mapping",
			"closest mapping: charge",
			"pay | POST /refunds → 404 no mapping matched",
		}, nil},
		{"interactions", "TestChildInteractionExpectations", []string{
			"seam: 0 interaction(s) matched orders→payments /charges; want exactly 1",
			"orders→inventory | POST /reserve → 409 Conflict",
		}, nil},
		{"fault-misuse", "TestChildFaultMisuse", []string{
			`seam: fault on ordrs→pricing: no service "ordrs"; the services are: bus, db, inventory, orders, payments, pricing`,
			`seam: fault on browser→nosuch: no service "nosuch"`,
			"seam: fault on orders→pricing: jitter needs a latency",
		}, []string{"ordrs→pricing | fault"}},
		{"browser-expect", "TestChildBrowserExpectation", []string{
			`seam: browser: expect text: body: want visible text containing "a text the page never shows"`,
			"(still so after 1s)", // ExpectTimeout, not Timeout's 10s
		}, nil},
		{"go-failure", "TestChildFailingGoTestShowsLogs", []string{
			"status 502, want 201",
			"seam: components' log lines during TestChildFailingGoTestShowsLogs",
			"1. orders→inventory | POST /reserve → 500 Internal Server Error",
			"inventory | reserve A1 x1: failed: storage unavailable",
		}, nil},
	} {
		t.Run(tc.child, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^"+tc.test+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "SEAM_CHILD="+tc.child)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the child test passed; want a failure:\n%s", out)
			}
			if strings.Contains(string(out), "panic:") {
				t.Errorf("seam panicked:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.absent {
				if strings.Contains(string(out), w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// ExampleUp starts the example shop's services without a *testing.T, as a
// TestMain would, and talks to one of them.
func ExampleUp() {
	env, err := seam.Up(context.Background(), "examples/shop")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Close()
	resp, err := http.Get(env.URL("inventory") + "/stock/A1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output: {"available":10,"sku":"A1"}
}

// ExampleProcess declares services in Go instead of a suite file.
func ExampleProcess() {
	env, err := seam.UpServices(
		seam.Process("inventory", "((bin))", "-listen", "((addr))").
			Build("go build -o ((bin)) ./examples/shop/inventory").
			ReadyHTTP("/healthz"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Close()
	resp, err := http.Get(env.URL("inventory") + "/stock/B2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// An HTTP or gRPC fault on an edge that carries neither (to PostgreSQL,
// NATS) fails the test (and stops it, as every misuse of a fault does),
// as the suite's fault step is refused for it: it would never apply.
func TestFaultThatCouldNeverApplyFails(t *testing.T) {
	for _, tc := range []struct {
		to string
		f  seam.Fault
	}{
		{"db", seam.Fault{HTTP: &seam.HTTPFault{Path: "/x", Status: 503}}},
		{"bus", seam.Fault{GRPC: &seam.GRPCFault{Code: codes.Unavailable}}},
	} {
		msg := fatal(t, func(t testing.TB) {
			seam.Start(t, "examples/shop").Fault("orders", tc.to, tc.f)
			t.Log("went on")
		})
		if !strings.Contains(msg, "seam: fault on orders→"+tc.to+": ") || !strings.Contains(msg, "the fault would never apply") ||
			!strings.Contains(msg, "Latency") || strings.Contains(msg, "went on") {
			t.Errorf("fault on orders→%s:\n%s", tc.to, msg)
		}
	}
}
