package stub

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/diag"
)

// both serves s on fasthttp (as seam stub does) and as an http.Handler.
func both(t *testing.T, s *Server) map[string]string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Serve(ln, s)
	t.Cleanup(func() { l.Close(t.Context()) })
	h := httptest.NewServer(s)
	t.Cleanup(h.Close)
	return map[string]string{"fasthttp": "http://" + ln.Addr().String(), "http.Handler": h.URL}
}

func withMappings(t *testing.T, opts Options, doc string) *Server {
	t.Helper()
	ms, err := ParseJSON("test.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := New(opts)
	s.Add(ms...)
	return s
}

func TestJournalListingIsWholeJSON(t *testing.T) {
	for name, base := range both(t, withMappings(t, Options{}, `{"request": {"urlPath": "/a"}, "response": {"body": "hi"}}`)) {
		t.Run(name, func(t *testing.T) {
			do(t, "GET", base+"/__admin/requests", "")
			do(t, "GET", base+"/a?x=1", "")
			code, body, _ := do(t, "GET", base+"/__admin/requests", "")
			var got struct {
				Requests []struct {
					ID      string `json:"id"`
					Request struct {
						URL         string `json:"url"`
						AbsoluteURL string `json:"absoluteUrl"`
					} `json:"request"`
				} `json:"requests"`
				Disabled *bool `json:"requestJournalDisabled"`
			}
			if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Requests) == 0 {
				t.Fatalf("GET /__admin/requests: %d %q", code, body)
			}
			r := got.Requests[0]
			if r.ID == "" || r.Request.URL != "/a?x=1" || !strings.HasPrefix(r.Request.AbsoluteURL, "http://127.0.0.1:") ||
				!strings.HasSuffix(r.Request.AbsoluteURL, "/a?x=1") || got.Disabled == nil || *got.Disabled {
				t.Errorf("journal entry: %+v, requestJournalDisabled %v", r, got.Disabled)
			}
		})
	}
}

func TestEncodingErrorIsAnswered500NotEmpty(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, 200, map[string]any{"bad": func() {}})
	var v map[string]any
	if w.Code != 500 || json.Unmarshal(w.Body.Bytes(), &v) != nil || !strings.Contains(w.Body.String(), "encoding the answer") {
		t.Fatalf("got %d %q", w.Code, w.Body.String())
	}
}

func TestJournalBoundedByBytesKeepsBodiesTruncated(t *testing.T) {
	s := withMappings(t, Options{JournalBytes: 64 << 10, JournalBody: 1000}, `{"request": {"method": "POST"}, "response": {"status": 201}}`)
	base := both(t, s)["fasthttp"]
	big := strings.Repeat("x", 100<<10)
	for i := 0; i < 100; i++ {
		if code, _, _ := do(t, "POST", base+"/up", big); code != 201 {
			t.Fatalf("status %d", code)
		}
	}
	es := s.Journal().Entries()
	held := int64(0)
	for _, e := range es {
		if len(e.Request.Body) != 1000 || e.Request.BodySize != len(big) {
			t.Fatalf("entry body %d bytes, size %d; want 1000 kept of %d", len(e.Request.Body), e.Request.BodySize, len(big))
		}
		held += entrySize(e.Request)
	}
	if held > 64<<10 || s.Journal().Dropped() == 0 || len(es) < 10 {
		t.Errorf("journal holds %d bytes in %d entries (%d dropped); want at most 64 KiB, some dropped", held, len(es), s.Journal().Dropped())
	}
	_, body, _ := do(t, "GET", base+"/__admin/requests?limit=1", "")
	if !strings.Contains(body, `"bodyTruncated": true`) || !strings.Contains(body, fmt.Sprintf(`"bodySize": %d`, len(big))) {
		t.Errorf("a truncated body is not noted: %.300s", body)
	}
	// The request itself was matched and templated whole: only the
	// journal's copy is cut.
}

func TestAdminRequestsLimitAndSince(t *testing.T) {
	s := withMappings(t, Options{}, `{"request": {"urlPath": "/a"}, "response": {}}`)
	base := both(t, s)["http.Handler"]
	for i := 0; i < 5; i++ {
		do(t, "GET", base+fmt.Sprintf("/a?i=%d", i), "")
	}
	mid := time.Now()
	time.Sleep(5 * time.Millisecond) // the journal's clock must move past mid
	do(t, "GET", base+"/a?i=5", "")
	count := func(q string) (int, string) {
		code, body, _ := do(t, "GET", base+"/__admin/requests"+q, "")
		var v struct {
			Requests []struct {
				Request struct{ URL string } `json:"request"`
			} `json:"requests"`
		}
		json.Unmarshal([]byte(body), &v)
		first := ""
		if len(v.Requests) > 0 {
			first = v.Requests[0].Request.URL
		}
		if code != 200 {
			return -code, body
		}
		return len(v.Requests), first
	}
	if n, first := count("?limit=2"); n != 2 || first != "/a?i=5" {
		t.Errorf("limit=2: %d requests, newest %q", n, first)
	}
	if n, _ := count("?since=" + mid.UTC().Format(time.RFC3339Nano)); n != 1 {
		t.Errorf("since: %d requests, want 1", n)
	}
	if n, _ := count("?limit=x"); n != -400 {
		t.Errorf("limit=x: %d, want a 400", n)
	}
}

func TestBodyOverTheLimitIs413(t *testing.T) {
	s := withMappings(t, Options{MaxBody: 256 << 10}, `{"request": {"method": "POST"}, "response": {}}`)
	huge := bytes.Repeat([]byte("y"), 4<<20) // over the limit, and more than socket buffers hold
	for name, base := range both(t, s) {
		resp, err := http.Post(base+"/x", "text/plain", bytes.NewReader(huge))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status %d, want 413", name, resp.StatusCode)
		}
	}
	// A gzip bomb is as large as what it holds.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(huge)
	zw.Close()
	for name, base := range both(t, s) {
		req, _ := http.NewRequest("POST", base+"/x", bytes.NewReader(zb.Bytes()))
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: gzip bomb: status %d, want 413", name, resp.StatusCode)
		}
	}
}

func TestTemplateHeadersIgnoreCaseAndUnknownHelpersFail(t *testing.T) {
	s := withMappings(t, Options{}, `{"mappings": [
	 {"request": {"urlPath": "/h"}, "response": {"body": "{{request.headers.X-Request-ID}}", "transformers": ["response-template"]}},
	 {"request": {"urlPath": "/u"}, "response": {"body": "{{nosuch 1}}", "transformers": ["response-template"]}}]}`)
	for name, base := range both(t, s) {
		if _, body, _ := do(t, "GET", base+"/h", "", "x-request-id", "abc"); body != "abc" {
			t.Errorf("%s: header lookup: %q", name, body)
		}
		if code, body, _ := do(t, "GET", base+"/u", ""); code != 500 || !strings.Contains(body, "could not find helper: 'nosuch'") {
			t.Errorf("%s: unknown helper: %d %q", name, code, body)
		}
	}
}

func TestLoadServesTheRestAndNamesTheBadMapping(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "mappings"), 0o755)
	os.WriteFile(filepath.Join(dir, "mappings", "good.json"), []byte(`{"request": {"urlPath": "/ok"}, "response": {}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "mappings", "mixed.json"), []byte(`{"mappings": [
  {"request": {"urlPath": "/fine"}, "response": {}},
  {"request": {"urlPath": "/bad", "headers": {"X": {"sortOf": "1"}}}, "response": {}}]}`), 0o644)
	src, err := Load(dir)
	var l *diag.List
	if !errors.As(err, &l) || l.Len() != 1 || !strings.Contains(err.Error(), "mixed.json:3:53:") {
		t.Fatalf("got %v", err)
	}
	if src == nil || len(src.Mappings) != 2 {
		t.Fatalf("want the 2 good mappings loaded, got %+v", src)
	}
}
