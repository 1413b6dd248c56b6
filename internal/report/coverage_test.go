package report

import (
	"strings"
	"testing"
)

func TestCoverageFromEvents(t *testing.T) {
	b := NewCoverageBuilder()
	for _, e := range []Event{
		{Type: RunStart, Edges: []EdgeInfo{{"web→api", true}, {"api→db", true}, {"api→cache", true}, {"api→mail", false}}},
		{Type: Log, Service: "web→api", Stream: WireStream, Message: "GET /users/42?full=1 → 200 OK (1.0 ms)"},
		{Type: Log, Service: "web→api", Stream: WireStream, Message: "GET /users/7 → 404 Not Found (1.0 ms)"},
		{Type: Log, Service: "web→api", Stream: WireStream, Message: "POST /users → 500 Internal Server Error (2.0 ms) ⚠"},
		{Type: Log, Service: "web→api", Stream: WireStream, Message: "fault → latency 1s (0 µs)"},
		{Type: Log, Service: "api→db", Stream: WireStream, Message: "connection → open (0 µs) (protocol not decoded)"},
		{Type: Log, Service: "api→db", Stream: WireStream, Message: "connection → closed (3s) 1.0 kB sent, 2.0 kB received"},
		{Type: Log, Service: "api", Stream: "stderr", Message: "GET /users → ignored: not the wire"},
	} {
		b.Event(e)
	}
	c := b.Coverage()
	if c.Exercised != 2 || c.Total != 3 || int(c.Percent) != 66 {
		t.Errorf("coverage %+v", c)
	}
	text := c.Text()
	for _, want := range []string{
		"integration coverage: 2 of 3 edges exercised (67%)",
		"web→api    GET /users/{id} ×2, POST /users ×1",
		"api→db     1 connection(s), protocol not decoded",
		"api→cache  NOT EXERCISED",
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
	} {
		if got := SQLShape(in); got != want {
			t.Errorf("SQLShape(%q) = %q; want %q", in, got, want)
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
