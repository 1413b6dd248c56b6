package stub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/diag"
)

// serve starts a server with the mappings of a WireMock JSON document.
func serve(t *testing.T, doc string, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	ms, err := ParseJSON("test.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := New(opts)
	s.Add(ms...)
	s.SetBaseline()
	// Served as seam serves stubs (fasthttp); the http.Handler side is
	// covered by the differential test.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Serve(ln, s)
	t.Cleanup(func() { l.Close(context.Background()) })
	return s, &httptest.Server{URL: "http://" + ln.Addr().String()}
}

func do(t *testing.T, method, url, body string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestParseErrorsNameFileLineAndColumn(t *testing.T) {
	cases := []struct{ doc, want string }{
		{`{"request": {"url": "/a"}, "response": {"status": 200},}`, "f.json:1:56: not valid JSON"},
		{"{\"request\": {\"url\": \"/a\",\n  \"headers\": {\"X\": {\"before\": \"now\", \"expectedOffsetUnit\": \"weeks\"}}},\n \"response\": {}}",
			`f.json:2:31: request.headers.X.before: expectedOffsetUnit "weeks": want seconds, minutes, hours, days, months or years`},
		{"{\"request\": {\"url\": \"/a\",\n  \"customMatcher\": {\"name\": \"x\"}},\n \"response\": {}}",
			`f.json:2:3: request: "customMatcher" is a WireMock feature seam's stub does not support`},
		{`{"request": {"method": "GET", "bodyPatterns": [{"matches": "(", "contains": "x"}]}, "response": {}}`,
			`f.json:1:65: request.bodyPatterns[0]: both "matches" and "contains" in one matcher`},
		{`{"request": {"urlPath": "/a"}, "response": {"status": "ok"}}`, `f.json:1:55: response.status: want a whole number, got "ok"`},
		{`{"request": {"urlPath": "/a"}}`, `f.json:1:1: mapping: missing "response"`},
		{`{"request": {"urlPath": "/a", "queryParameters": {"q": {"equalTo": "x", "ignoreArrayOrder": true}}}, "response": {}}`,
			`f.json:1:73: request.queryParameters.q: "ignoreArrayOrder" does not apply to "equalTo"`},
		{`{"request": {"urlPathTemplate": "/u/{id}", "pathParameters": {"name": {"equalTo": "x"}}}, "response": {}}`,
			`f.json:1:44: request.pathParameters: "name" is not a parameter of /u/{id}`},
		{`{"request": {"urlPath": "/a"}, "response": {"status": 200, "transformers": ["response-template"], "body": "{{#if}}"}}`,
			"f.json:1:44: response body template"},
		{`{"mappings": [{"request": {"urlPath": "/a"}, "response": {"fault": "BOOM"}}]}`, `f.json:1:68: response.fault: unknown fault "BOOM"`},
		{`{"request": {"urlPath": "/a", "methd": "GET"}, "response": {}}`, `f.json:1:31: request: unknown key "methd" (did you mean "method"?)`},
	}
	for _, c := range cases {
		_, err := ParseJSON("f.json", []byte(c.doc))
		var l *diag.List
		if errors.As(err, &l) && l.Len() != 1 {
			t.Errorf("%s: want one problem, got %v", c.doc, err)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n got: %v\nwant: %s", c.doc, err, c.want)
		}
	}
}

func TestChoosesByPriorityThenMostRecent(t *testing.T) {
	_, ts := serve(t, `{"mappings": [
		{"request": {"method": "GET", "urlPath": "/a"}, "response": {"body": "old"}},
		{"request": {"method": "GET", "urlPath": "/a"}, "response": {"body": "new"}},
		{"request": {"method": "ANY", "urlPathPattern": "/a.*"}, "priority": 1, "response": {"body": "pattern, priority 1"}},
		{"request": {"method": "GET", "urlPath": "/b"}, "response": {"body": "b exact"}},
		{"request": {"urlPathPattern": "/b"}, "response": {"body": "b pattern, newer"}},
		{"request": {"method": "GET", "urlPathTemplate": "/users/{id}"}, "priority": 9, "response": {"body": "template"}},
		{"request": {"method": "GET", "url": "/users/7?full=1"}, "response": {"body": "exact url"}}
	]}`, Options{})
	for path, want := range map[string]string{
		"/a": "pattern, priority 1", "/b": "b pattern, newer", "/users/3": "template",
		"/users/7?full=1": "exact url", "/users/7?full=2": "template",
	} {
		if _, body, _ := do(t, "GET", ts.URL+path, ""); body != want {
			t.Errorf("GET %s: got %q; want %q", path, body, want)
		}
	}
}

func TestMatchers(t *testing.T) {
	_, ts := serve(t, `{"mappings": [
		{"request": {"method": "POST", "urlPath": "/m",
			"queryParameters": {"q": {"matches": "[0-9]+"}, "debug": {"absent": true}},
			"headers": {"Content-Type": {"contains": "json"}, "X-Env": {"equalTo": "TEST", "caseInsensitive": true}},
			"cookies": {"session": {"or": [{"equalTo": "a"}, {"equalTo": "b"}]}},
			"bodyPatterns": [
				{"equalToJson": {"items": [1, 2], "name": "x"}, "ignoreArrayOrder": true, "ignoreExtraElements": true},
				{"matchesJsonPath": "$.items[?(@ > 1)]"},
				{"matchesJsonPath": {"expression": "$.name", "doesNotMatch": "y.*"}}
			]},
		 "response": {"status": 201}}
	]}`, Options{})
	ok := func(query, body string, header ...string) int {
		code, _, _ := do(t, "POST", ts.URL+"/m"+query, body, header...)
		return code
	}
	good := []string{"Content-Type", "application/json", "X-Env", "test", "Cookie", "session=b"}
	body := `{"items": [2, 1, 3], "name": "x", "extra": true}`
	if c := ok("?q=12", body, good...); c != 201 {
		t.Fatalf("a request that matches every part: %d", c)
	}
	bad := []struct {
		name, query, body string
		header            []string
	}{
		{"query does not match", "?q=1a", body, good},
		{"absent query present", "?q=1&debug=1", body, good},
		{"header case-sensitive value", "?q=1", body, []string{"Content-Type", "text/plain", "X-Env", "test", "Cookie", "session=b"}},
		{"cookie not in or", "?q=1", body, []string{"Content-Type", "application/json", "X-Env", "test", "Cookie", "session=c"}},
		{"json differs", "?q=1", `{"items": [1, 2], "name": "z"}`, good},
		{"array item missing", "?q=1", `{"items": [1], "name": "x"}`, good},
		{"json path filter finds nothing", "?q=1", `{"items": [1, 0, 2], "name": "x", "more": [1]}`, nil},
	}
	for _, b := range bad {
		if c := ok(b.query, b.body, b.header...); c != 404 {
			t.Errorf("%s: got %d; want 404", b.name, c)
		}
	}
}

func TestNotFoundShowsTheClosestMappingAndWhatDiffered(t *testing.T) {
	_, ts := serve(t, `{"mappings": [
		{"name": "charge", "request": {"method": "POST", "urlPath": "/charges", "headers": {"Authorization": {"matches": "Bearer .+"}}}, "response": {"status": 201}},
		{"name": "far away", "request": {"method": "DELETE", "urlPath": "/elsewhere"}, "response": {"status": 204}}
	]}`, Options{})
	code, body, _ := do(t, "POST", ts.URL+"/charges", "{}")
	if code != 404 {
		t.Fatalf("status %d", code)
	}
	first := strings.Index(body, "closest: charge")
	if first < 0 || !strings.Contains(body, `header Authorization: want matches "Bearer .+", got (absent)`) ||
		strings.Index(body, "far away") < first {
		t.Errorf("near misses:\n%s", body)
	}
}

func TestScenarioMovesOnceUnderConcurrentRequests(t *testing.T) {
	s, ts := serve(t, `{"mappings": [
		{"scenarioName": "s", "requiredScenarioState": "Started", "newScenarioState": "taken",
		 "request": {"method": "POST", "urlPath": "/take"}, "response": {"body": "first"}},
		{"scenarioName": "s", "requiredScenarioState": "taken",
		 "request": {"method": "POST", "urlPath": "/take"}, "response": {"body": "later"}}
	]}`, Options{})
	const n = 40
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, bodies[i], _ = do(t, "POST", ts.URL+"/take", "")
		}()
	}
	wg.Wait()
	firsts := 0
	for _, b := range bodies {
		if b == "first" {
			firsts++
		}
	}
	if firsts != 1 {
		t.Errorf("%d requests got the first state's answer; want exactly 1", firsts)
	}
	if st := s.Scenarios()["s"]; st != "taken" {
		t.Errorf("state %q", st)
	}
	s.Reset()
	if _, b, _ := do(t, "POST", ts.URL+"/take", ""); b != "first" {
		t.Errorf("after a reset: %q", b)
	}
}

func TestJournalIsBoundedAndSaysItOverflowed(t *testing.T) {
	s, ts := serve(t, `{"request": {"urlPathPattern": "/j/.*"}, "response": {"status": 200}}`, Options{JournalCap: 5})
	start := time.Now()
	for i := range 8 {
		do(t, "GET", fmt.Sprintf("%s/j/%d", ts.URL, i), "")
	}
	j := s.Journal()
	es := j.Since(start)
	if len(es) != 5 || es[0].Request.Path != "/j/3" || es[4].Request.Path != "/j/7" {
		var paths []string
		for _, e := range es {
			paths = append(paths, e.Request.Path)
		}
		t.Errorf("kept %v; want /j/3 … /j/7", paths)
	}
	if j.Dropped() != 3 {
		t.Errorf("dropped %d; want 3", j.Dropped())
	}
	p := &Pattern{URL: URLMatch{Kind: "urlPath", Value: "/j/6"}}
	if n := len(j.Find(p, start)); n != 1 {
		t.Errorf("found %d", n)
	}
}

func TestResponses(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello {{request.query.name}}"), 0o644)
	_, ts := serve(t, `{"mappings": [
		{"request": {"urlPath": "/json"}, "response": {"status": 202, "headers": {"X-A": ["1", "2"]}, "jsonBody": {"b": 2, "a": [1]}}},
		{"request": {"urlPath": "/b64"}, "response": {"base64Body": "AAEC"}},
		{"request": {"urlPath": "/file"}, "response": {"bodyFileName": "hello.txt", "transformers": ["response-template"]}},
		{"request": {"urlPathTemplate": "/t/{id}"}, "response": {"transformers": ["response-template"],
			"headers": {"X-Id": "{{request.path.id}}"},
			"body": "{{request.method}} {{request.pathSegments.[0]}} {{request.path.id}} {{jsonPath request.body '$.a'}} {{randomValue length=6 type='NUMERIC'}}"}},
		{"request": {"urlPath": "/slow"}, "response": {"fixedDelayMilliseconds": 60, "body": "late"}}
	]}`, Options{FilesDir: dir, Seed: 1})
	code, body, h := do(t, "GET", ts.URL+"/json", "")
	if code != 202 || body != `{"b":2,"a":[1]}` || strings.Join(h.Values("X-A"), ",") != "1,2" {
		t.Errorf("json: %d %q %v", code, body, h)
	}
	if _, body, _ := do(t, "GET", ts.URL+"/b64", ""); body != "\x00\x01\x02" {
		t.Errorf("base64: %q", body)
	}
	if _, body, _ := do(t, "GET", ts.URL+"/file?name=ada", ""); body != "hello ada" {
		t.Errorf("file: %q", body)
	}
	_, body, h = do(t, "POST", ts.URL+"/t/42", `{"a": "x"}`)
	if !strings.HasPrefix(body, "POST t 42 x ") || len(body) != len("POST t 42 x ")+6 || h.Get("X-Id") != "42" {
		t.Errorf("template: %q %v", body, h)
	}
	start := time.Now()
	if _, body, _ := do(t, "GET", ts.URL+"/slow", ""); body != "late" || time.Since(start) < 60*time.Millisecond {
		t.Errorf("delay: %q after %s", body, time.Since(start))
	}
}

func TestFaultsBreakTheConnection(t *testing.T) {
	_, ts := serve(t, `{"mappings": [
		{"request": {"urlPath": "/EMPTY_RESPONSE"}, "response": {"fault": "EMPTY_RESPONSE"}},
		{"request": {"urlPath": "/CONNECTION_RESET_BY_PEER"}, "response": {"fault": "CONNECTION_RESET_BY_PEER"}},
		{"request": {"urlPath": "/RANDOM_DATA_THEN_CLOSE"}, "response": {"fault": "RANDOM_DATA_THEN_CLOSE"}},
		{"request": {"urlPath": "/MALFORMED_RESPONSE_CHUNK"}, "response": {"fault": "MALFORMED_RESPONSE_CHUNK"}}
	]}`, Options{})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, f := range Faults {
		resp, err := client.Get(ts.URL + "/" + f)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Errorf("%s: the client saw no error", f)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	_, ts := serve(t, `{"request": {"urlPath": "/base"}, "response": {"body": "base"}}`, Options{})
	code, body, _ := do(t, "POST", ts.URL+"/__admin/mappings", `{"request": {"method": "GET", "urlPath": "/new"}, "response": {"status": 418}}`)
	var created map[string]any
	json.Unmarshal([]byte(body), &created)
	id, _ := created["id"].(string)
	if code != 201 || id == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	if c, _, _ := do(t, "GET", ts.URL+"/new", ""); c != 418 {
		t.Errorf("the new mapping answers %d", c)
	}
	if c, b, _ := do(t, "GET", ts.URL+"/__admin/mappings/"+id, ""); c != 200 || !strings.Contains(b, `"urlPath": "/new"`) {
		t.Errorf("get: %d %s", c, b)
	}
	_, b, _ := do(t, "POST", ts.URL+"/__admin/requests/count", `{"method": "GET", "urlPath": "/new"}`)
	if !strings.Contains(b, `"count": 1`) {
		t.Errorf("count: %s", b)
	}
	do(t, "GET", ts.URL+"/nowhere", "")
	if _, b, _ := do(t, "GET", ts.URL+"/__admin/requests/unmatched", ""); !strings.Contains(b, `"url": "/nowhere"`) {
		t.Errorf("unmatched: %s", b)
	}
	if c, b, _ := do(t, "POST", ts.URL+"/__admin/mappings", `{"request": {"urlPath": "/x", "bogus": 1}, "response": {}}`); c != 422 || !strings.Contains(b, `unknown key \"bogus\"`) {
		t.Errorf("bad mapping: %d %s", c, b)
	}
	do(t, "POST", ts.URL+"/__admin/reset", "")
	if c, _, _ := do(t, "GET", ts.URL+"/new", ""); c != 404 {
		t.Errorf("after reset the added mapping answers %d", c)
	}
	if c, b, _ := do(t, "GET", ts.URL+"/base", ""); c != 200 || b != "base" {
		t.Errorf("after reset the loaded mapping answers %d %q", c, b)
	}
}

func TestRecordThenPlayBack(t *testing.T) {
	real := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Real", "yes")
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"path": %q, "got": %q}`, r.URL.Path, b)
	}))
	defer real.Close()
	rec, err := NewRecorder(real.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(rec)
	defer proxy.Close()
	_, want1, _ := do(t, "POST", proxy.URL+"/orders?x=1", `{"sku": "A1"}`)
	_, want2, _ := do(t, "GET", proxy.URL+"/orders/1", "")
	do(t, "GET", proxy.URL+"/orders/1", "") // the same request again: one mapping
	// Closing waits for the handlers: an exchange is recorded once its answer is out.
	proxy.Close()
	if n := len(rec.Mappings()); n != 2 {
		t.Fatalf("%d mappings recorded; want 2", n)
	}
	for _, format := range []string{"wiremock", "seam"} {
		out := t.TempDir()
		os.WriteFile(filepath.Join(out, "mine.txt"), []byte("keep"), 0o644)
		var err error
		if format == "wiremock" {
			_, err = WriteWireMock(out, rec.Mappings())
		} else {
			_, err = WriteRoutes(out, rec.Mappings())
		}
		if err != nil {
			t.Fatal(err)
		}
		src, err := Load(out)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		s := New(Options{})
		s.Add(src.Mappings...)
		play := httptest.NewServer(s)
		c1, got1, h := do(t, "POST", play.URL+"/orders?x=1", `{"sku":"A1"}`)
		_, got2, _ := do(t, "GET", play.URL+"/orders/1", "")
		c3, _, _ := do(t, "POST", play.URL+"/orders?x=1", `{"sku": "B2"}`)
		play.Close()
		if c1 != 201 || got1 != want1 || got2 != want2 || h.Get("X-Real") != "yes" || c3 != 404 {
			t.Errorf("%s playback: %d %q %q %v; other body %d", format, c1, got1, got2, h, c3)
		}
		if b, _ := os.ReadFile(filepath.Join(out, "mine.txt")); string(b) != "keep" {
			t.Errorf("%s: the user's file changed", format)
		}
	}
}

func TestLoadReportsEveryFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "mappings"), 0o755)
	os.WriteFile(filepath.Join(dir, "mappings", "a.json"), []byte(`{"request": {}, "response": {"statuss": 1}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "mappings", "b.json"), []byte(`{`), 0o644)
	_, err := Load(dir)
	var l *diag.List
	if !errors.As(err, &l) || l.Len() != 2 {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"a.json:1:30: response: unknown key \"statuss\"", "b.json:1:1: not valid JSON"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}

func TestHeaderValuesReadsTheRawBlockLikeTheFullParser(t *testing.T) {
	for _, raw := range []string{
		"Host: x\r\nX-Api-Key:  k1 \r\nx-api-key: k2\r\nAccept: */*\r\n",
		"Host: x\r\nX-Long: a\r\n  b\r\nX-Api-Key: k1\r\nX-API-KEY:k2\r\n", // a folded line: the full parser
	} {
		r := &Request{rawHeader: []byte(raw)}
		full := (&Request{rawHeader: []byte(raw)}).Header()
		for _, name := range []string{"X-Api-Key", "x-api-key", "Accept", "X-Long", "Missing"} {
			got, has := r.headerValues(name)
			want, wantHas := full[http.CanonicalHeaderKey(name)]
			if has != wantHas || strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%q in %q: %q %v, want %q %v", name, raw, got, has, want, wantHas)
			}
		}
	}
	if vs, _ := (&Request{rawHeader: []byte("X-Api-Key:  k1 \r\nx-api-key: k2\r\n")}).headerValues("X-API-Key"); strings.Join(vs, "|") != "k1|k2" {
		t.Errorf("values %q, want k1 and k2, trimmed, in order", vs)
	}
}
