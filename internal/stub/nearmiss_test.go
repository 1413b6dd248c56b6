package stub

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A request to /v1/charges with the wrong body is nearest the /v1/charges
// mapping, not the /v1/refunds one that differs only in its URL: WireMock
// weighs the URL heavily.
func TestNearMissWithTheRightURLBeatsOneWithAnotherURL(t *testing.T) {
	s, ts := serve(t, `{"mappings": [
		{"name": "charge", "request": {"method": "POST", "url": "/v1/charges",
		 "bodyPatterns": [{"equalToJson": {"currency": "usd"}, "ignoreExtraElements": true}]}, "response": {"status": 201}},
		{"name": "refund", "request": {"method": "POST", "url": "/v1/refunds"}, "response": {"status": 201}}
	]}`, Options{})
	code, body, _ := do(t, "POST", ts.URL+"/v1/charges", `{"amount": 2000, "currency": "eur"}`)
	if code != 404 {
		t.Fatalf("status %d", code)
	}
	if !strings.HasPrefix(strings.SplitN(body, "\n", 3)[2], "closest: charge") {
		t.Errorf("the charge mapping should come first:\n%s", body)
	}
	err := s.Unmatched(time.Time{})
	if err == nil || !strings.Contains(err.Error(), "closest mapping: charge") {
		t.Errorf("Unmatched: %v", err)
	}
}

// A mapping that differs only in its scenario's state is the closest, and
// says so.
func TestNearMissOnlyInScenarioStateIsTheClosest(t *testing.T) {
	s, ts := serve(t, `{"mappings": [
		{"name": "pay out", "scenarioName": "payout", "requiredScenarioState": "Started", "newScenarioState": "sent",
		 "request": {"method": "POST", "url": "/v1/payouts"}, "response": {"status": 201}},
		{"name": "pending", "scenarioName": "payout", "requiredScenarioState": "Started",
		 "request": {"method": "GET", "url": "/v1/payouts/po_1"}, "response": {"status": 200}},
		{"name": "payment", "request": {"method": "GET", "url": "/v1/payments/pm_1"}, "response": {"status": 200}}
	]}`, Options{})
	if code, _, _ := do(t, "POST", ts.URL+"/v1/payouts", ""); code != 201 {
		t.Fatalf("status %d", code)
	}
	code, body, _ := do(t, "GET", ts.URL+"/v1/payouts/po_1", "")
	if code != 404 {
		t.Fatalf("status %d", code)
	}
	want := "closest: pending\n  - scenario payout: want state \"Started\", is \"sent\"\n"
	if !strings.HasPrefix(strings.SplitN(body, "\n", 3)[2], want) {
		t.Errorf("the scenario's mapping should come first:\n%s", body)
	}
	if err := s.Unmatched(time.Time{}); err == nil || !strings.Contains(err.Error(), "closest mapping: pending") {
		t.Errorf("Unmatched: %v", err)
	}
}

// Verification's closest requests rank the same way: a request with the
// right URL and a wrong header before one to another URL.
func TestClosestRequestsRankTheURLFirst(t *testing.T) {
	s, ts := serve(t, `{"request": {"urlPath": "/unused"}, "response": {}}`, Options{})
	do(t, "POST", ts.URL+"/v1/refunds", `{}`, "X-Key", "k1")
	do(t, "POST", ts.URL+"/v1/charges", `{}`, "X-Key", "other")
	p := &Pattern{Method: "POST", URL: URLMatch{Kind: "urlPath", Value: "/v1/charges"},
		Headers: []Named{{Name: "X-Key", M: equalTo{want: "k1"}}}}
	got := s.Journal().Closest(p, time.Time{}, 3)
	if len(got) != 2 || got[0].Entry.Request.Path != "/v1/charges" {
		t.Errorf("closest: %+v", got)
	}
}

// The distances are WireMock's, as measured on its jar (3.13.2): the URL
// and method alone when either differs, over 39; the other parts over 46.
func TestNearMissDistancesAreWireMocks(t *testing.T) {
	req := func(method, url, body string, header ...string) *Request {
		r, _ := http.NewRequest(method, "http://x"+url, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return NewRequest(r, []byte(body))
	}
	eq := func(s string) Matcher { return equalTo{want: s} }
	ab := URLMatch{Kind: "url", Value: "/a/b"}
	cases := []struct {
		name string
		p    Pattern
		r    *Request
		want float64
	}{
		{"url", Pattern{Method: "GET", URL: ab, Body: []Matcher{eq("hello")}}, req("GET", "/a/c", "x"), 2.5 / 39},
		{"url and method", Pattern{Method: "POST", URL: ab}, req("GET", "/a/c", ""), 5.5 / 39},
		{"method", Pattern{Method: "GET", URL: ab, Body: []Matcher{eq("hello")}}, req("POST", "/a/b", "x"), 3.0 / 39},
		{"body", Pattern{Method: "GET", URL: ab, Body: []Matcher{eq("hello")}}, req("GET", "/a/b", "helo"), 0.2 / 46},
		{"contains", Pattern{Method: "GET", URL: ab, Body: []Matcher{contains{want: "hello"}}}, req("GET", "/a/b", "helo"), 1.0 / 46},
		{"headers", Pattern{Method: "GET", URL: ab, Headers: []Named{{Name: "X", M: eq("y")}, {Name: "Z", M: eq("y")}}},
			req("GET", "/a/b", "", "X", "yy"), 0.75 / 46},
	}
	for _, c := range cases {
		if got := distance(&c.p, c.r); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: distance %v; want %v", c.name, got, c.want)
		}
	}
}

// A near miss shows a long body cut, with a marker, not whole.
func TestNearMissCutsLongBodies(t *testing.T) {
	want := strings.Repeat("w", 3000)
	_, ts := serve(t, `{"request": {"method": "POST", "url": "/big", "bodyPatterns": [{"equalTo": "`+want+`"}]}, "response": {}}`, Options{})
	_, body, _ := do(t, "POST", ts.URL+"/big", strings.Repeat("g", 3000))
	if len(body) > 1000 || !strings.Contains(body, "…[") || strings.Contains(body, strings.Repeat("w", 300)) ||
		strings.Contains(body, strings.Repeat("g", 300)) {
		t.Errorf("near miss (%d bytes):\n%s", len(body), body)
	}
}
