package main_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/seamtest/seam/examples/shop/pricing/pricingpb"
	"github.com/seamtest/seam/internal/freeport"
)

// TestStubFailuresNameTheInteraction runs a suite whose stub is sent a
// request no mapping matches and whose verification fails: each failure
// names the request, the closest mapping and what differed.
func TestStubFailuresNameTheInteraction(t *testing.T) {
	env, state := isolated(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "stubs", "mappings"), 0o755)
	os.WriteFile(filepath.Join(dir, "stubs", "mappings", "charge.json"), []byte(`{
  "name": "charge",
  "request": {"method": "POST", "urlPath": "/charges", "headers": {"Authorization": {"matches": "Bearer .+"}}},
  "response": {"status": 201, "jsonBody": {"id": "ch_1"}}
}`), 0o644)
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: stubs
services:
  payments:
    stub: {mappings: stubs/}
tests:
  - name: charged once
    steps:
      - http: {service: payments, method: POST, path: /charges, headers: {Authorization: Bearer k}, json: {amount: 5}}
        expect: {status: 201, body: {.id: ch_1}}
      - stub-verify: {service: payments, method: POST, path: /charges, body: {equalToJson: {amount: 5}}, count: 1}
  - name: verification fails
    steps:
      - http: {service: payments, method: POST, path: /charges, headers: {Authorization: Bearer k}, json: {amount: 7}}
      - stub-verify: {service: payments, path: /charges, body: {equalToJson: {amount: 5}}}
  - name: unmatched request fails
    steps:
      - http: {service: payments, method: POST, path: /charges, json: {amount: 5}}
        expect: {status: 404}
`), 0o644)
	r := seamEnv(t, env, "run", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "1 passed, 2 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"PASS charged once",
		`step "stub-verify": stub payments: 0 request(s) matched ANY /charges; want at least 1`,
		"closest: POST /charges",
		`- body: want equalToJson {"amount":5}, got "{\"amount\":7}"`,
		"1 request(s) matched no stub mapping",
		"closest mapping: charge",
		`- header Authorization: want matches "Bearer .+", got (absent)`,
		"payments | POST /charges → 404 no mapping matched",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertClean(t, state)
}

// TestStubCommandServesAndStops runs `seam stub DIR` as a user would,
// drives it through the admin API, and stops it with SIGTERM.
func TestStubCommandServesAndStops(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.json"), []byte(`{"request": {"method": "GET", "url": "/hello"}, "response": {"body": "hi"}}`), 0o644)
	port := freePort(t)
	cmd := exec.Command(seamBin, "stub", "--port", fmt.Sprint(port), dir)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=3")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base, &errb)
	if body := get(t, base+"/hello"); body != "hi" {
		t.Errorf("GET /hello: %q", body)
	}
	resp, err := http.Post(base+"/__admin/mappings", "application/json",
		strings.NewReader(`{"request": {"method": "GET", "url": "/added"}, "response": {"body": "added"}}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("adding a mapping: %v %v", err, resp)
	}
	if body := get(t, base+"/added"); body != "added" {
		t.Errorf("GET /added: %q", body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("seam stub exited with %v\n%s", err, errb.String())
	}
	// It says how many cores it runs on, and GOMAXPROCS decides.
	if want := fmt.Sprintf("3 of %d cores, GOMAXPROCS sets it", runtime.NumCPU()); !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errb.String())
	}
	if _, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		t.Error("the port still answers after seam stub stopped")
	}
}

// TestStubRecordWritesMappingsThatPlayBack records a real service's
// answers with `seam stub record` and serves them back with `seam stub`.
func TestStubRecordWritesMappingsThatPlayBack(t *testing.T) {
	real := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path": %q}`, r.URL.Path)
	}))
	defer real.Close()
	out := filepath.Join(t.TempDir(), "recorded")
	port := freePort(t)
	cmd := exec.Command(seamBin, "stub", "record", "--target", real.URL, "--out", out, "--port", fmt.Sprint(port))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the recorder never listened:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := get(t, base+"/items/1")
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil || !strings.Contains(errb.String(), "1 mappings written") {
		t.Fatalf("record: %v\n%s", err, errb.String())
	}
	port2 := freePort(t)
	play := exec.Command(seamBin, "stub", "--port", fmt.Sprint(port2), out)
	var perr bytes.Buffer
	play.Stderr = &perr
	if err := play.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { play.Process.Kill(); play.Wait() }()
	base2 := fmt.Sprintf("http://127.0.0.1:%d", port2)
	waitHealthy(t, base2, &perr)
	if got := get(t, base2+"/items/1"); got != want {
		t.Errorf("played back %q; recorded %q", got, want)
	}
}

func TestStubCommandRejectsBadMappings(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{\"request\": {\"method\": \"GET\"},\n \"response\": {\"status\": 200, \"fault\": \"NOPE\"}}"), 0o644)
	r := seam(t, "stub", dir)
	if r.code != 2 || !strings.Contains(r.stderr, `bad.json:2:39: response.fault: unknown fault "NOPE"`) ||
		!strings.Contains(r.stderr, "nothing was started") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
}

// freePort is a port seam's own allocator claims for the test: one the
// kernel hands to another process's :0 listener between now and the
// command's bind would make the test talk to that process.
func freePort(t *testing.T) int {
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return port
}

func waitHealthy(t *testing.T, base string, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/__admin/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered /__admin/health:\n%s", base, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestStubCommandServesAWireMockFolder serves a team's WireMock folder
// (testdata/stubs/shop-wiremock): Jayway JSONPath functions, templates with
// WireMock's helpers, raw encoded paths, XPath, a gzip-sending client, and
// one mapping seam cannot serve, which is named while the rest are served.
func TestStubCommandServesAWireMockFolder(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(seamBin, "stub", "--port", fmt.Sprint(port), "../../testdata/stubs/shop-wiremock")
	var errb lockedBuffer // written by the command's copier while read here
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base, &errb)
	for _, want := range []string{`login.json:5:5: request: "formParameters" is a WireMock feature`, "serving the other 5"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	// The client compresses its bodies.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"things": ["tea", "cup"]}`))
	zw.Close()
	req, _ := http.NewRequest("POST", base+"/orders", &zb)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("x-request-id", "r-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Status != "201 Order Taken" || string(body) != `{"count": 2, "first": "TEA", "total": 2.50 }` || resp.Header.Get("X-Request-Id") != "r-42" {
		t.Errorf("POST /orders: %s %q %v", resp.Status, body, resp.Header)
	}
	preq, _ := http.NewRequest("GET", base+"/projects/group%2Fproject", nil)
	preq.URL.Opaque = "/projects/group%2Fproject"
	if resp, err := http.DefaultClient.Do(preq); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /projects/group%%2Fproject: %v %v", err, resp)
	}
	if got := get(t, base+"/projects/group/project"); !strings.Contains(got, "no mapping matched") {
		t.Errorf("GET /projects/group/project matched: %q", got)
	}
	resp, err = http.Post(base+"/invoices", "application/xml", strings.NewReader("<invoice><total>9.50</total></invoice>"))
	if err != nil || resp.StatusCode != 202 {
		t.Errorf("POST /invoices: %v %v", err, resp)
	}
	// The shop posts a form with the order's date (dd/MM/yyyy): date
	// matchers pick the mapping, the answer uses formData, assign, dates,
	// regexExtract's variable, stringFormat, numberFormat and formatJson.
	quote := func(date string) (int, string) {
		req, _ := http.NewRequest("POST", base+"/shipping/quote", strings.NewReader("country=Deutschland%20Nord&ref=SHOP-0042"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Order-Date", date)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, got := quote(time.Now().Format("02/01/2006")); code != 200 ||
		got != "{\n  \"to\" : \"Deutschland Nord\",\n  \"eta\" : \""+time.Date(time.Now().Year(), time.Now().Month()+1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")+
			"\",\n  \"series\" : \"SHOP\",\n  \"number\" : \"0042\",\n  \"fee\" : \"1.234,50\u00a0€\"\n}" {
		t.Errorf("POST /shipping/quote today: %d %q", code, got)
	}
	if code, got := quote("01/01/1970"); code != 422 {
		t.Errorf("POST /shipping/quote for 1970: %d %q", code, got)
	}
	var list struct {
		Requests []any `json:"requests"`
		Meta     struct {
			Total int `json:"total"`
		} `json:"meta"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"/__admin/requests?limit=2")), &list); err != nil || len(list.Requests) != 2 || list.Meta.Total != 6 {
		t.Errorf("GET /__admin/requests?limit=2: %v %d of %d", err, len(list.Requests), list.Meta.Total)
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pricingServer prices every SKU at 250 cents, and has no price for X9.
type pricingServer struct {
	pricingpb.UnimplementedPricingServer
}

func (pricingServer) Quote(_ context.Context, req *pricingpb.QuoteRequest) (*pricingpb.QuoteReply, error) {
	if req.GetSku() == "X9" {
		return nil, status.Error(codes.FailedPrecondition, "price list has no entry for X9")
	}
	return &pricingpb.QuoteReply{UnitCents: 250, TotalCents: 250 * int64(req.GetQty()), Currency: "EUR"}, nil
}

// TestStubRecordRecordsGRPCCalls records the example's pricing service (a
// grpc-go server from its generated code) through `seam stub record
// --proto`, and plays the folder back with `seam stub`: the same answers,
// the same failure, from mappings whose messages are JSON.
func TestStubRecordRecordsGRPCCalls(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pricingpb.RegisterPricingServer(srv, pricingServer{})
	go srv.Serve(ln)
	defer srv.Stop()
	out := filepath.Join(t.TempDir(), "recorded")
	port := freePort(t)
	cmd := exec.Command(seamBin, "stub", "record", "--target", "http://"+ln.Addr().String(), "--out", out,
		"--port", fmt.Sprint(port), "--proto", "../../examples/shop/pricing/pricing.proto")
	var errb lockedBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr, &errb)
	calls := func(addr string) []string {
		cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := pricingpb.NewPricingClient(cc)
		var got []string
		for _, q := range []*pricingpb.QuoteRequest{{Sku: "A1", Qty: 2}, {Sku: "X9", Qty: 1}} {
			r, err := c.Quote(ctx, q)
			got = append(got, fmt.Sprintf("%v %v", protojson.Format(r), status.Convert(err)))
		}
		return got
	}
	want := calls(addr)
	if !strings.Contains(want[0], "500") || !strings.Contains(want[1], "FailedPrecondition") {
		t.Fatalf("through the recorder: %q", want)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil || !strings.Contains(errb.String(), "2 mappings written") ||
		!strings.Contains(errb.String(), "descriptors written to "+filepath.Join(out, "grpc", "services.dsc")) {
		t.Fatalf("record: %v\n%s", err, errb.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "mappings", "001-post-shop-pricing-v1-pricing-quote.json"))
	if err != nil || !strings.Contains(string(b), `"sku": "A1"`) || !strings.Contains(string(b), `totalCents`) {
		t.Errorf("the recorded mapping does not show the messages as JSON: %v\n%s", err, b)
	}
	port2 := freePort(t)
	play := exec.Command(seamBin, "stub", "--port", fmt.Sprint(port2), out)
	var perr lockedBuffer
	play.Stderr = &perr
	if err := play.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { play.Process.Kill(); play.Wait() }()
	waitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d", port2), &perr)
	if got := calls(fmt.Sprintf("127.0.0.1:%d", port2)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("played back:\n%s\nrecorded:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func waitListening(t *testing.T, addr string, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listened on %s:\n%s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
