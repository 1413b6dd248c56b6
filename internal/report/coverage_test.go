package report

import (
	"strings"
	"testing"
)

func TestCoverageFromEvents(t *testing.T) {
	b := NewCoverageBuilder()
	for _, e := range []Event{
		{Type: RunStart, Edges: []EdgeInfo{{"web→api", true}, {"api→db", true}, {"api→cache", true}, {"api→mail", false}, {"api→pay", true}}},
		{Type: Log, Service: "web→api", Stream: WireStream, Message: "GET /healthz → 200 OK (1.0 ms)"}, // start-up: no test
		{Type: Log, Test: "t", Service: "web→api", Stream: WireStream, Message: "GET /users/42?full=1 → 200 OK (1.0 ms)"},
		{Type: Log, Test: "t", Service: "web→api", Stream: WireStream, Message: "GET /users/7 → 404 Not Found (1.0 ms)"},
		{Type: Log, Test: "t", Service: "web→api", Stream: WireStream, Message: "POST /users → 500 Internal Server Error (2.0 ms) ⚠"},
		{Type: Log, Test: "t", Service: "web→api", Stream: WireStream, Message: "fault → latency 1s (0 µs)"},
		{Type: Log, Test: "t", Service: "api→db", Stream: WireStream, Message: "connection → open (0 µs) (protocol not decoded)"},
		{Type: Log, Test: "t", Service: "api→db", Stream: WireStream, Message: "connection → closed (3s) 1.0 kB sent, 2.0 kB received"},
		{Type: Log, Test: "t", Service: "api", Stream: "stderr", Message: "GET /users → ignored: not the wire"},
		{Type: Log, Test: "t", Service: "api→pay", Stream: WireStream, Message: "POST /charges → 503 Service Unavailable (0 µs) (injected by a fault) ⚠"},
		{Type: Log, Test: "t", Service: "api→pay", Stream: WireStream, Message: "connection → reset by a fault at connect (0 µs) (injected by a fault) ⚠"},
		{Type: Log, Test: "t", Service: "api→pay", Stream: WireStream, Message: "POST /refunds → no response (closed by a fault after 0 bytes) (2.0 ms) (injected by a fault) ⚠"},
		{Type: Log, Test: "t", Service: "api→pay", Stream: WireStream,
			Message: "GRPC /pay.v1.Pay/Charge → UNAVAILABLE: retry soon, then give up (0 µs) (injected by a fault) ⚠"},
		// The callee answered; a fault cut its answer's body, or held it
		// past the caller's patience: exercised.
		{Type: Log, Test: "t", Service: "api→cache", Stream: WireStream,
			Message: "GET /items/7 → 200 OK, then closed by a fault after 250 bytes (in the middle of its body) (3.1 ms) (injected by a fault) ⚠"},
		{Type: Log, Test: "t", Service: "api→cache", Stream: WireStream,
			Message: "GET /items → no answer: caller closed after 1.0s (a latency fault held the answer) (1.0s) (the callee answered 200 OK after 120 µs) (injected by a fault) ⚠"},
	} {
		b.Event(e)
	}
	c := b.Coverage()
	if c.Exercised != 3 || c.Total != 4 || int(c.Percent) != 75 {
		t.Errorf("coverage %+v", c)
	}
	text := c.Text()
	for _, want := range []string{
		"integration coverage: 3 of 4 edges exercised (75%)",
		"web→api    GET /users/{id} ×2, POST /users ×1\n",
		"api→pay    NOT EXERCISED; injected by faults (not exercised): GRPC /pay.v1.Pay/Charge ×1, POST /charges ×1, POST /refunds ×1, connection ×1",
		"api→db     1 connection(s), protocol not decoded",
		"api→cache  GET /items ×1, GET /items/{id} ×1\n",
		"api→mail   not recorded (wire: false)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
}

func TestSQLShape(t *testing.T) {
	for in, want := range map[string]string{
		"insert into orders (sku, qty) values ($1, $2) returning id": "INSERT orders",
		"select sku, qty from orders where id = $1":                  "SELECT orders",
		"UPDATE stock SET n = n - 1":                                 "UPDATE stock",
		"delete from carts":                                          "DELETE carts",
		"select 1":                                                   "SELECT",
		"COPY (select id, sku from orders where qty > 1) TO STDOUT":  "COPY (SELECT orders)",
		"copy public.orders (id, sku) from stdin":                    "COPY public.orders",
		"with low as (select sku from stock where n < 2) update stock set n = 10 from low where stock.sku = low.sku": "UPDATE stock",
		"WITH x AS (SELECT 1) SELECT * FROM \"Orders\"":                                                              "SELECT orders",
		"select * from (select sku from stock) s":                                                                    "SELECT stock",
		"select (select max(n) from stock), name from carts":                                                         "SELECT carts",
		"update only stock set n = 1":                                                                                "UPDATE stock",
		"truncate table carts, orders":                                                                               "TRUNCATE carts",
		"select `sku` from `stock`":                                                                                  "SELECT stock",
		"select 1; select 2 from t":                                                                                  "SELECT",
	} {
		if got := SQLShape(in); got != want {
			t.Errorf("SQLShape(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestNATSOpShape(t *testing.T) {
	for in, want := range map[string]string{
		"NATS PUB orders.created":                             "NATS PUB orders.created",
		"NATS MSG _INBOX.dLqo18KS9EvMfyOunpuOc4.LgJzcVI1":     "NATS MSG _INBOX.>",
		"NATS PUB orders.1042.paid":                           "NATS PUB orders.*.paid",
		"NATS SUB carts.3f2b1c4d-1111-4222-8333-444455556666": "NATS SUB carts.*",
	} {
		if got := OpShape(in); got != want {
			t.Errorf("OpShape(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestRoute(t *testing.T) {
	for in, want := range map[string]string{
		"/orders/1001?x=1":                          "/orders/{id}",
		"/a/3f2b1c4d-1111-4222-8333-444455556666/b": "/a/{id}/b",
		"/stock/C3": "/stock/C3",
		"/":         "/",
	} {
		if got := Route(in); got != want {
			t.Errorf("Route(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestCoverageOfSkippedRunIsZero: start-up traffic alone exercises
// nothing.
func TestCoverageOfSkippedRunIsZero(t *testing.T) {
	b := NewCoverageBuilder()
	b.Event(Event{Type: RunStart, Edges: []EdgeInfo{{"web→api", true}}})
	b.Event(Event{Type: Log, Service: "web→api", Stream: WireStream, Message: "GET /healthz → 200 OK (1.0 ms)"})
	b.Event(Event{Type: TestEnd, Test: "t", Status: Skipped})
	if c := b.Coverage(); c.Exercised != 0 || c.Percent != 0 || !strings.Contains(c.Summary(), "0 of 1 edges exercised (0%)") {
		t.Errorf("%+v %s", c, c.Summary())
	}
}
