package stub_test

// The differential test: the same mappings and requests against WireMock
// itself and against seam's stub, comparing what a client sees. Cases live
// in testdata/differential/*.yaml; WireMock's answers to them are recorded
// from its standalone jar (from the npm package `wiremock`, installed by
// scripts/wiremock.sh) into testdata/differential/recorded.json, and every
// `go test` replays them against seam. Record again after changing cases:
//
//	SEAM_WIREMOCK_RECORD=1 go test -run TestWireMockDifferential ./internal/stub

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/peertest"
	"github.com/seamtest/seam/internal/stub"
	"go.yaml.in/yaml/v4"
)

type diffCase struct {
	Name     string            `yaml:"name"`
	Mappings []any             `yaml:"mappings"`
	Files    map[string]string `yaml:"files"`
	Requests []diffRequest     `yaml:"requests"`
}

type diffRequest struct {
	Method  string            `yaml:"method"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	JSON    any               `yaml:"json"`
	// What to compare: "" (status, the mappings' headers, Content-Type,
	// body), "status", "fault" (the class of client error), or a regular
	// expression both bodies must match (random values).
	Compare string `yaml:"compare"`
	// MinMillis: both must take at least this long.
	MinMillis int `yaml:"min_ms"`
	// Field: the request is to the admin API and this JSON field of the
	// answer is compared ("count", "requests.length", "scenarios").
	Field string `yaml:"field"`
	// Gzip sends the body gzip-compressed with Content-Encoding: gzip.
	Gzip bool `yaml:"gzip"`
	// Reason compares the status line's reason phrase too.
	Reason bool `yaml:"reason"`
}

// wiremockJar finds the jar and java, or says how to get them.
func wiremockJar(t *testing.T) string {
	jar := os.Getenv("SEAM_WIREMOCK_JAR")
	if jar == "" {
		cache := os.Getenv("SEAM_PEERS_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "seam-peers")
		}
		jar = filepath.Join(cache, "wiremock", "node_modules", "wiremock", "build", "wiremock-standalone-3.13.2.jar")
	}
	_, jerr := os.Stat(jar)
	_, xerr := exec.LookPath("java")
	if jerr == nil && xerr == nil {
		return jar
	}
	msg := fmt.Sprintf("WireMock's jar (%s) or java is missing; install them with: bash scripts/wiremock.sh", jar)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI installs them: a skip must not hide a missing dependency)")
	}
	t.Skip(msg)
	return ""
}

// startWireMock runs the jar on a free loopback port and stops it, by its
// process group, when the test ends.
func startWireMock(t *testing.T, jar, root string) string {
	// Java takes a second to listen: a port from the kernel's :0 could be
	// handed to another process meanwhile.
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	cmd := exec.Command("java", "-XX:TieredStopAtLevel=1", "-jar", jar, "--port", fmt.Sprint(port),
		"--bind-address", "127.0.0.1", "--root-dir", root, "--disable-banner", "--disable-request-logging")
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	peertest.Start(t, "WireMock", cmd, base+"/__admin/health", 60*time.Second)
	return base
}

// answer is what a client saw.
type answer struct {
	status  int
	reason  string
	header  http.Header
	body    []byte
	err     error
	elapsed time.Duration
}

func send(base string, r diffRequest) answer {
	body := r.Body
	if r.JSON != nil {
		b, _ := json.Marshal(r.JSON)
		body = string(b)
	}
	method := r.Method
	if method == "" {
		method = "GET"
	}
	if r.Gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(body))
		zw.Close()
		body = zb.String()
	}
	req, err := http.NewRequest(method, base+r.URL, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	// The URL as written, not re-escaped by net/url: cases about %2F.
	req.URL.Opaque = strings.SplitN(r.URL, "?", 2)[0]
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	if r.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	// A fresh connection per request, no retries: faults show as errors.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, elapsed: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	return answer{status: resp.StatusCode, reason: reason, header: resp.Header, body: b, err: err, elapsed: time.Since(start)}
}

// faultClass names how a request failed, as a client sees it.
func faultClass(a answer) string {
	switch {
	case a.err == nil:
		return fmt.Sprintf("no error (status %d)", a.status)
	case errors.Is(a.err, syscall.ECONNRESET) || strings.Contains(a.err.Error(), "connection reset"):
		return "reset"
	case errors.Is(a.err, io.EOF) || errors.Is(a.err, io.ErrUnexpectedEOF) || strings.Contains(a.err.Error(), "EOF"):
		return "closed"
	default:
		return "malformed"
	}
}

func post(t *testing.T, url string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, msg)
	}
}

// headerNames lists the response headers the case's mappings set.
func headerNames(ms []any) []string {
	names := map[string]bool{"Content-Type": true}
	for _, m := range ms {
		resp, _ := m.(map[string]any)["response"].(map[string]any)
		h, _ := resp["headers"].(map[string]any)
		for k := range h {
			names[http.CanonicalHeaderKey(k)] = true
		}
	}
	var out []string
	for k := range names {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonish parses a body as JSON for comparing, or keeps it as text.
func jsonish(b []byte) any {
	var v any
	if json.Unmarshal(b, &v) == nil {
		return v
	}
	return string(b)
}

// field picks a dotted field of an admin answer; "x.length" counts a list.
func field(b []byte, path string) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "not JSON: " + string(b)
	}
	for _, p := range strings.Split(path, ".") {
		if p == "length" {
			l, _ := v.([]any)
			return len(l)
		}
		if l, ok := v.([]any); ok {
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(l) {
				return nil
			}
			v = l[i]
			continue
		}
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// normalize keeps what both servers should agree on in an admin answer:
// for scenarios, names and states.
func normalize(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	var out []string
	for _, x := range list {
		if m, ok := x.(map[string]any); ok && m["name"] != nil {
			out = append(out, fmt.Sprintf("%v=%v", m["name"], m["state"]))
		}
	}
	if out == nil {
		return v
	}
	sort.Strings(out)
	return out
}

// recorded is WireMock's answer to one request of a case, as kept in
// recorded.json.
type recorded struct {
	Status  int               `json:"status,omitempty"`
	Reason  string            `json:"reason,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Fault   string            `json:"fault,omitempty"`
	Error   string            `json:"error,omitempty"`
	Millis  int64             `json:"ms,omitempty"`
}

// recordedCase is WireMock's answers to one case: how it took the
// mappings (the import's status) and each request.
type recordedCase struct {
	Hash    string     `json:"hash"` // of the case as recorded: a changed case must be recorded again
	Import  int        `json:"import"`
	Answers []recorded `json:"answers"`
}

const recordedFile = "testdata/differential/recorded.json"

// caseHash fingerprints what a case sends: its files, mappings and
// requests.
func caseHash(c diffCase) string {
	b, _ := json.Marshal([]any{c.Files, c.Mappings, c.Requests})
	return fmt.Sprintf("%x", sha256.Sum256(b))[:16]
}

func loadCases(t *testing.T) []diffCase {
	files, _ := filepath.Glob("testdata/differential/*.yaml")
	var cases []diffCase
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cs []diffCase
		if err := yaml.Unmarshal(data, &cs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i := range cs {
			cs[i].Name = filepath.Base(f) + ": " + cs[i].Name
			if seen[cs[i].Name] {
				t.Fatalf("two cases named %q", cs[i].Name)
			}
			seen[cs[i].Name] = true
		}
		cases = append(cases, cs...)
	}
	return cases
}

// importMappings resets a server and imports a case's mappings; it
// returns the import's status.
func importMappings(t *testing.T, base string, ms []any) int {
	t.Helper()
	post(t, base+"/__admin/reset", nil)
	b, _ := json.Marshal(map[string]any{"mappings": ms})
	resp, err := http.Post(base+"/__admin/mappings/import", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// record turns a live answer into what is kept of it.
func record(a answer, r diffRequest, headers []string) recorded {
	rec := recorded{Millis: a.elapsed.Milliseconds()}
	if r.Compare == "fault" {
		rec.Fault = faultClass(a)
		return rec
	}
	if a.err != nil {
		rec.Error = a.err.Error()
		return rec
	}
	rec.Status, rec.Reason = a.status, a.reason
	switch {
	case r.Field != "":
		b, _ := json.Marshal(normalize(field(a.body, r.Field)))
		rec.Body = string(b)
	case r.Compare == "status" || a.status == 404:
	case r.Compare != "":
		rec.Body = string(a.body)
	default:
		rec.Body = string(a.body)
		rec.Headers = map[string]string{}
		for _, h := range headers {
			if v := strings.Join(a.header.Values(h), ","); v != "" {
				rec.Headers[h] = v
			}
		}
	}
	return rec
}

// agree compares seam's answer with WireMock's recorded one; "" when they
// agree, else what differs.
func agree(w recorded, s answer, r diffRequest, headers []string, fastSide bool) string {
	if r.Compare == "fault" {
		if fs := faultClass(s); fs != w.Fault {
			return fmt.Sprintf("fault: wiremock %s, seam %s (%v)", w.Fault, fs, s.err)
		}
		return ""
	}
	if w.Error != "" || s.err != nil {
		return fmt.Sprintf("wiremock error %q, seam error %v", w.Error, s.err)
	}
	if w.Status != s.status {
		return fmt.Sprintf("status: wiremock %d, seam %d\n  wiremock body: %s\n  seam body: %s", w.Status, s.status, w.Body, s.body)
	}
	if r.Reason && fastSide && w.Reason != s.reason {
		return fmt.Sprintf("reason phrase: wiremock %q, seam %q", w.Reason, s.reason)
	}
	if r.MinMillis > 0 {
		min := time.Duration(r.MinMillis) * time.Millisecond
		if time.Duration(w.Millis)*time.Millisecond < min || s.elapsed < min {
			return fmt.Sprintf("want both to take at least %s: wiremock %dms, seam %s", min, w.Millis, s.elapsed)
		}
	}
	got := record(s, r, headers)
	switch {
	case r.Field != "":
		if w.Body != got.Body {
			return fmt.Sprintf("%s: wiremock %s, seam %s", r.Field, w.Body, got.Body)
		}
	case r.Compare == "status" || w.Status == 404:
	case r.Compare != "":
		re := regexp.MustCompile("^(?:" + r.Compare + ")$")
		if !re.MatchString(w.Body) || !re.Match(s.body) {
			return fmt.Sprintf("body must match %s: wiremock %q, seam %q", r.Compare, w.Body, s.body)
		}
	default:
		for _, h := range headers {
			if w.Headers[h] != got.Headers[h] {
				return fmt.Sprintf("header %s: wiremock %q, seam %q", h, w.Headers[h], got.Headers[h])
			}
		}
		if fmt.Sprintf("%#v", jsonish([]byte(w.Body))) != fmt.Sprintf("%#v", jsonish(s.body)) {
			return fmt.Sprintf("body: wiremock %q, seam %q", w.Body, s.body)
		}
	}
	return ""
}

func TestWireMockDifferential(t *testing.T) {
	cases := loadCases(t)
	if len(cases) < 150 {
		t.Fatalf("only %d cases; the differential corpus needs at least 150", len(cases))
	}
	root := t.TempDir()
	filesDir := filepath.Join(root, "__files")
	os.MkdirAll(filepath.Join(root, "mappings"), 0o755)
	os.MkdirAll(filesDir, 0o755)

	rec := map[string]recordedCase{}
	recording := os.Getenv("SEAM_WIREMOCK_RECORD") != ""
	var wm string
	if recording {
		wm = startWireMock(t, wiremockJar(t), root)
	} else {
		data, err := os.ReadFile(recordedFile)
		if err != nil {
			t.Fatalf("%v: record WireMock's answers with: SEAM_WIREMOCK_RECORD=1 go test -run TestWireMockDifferential ./internal/stub", err)
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatalf("%s: %v", recordedFile, err)
		}
	}
	// seam's stub as it serves (fasthttp), and as an http.Handler.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fast := stub.Serve(ln, stub.New(stub.Options{FilesDir: filesDir}))
	defer fast.Close(context.Background())
	handler := httptest.NewServer(stub.New(stub.Options{FilesDir: filesDir}))
	defer handler.Close()
	sides := []struct {
		name, base string
		fast       bool
	}{{"seam", "http://" + ln.Addr().String(), true}, {"seam http.Handler", handler.URL, false}}

	total, agreed := 0, 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			for name, content := range c.Files {
				if err := os.WriteFile(filepath.Join(filesDir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			headers := headerNames(c.Mappings)
			if recording {
				rc := recordedCase{Hash: caseHash(c), Import: importMappings(t, wm, c.Mappings)}
				for _, r := range c.Requests {
					rc.Answers = append(rc.Answers, record(send(wm, r), r, headers))
				}
				rec[c.Name] = rc
			}
			rc, ok := rec[c.Name]
			if !ok || len(rc.Answers) != len(c.Requests) || rc.Hash != caseHash(c) {
				t.Fatalf("no recording of this case as it is from WireMock: record with SEAM_WIREMOCK_RECORD=1 go test -run TestWireMockDifferential ./internal/stub")
			}
			matched := 0
			for _, side := range sides {
				total++
				imp := importMappings(t, side.base, c.Mappings)
				if (imp < 300) != (rc.Import < 300) {
					t.Errorf("%s: importing the mappings: wiremock %d, seam %d", side.name, rc.Import, imp)
					continue
				}
				if rc.Import >= 300 {
					agreed++
					matched++
					continue // both refused the mappings: the case is about that
				}
				bad := false
				for i, r := range c.Requests {
					w := rc.Answers[i]
					if w.Fault != "" || (w.Status != 404 && w.Status != 0) || r.Field != "" {
						matched++
					}
					if d := agree(w, send(side.base, r), r, headers, side.fast); d != "" {
						t.Errorf("%s: request %d (%s %s): %s", side.name, i, r.Method, r.URL, d)
						bad = true
					}
				}
				if !bad {
					agreed++
				}
			}
			if matched == 0 && !t.Failed() {
				t.Errorf("no request of this case matched a mapping: it tests nothing")
			}
		})
	}
	if recording {
		b, _ := json.MarshalIndent(rec, "", " ")
		if err := os.WriteFile(recordedFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pct := 100 * float64(agreed) / float64(max(total, 1))
	fmt.Printf("WireMock differential: %d cases, seam agrees with WireMock 3.13.2 on %d of %d case runs (%.1f%%)\n", len(cases), agreed, total, pct)
}
