// The example shop's checks written in Go, as a model for Go users: one
// environment shared by the package's tests (started in TestMain), a test
// that needs a clean inventory gets its own, and the suite file's own tests
// run as subtests too.
package shop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/seamtest/seam"
	"github.com/seamtest/seam/examples/shop/pricing/pricingpb"
)

var shared *seam.Env

func TestMain(m *testing.M) {
	env, err := seam.Up(context.Background(), ".") // ./seam.yaml
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = env
	code := m.Run()
	env.Close()
	os.Exit(code)
}

// call sends a JSON request and decodes the JSON reply.
func call(t *testing.T, method, url string, in any) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		json.NewEncoder(&body).Encode(in)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: the reply is not JSON: %v", method, url, err)
	}
	return resp.StatusCode, out
}

func TestOrderReservesStock(t *testing.T) {
	env := shared.Attach(t)
	_, before := call(t, "GET", env.URL("inventory")+"/stock/C3", nil)
	status, order := call(t, "POST", env.URL("orders")+"/orders", map[string]any{"sku": "C3", "qty": 2})
	if status != 201 || order["status"] != "confirmed" {
		t.Fatalf("POST /orders: %d %v", status, order)
	}
	status, stored := call(t, "GET", fmt.Sprintf("%s/orders/%v", env.URL("orders"), order["id"]), nil)
	if status != 200 || stored["sku"] != "C3" || stored["qty"] != 2.0 {
		t.Errorf("GET /orders/%v: %d %v", order["id"], status, stored)
	}
	_, after := call(t, "GET", env.URL("inventory")+"/stock/C3", nil)
	if after["available"].(float64) != before["available"].(float64)-2 {
		t.Errorf("stock went from %v to %v, want down by 2", before["available"], after["available"])
	}
}

func TestOutOfStockIsRefused(t *testing.T) {
	env := shared.Attach(t)
	status, body := call(t, "POST", env.URL("orders")+"/orders", map[string]any{"sku": "B2", "qty": 1})
	if status != 409 || body["error"] != "out of stock" {
		t.Errorf("POST /orders for B2: %d %v, want 409 out of stock", status, body)
	}
}

// TestOrderIsChargedOnce checks an interaction with a third party: the
// payment provider is a stub, and the test verifies what it was sent.
func TestOrderIsChargedOnce(t *testing.T) {
	env := shared.Attach(t)
	if status, body := call(t, "POST", env.URL("orders")+"/orders", map[string]any{"sku": "C3", "qty": 2}); status != 201 {
		t.Fatalf("POST /orders: %d %v", status, body)
	}
	env.Stub("payments").Verify(seam.Match{
		Method:  "POST",
		Path:    "/charges",
		Headers: map[string]string{"Content-Type": "application/json"},
		JSON:    map[string]any{"amount": 500, "currency": "EUR"},
	}, 1)
	// The same call as the wire saw it on the edge orders → payments.
	env.VerifyInteractions(seam.Edge{From: "orders", To: "payments", Method: "POST", Path: "/charges", Status: 201}, 1)
	reserve := env.Interactions(seam.Edge{From: "orders", To: "inventory", Path: "/reserve"})
	charge := env.Interactions(seam.Edge{From: "orders", To: "payments"})
	if len(reserve) != 1 || len(charge) != 1 || charge[0].Start.Before(reserve[0].End) {
		t.Errorf("want one reservation, then one charge; got %+v then %+v", reserve, charge)
	}
}

// TestOrderIsPricedOverGRPC calls the pricing service with its generated
// gRPC client, then checks that an order carries pricing's quote and that
// the wire saw one Quote on the edge orders → pricing.
func TestOrderIsPricedOverGRPC(t *testing.T) {
	env := shared.Attach(t)
	conn, err := grpc.NewClient(env.Addr("pricing"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q, err := pricingpb.NewPricingClient(conn).Quote(t.Context(), &pricingpb.QuoteRequest{Sku: "C3", Qty: 3})
	if err != nil || q.GetUnitCents() != 250 || q.GetTotalCents() != 750 {
		t.Fatalf("Quote C3 x3: %v, %v; want 250 and 750 cents", q, err)
	}
	status, order := call(t, "POST", env.URL("orders")+"/orders", map[string]any{"sku": "C3", "qty": 3})
	if status != 201 || order["unit_cents"] != 250.0 || order["total_cents"] != 750.0 {
		t.Errorf("POST /orders: %d %v; want 201 with unit_cents 250, total_cents 750", status, order)
	}
	env.VerifyInteractions(seam.Edge{From: "orders", To: "pricing", GRPC: "/shop.pricing.v1.Pricing/Quote", Code: "OK"}, 1)
}

// TestDeclinedPaymentStoresNothing makes the provider decline, for this
// test only, with a mapping added from Go.
func TestDeclinedPaymentStoresNothing(t *testing.T) {
	env := shared.Attach(t)
	env.Stub("payments").Add(`{
		"priority": 1,
		"request": {"method": "POST", "urlPath": "/charges"},
		"response": {"status": 402, "jsonBody": {"reason": "card expired"}}
	}`)
	status, body := call(t, "POST", env.URL("orders")+"/orders", map[string]any{"sku": "A1", "qty": 1})
	if status != 402 || body["error"] != "payment declined" {
		t.Errorf("POST /orders with a declining provider: %d %v, want 402 payment declined", status, body)
	}
}

func TestBadOrderNeverReachesInventory(t *testing.T) {
	env := seam.Start(t, ".") // its own environment: a known, untouched inventory
	status, _ := call(t, "POST", env.URL("orders")+"/orders", map[string]any{"sku": "A1", "qty": 0})
	if status != 400 {
		t.Errorf("POST /orders with qty 0: %d, want 400", status)
	}
	if _, stock := call(t, "GET", env.URL("inventory")+"/stock/A1", nil); stock["available"] != 10.0 {
		t.Errorf("A1 stock = %v, want 10", stock["available"])
	}
}

// TestSuite runs the tests of seam.yaml as subtests.
func TestSuite(t *testing.T) {
	seam.Run(t, ".")
}

// TestEveryTestStartsFromTheBaseline: orders placed by other tests on the
// shared environment are gone, because Attach resets the data.
func TestEveryTestStartsFromTheBaseline(t *testing.T) {
	for i := 0; i < 2; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			env := shared.Attach(t)
			status, order := call(t, "POST", env.URL("orders")+"/orders", map[string]any{"sku": "C3", "qty": 1})
			if status != 201 || order["id"] != 1001.0 {
				t.Errorf("POST /orders: %d %v; want 201 with id 1001, the first id after the baseline", status, order)
			}
		})
	}
}

// TestOrderInTheBrowser places an order on the shop's web page in a real
// browser, sees the confirmation, and checks the page's call to orders.
func TestOrderInTheBrowser(t *testing.T) {
	env := shared.Attach(t)
	page := env.Browser()
	page.Open("orders", "/")
	page.Select("#sku", "C3")
	page.Fill("#qty", "2")
	page.Check("#terms")
	page.Click(`role=button[name="Place order"]`)
	page.ExpectText("#confirmation", "confirmed: 2 × C3")
	if errs := page.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	env.VerifyInteractions(seam.Edge{From: "browser", To: "orders", Method: "POST", Path: "/orders", Status: 201}, 1)
}
