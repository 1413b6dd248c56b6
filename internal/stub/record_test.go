package stub

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// recorderFor starts a recorder in front of upstream, its log kept.
func recorderFor(t *testing.T, upstream http.Handler) (*Recorder, *httptest.Server, *[]string) {
	t.Helper()
	real := httptest.NewServer(upstream)
	t.Cleanup(real.Close)
	rec, err := NewRecorder(real.URL)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var logs []string
	rec.Log = func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, msg)
	}
	proxy := httptest.NewServer(rec)
	t.Cleanup(proxy.Close)
	return rec, proxy, &logs
}

// playBack writes what rec recorded in format, loads it and serves it.
func playBack(t *testing.T, rec *Recorder, format string) *httptest.Server {
	t.Helper()
	out := t.TempDir()
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
	t.Cleanup(play.Close)
	return play
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

// A recording proxy passes bodies over what it keeps whole, both ways,
// and says it did not record them.
func TestRecorderPassesBodiesOverTheLimitWhole(t *testing.T) {
	const size = 16<<20 + 1000
	answer := pattern(size, 3)
	_, proxy, logs := recorderFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		w.Header().Set("X-Got", fmt.Sprintf("%d %x", n, h.Sum(nil)))
		w.Write(answer)
	}))
	upload := pattern(size, 1)
	resp, err := http.Post(proxy.URL+"/upload", "application/octet-stream", bytes.NewReader(upload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		proxy.Close()
		t.Fatal(err, *logs)
	}
	// Closing waits for the handlers: an exchange is recorded once its answer is out.
	proxy.Close()
	sum := sha256.Sum256(upload)
	if want := fmt.Sprintf("%d %s", size, hex.EncodeToString(sum[:])); resp.Header.Get("X-Got") != want {
		t.Errorf("the upstream got %s; want %s", resp.Header.Get("X-Got"), want)
	}
	if !bytes.Equal(got, answer) {
		t.Errorf("the client got %d bytes; want the %d sent", len(got), len(answer))
	}
	if len(*logs) != 1 || !strings.Contains((*logs)[0], "POST /upload: passed through whole, not recorded") {
		t.Errorf("log: %q", *logs)
	}
}

// The recorder keeps what the upstream's body is over its limit out of
// the mappings, while a small exchange next to it is recorded.
func TestRecorderRecordsNoCutBody(t *testing.T) {
	rec, proxy, logs := recorderFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(pattern(2000, 0))
			return
		}
		io.WriteString(w, "small")
	}))
	rec.keep = 1000
	_, big, _ := do(t, "GET", proxy.URL+"/big", "")
	do(t, "GET", proxy.URL+"/small", "")
	// Closing waits for the handlers: an exchange is recorded once its answer is out.
	proxy.Close()
	ms := rec.Mappings()
	if len(big) != 2000 || len(ms) != 1 || ms[0].Request.URL.Value != "/small" {
		t.Errorf("%d bytes passed; mappings %v", len(big), ms)
	}
	if len(*logs) != 1 || !strings.Contains((*logs)[0], "answer's body (2000 bytes) is over the 1000 bytes") {
		t.Errorf("log: %q", *logs)
	}
}

// Repeated requests with different answers become a scenario stepping
// through them, the last repeating; identical answers stay one mapping;
// Set-Cookie is kept.
func TestRecorderRecordsRepeatsAsScenarios(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	rec, proxy, _ := recorderFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1"})
			io.WriteString(w, "same")
			return
		}
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch {
		case n <= 2:
			io.WriteString(w, "pending")
		case n == 3:
			w.WriteHeader(202)
			io.WriteString(w, "almost")
		default:
			io.WriteString(w, "done")
		}
	}))
	var want []string
	for range 5 {
		_, b, _ := do(t, "GET", proxy.URL+"/job/1", "")
		want = append(want, b)
	}
	do(t, "GET", proxy.URL+"/same", "")
	do(t, "GET", proxy.URL+"/same", "")
	// Closing waits for the handlers: an exchange is recorded once its answer is out.
	proxy.Close()
	if n := len(rec.Mappings()); n != 5 { // pending, pending, almost, done; same
		t.Fatalf("%d mappings; want 5", n)
	}
	for _, format := range []string{"wiremock", "seam"} {
		play := playBack(t, rec, format)
		var got []string
		for range 6 {
			_, b, _ := do(t, "GET", play.URL+"/job/1", "")
			got = append(got, b)
		}
		if strings.Join(got, ",") != strings.Join(want, ",")+",done" {
			t.Errorf("%s: answers %q; want %q then done", format, got, want)
		}
		for range 2 {
			c, b, h := do(t, "GET", play.URL+"/same", "")
			if c != 200 || b != "same" || h.Get("Set-Cookie") != "session=s1" {
				t.Errorf("%s: /same: %d %q %v", format, c, b, h)
			}
		}
	}
}

// A body that is not text is recorded as bytes, and replays match the
// same bytes only.
func TestRecorderBinaryBodyPlaysBack(t *testing.T) {
	rec, proxy, _ := recorderFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %d", len(b))
	}))
	body := string([]byte{0xff, 0xfe, 0x00, 0x01, 'a', 0x80})
	do(t, "POST", proxy.URL+"/bin", body)
	// Closing waits for the handlers: an exchange is recorded once its answer is out.
	proxy.Close()
	for _, format := range []string{"wiremock", "seam"} {
		play := playBack(t, rec, format)
		if c, b, _ := do(t, "POST", play.URL+"/bin", body); c != 200 || b != "got 6" {
			t.Errorf("%s: the same bytes: %d %q", format, c, b)
		}
		if c, _, _ := do(t, "POST", play.URL+"/bin", string([]byte{0xff, 0xfe, 0x00, 0x01, 'b', 0x80})); c != 404 {
			t.Errorf("%s: other bytes: %d", format, c)
		}
	}
}

// Recorded WireMock files carry a fresh id (and uuid, the same): WireMock
// fails to load an empty one.
func TestRecordedWireMockFilesHaveIDs(t *testing.T) {
	rec, proxy, _ := recorderFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	}))
	do(t, "GET", proxy.URL+"/a", "")
	do(t, "GET", proxy.URL+"/b", "")
	// Closing waits for the handlers: an exchange is recorded once its answer is out.
	proxy.Close()
	files, err := WriteWireMock(t.TempDir(), rec.Mappings())
	if err != nil {
		t.Fatal(err)
	}
	isUUID := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var m struct{ ID, UUID string }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if !isUUID.MatchString(m.ID) || m.UUID != m.ID || seen[m.ID] {
			t.Errorf("%s: id %q uuid %q", filepath.Base(f), m.ID, m.UUID)
		}
		seen[m.ID] = true
	}
}

// The upstream sees the client's headers, not an Accept-Encoding Go's
// transport adds, and the client gets the upstream's bytes, not unzipped.
func TestRecorderPassesEncodingThrough(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	io.WriteString(zw, "hello")
	zw.Close()
	_, proxy, _ := recorderFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Accept-Encoding", strconv.Quote(r.Header.Get("Accept-Encoding")))
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(zipped.Bytes())
	}))
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(proxy.URL + "/z")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if ae := resp.Header.Get("X-Accept-Encoding"); ae != `""` {
		t.Errorf("the upstream got Accept-Encoding %s; the client sent none", ae)
	}
	if !bytes.Equal(got, zipped.Bytes()) || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("the client got %q (Content-Encoding %q); want the gzip bytes", got, resp.Header.Get("Content-Encoding"))
	}
}

// Answers keep the order the upstream gave them, not the order their
// exchanges finished: a client may send its next request before the
// recorder has recorded the last.
func TestRecorderOrdersAnswersAsTheUpstreamGaveThem(t *testing.T) {
	rec, err := NewRecorder("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	rec.record("GET", "/p", nil, 2, recordedAnswer{status: 200, body: []byte("second")})
	rec.record("GET", "/p", nil, 1, recordedAnswer{status: 200, body: []byte("first")})
	rec.record("GET", "/p", nil, 3, recordedAnswer{status: 200, body: []byte("second")})
	ms := rec.Mappings()
	if len(ms) != 2 || string(ms[0].Response.Body) != "first" || ms[0].RequiredState != ScenarioStarted ||
		string(ms[1].Response.Body) != "second" || ms[1].RequiredState != ms[0].NewState || ms[1].NewState != "" {
		for _, m := range ms {
			t.Logf("%s → %s: %q", m.RequiredState, m.NewState, m.Response.Body)
		}
		t.Error("want first, then second repeating")
	}
}

// A JSON request body keeps its numbers, booleans and nulls in seam's form
// (YAML), and strings that YAML would read as something else stay strings:
// the playback matches what was recorded.
func TestRecordedJSONBodyKeepsItsTypesInSeamsForm(t *testing.T) {
	rec, proxy, _ := recorderFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s", b)
	}))
	body := `{"qty": 3, "price": 2.50, "ok": true, "gone": null, "answer": "yes", "code": "007", "big": 12345678901234567890}`
	_, want, _ := do(t, "POST", proxy.URL+"/order", body, "Content-Type", "application/json")
	proxy.Close()
	for _, format := range []string{"wiremock", "seam"} {
		play := playBack(t, rec, format)
		if c, got, _ := do(t, "POST", play.URL+"/order", body, "Content-Type", "application/json"); c != 200 || got != want {
			t.Errorf("%s: %d %q; want the recorded %q", format, c, got, want)
		}
		if c, _, _ := do(t, "POST", play.URL+"/order", strings.Replace(body, "3", `"3"`, 1), "Content-Type", "application/json"); c != 404 {
			t.Errorf("%s: a string where a number was recorded matched (%d)", format, c)
		}
	}
}
