package stub_test

// The differential test: the same mappings and requests against WireMock
// itself (its standalone jar, from the npm package `wiremock`, installed by
// scripts/wiremock.sh) and against seam's stub, comparing what a client
// sees. Cases live in testdata/differential/*.yaml.

import (
	"bytes"
	"context"
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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/freeport"
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
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/__admin/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("WireMock exited before it was ready:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("WireMock was not ready within 60 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answer is what a client saw.
type answer struct {
	status  int
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
	req, err := http.NewRequest(method, base+r.URL, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
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
	return answer{status: resp.StatusCode, header: resp.Header, body: b, err: err, elapsed: time.Since(start)}
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

func TestWireMockDifferential(t *testing.T) {
	jar := wiremockJar(t)
	files, _ := filepath.Glob("testdata/differential/*.yaml")
	var cases []diffCase
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
		}
		cases = append(cases, cs...)
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases; the differential test needs at least 40", len(cases))
	}
	root := t.TempDir()
	filesDir := filepath.Join(root, "__files")
	os.MkdirAll(filepath.Join(root, "mappings"), 0o755)
	os.MkdirAll(filesDir, 0o755)
	wm := startWireMock(t, jar, root)
	// seam's stub as it serves (fasthttp), and as an http.Handler.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fast := stub.Serve(ln, stub.New(stub.Options{FilesDir: filesDir}))
	defer fast.Close(context.Background())
	handler := httptest.NewServer(stub.New(stub.Options{FilesDir: filesDir}))
	defer handler.Close()
	sides := []struct{ name, base string }{{"wiremock", wm}, {"seam", "http://" + ln.Addr().String()}, {"seam http.Handler", handler.URL}}

	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			for name, content := range c.Files {
				if err := os.WriteFile(filepath.Join(filesDir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range sides {
				post(t, s.base+"/__admin/reset", nil)
				post(t, s.base+"/__admin/mappings/import", map[string]any{"mappings": c.Mappings})
			}
			headers := headerNames(c.Mappings)
			matched := 0
			defer func() {
				if matched == 0 && !t.Failed() {
					t.Errorf("no request of this case matched a mapping on either side: it tests nothing")
				}
			}()
			for i, r := range c.Requests {
				wa := send(wm, r)
				for _, side := range sides[1:] {
					sa := send(side.base, r)
					where := fmt.Sprintf("%s: request %d (%s %s)", side.name, i, r.Method, r.URL)
					switch {
					case r.Compare == "fault":
						matched++
						if fw, fs := faultClass(wa), faultClass(sa); fw != fs {
							t.Errorf("%s: fault: wiremock %s (%v), seam %s (%v)", where, fw, wa.err, fs, sa.err)
						}
						continue
					case wa.err != nil || sa.err != nil:
						t.Errorf("%s: wiremock error %v, seam error %v", where, wa.err, sa.err)
						continue
					}
					if wa.status != sa.status {
						t.Errorf("%s: status: wiremock %d, seam %d\n  wiremock body: %s\n  seam body: %s", where, wa.status, sa.status, wa.body, sa.body)
						continue
					}
					if r.MinMillis > 0 {
						min := time.Duration(r.MinMillis) * time.Millisecond
						if wa.elapsed < min || sa.elapsed < min {
							t.Errorf("%s: want both to take at least %s: wiremock %s, seam %s", where, min, wa.elapsed, sa.elapsed)
						}
					}
					if wa.status != 404 || r.Field != "" {
						matched++
					}
					if r.Compare == "status" || wa.status == 404 {
						continue // an unmatched request's body differs by design
					}
					if r.Field != "" {
						fw, fs := normalize(field(wa.body, r.Field)), normalize(field(sa.body, r.Field))
						if fmt.Sprint(fw) != fmt.Sprint(fs) {
							t.Errorf("%s: %s: wiremock %v, seam %v", where, r.Field, fw, fs)
						}
						continue
					}
					if r.Compare != "" {
						re := regexp.MustCompile("^(?:" + r.Compare + ")$")
						if !re.Match(wa.body) || !re.Match(sa.body) {
							t.Errorf("%s: body must match %s: wiremock %q, seam %q", where, r.Compare, wa.body, sa.body)
						}
						continue
					}
					for _, h := range headers {
						if w, s := strings.Join(wa.header.Values(h), ","), strings.Join(sa.header.Values(h), ","); w != s {
							t.Errorf("%s: header %s: wiremock %q, seam %q", where, h, w, s)
						}
					}
					if w, s := jsonish(wa.body), jsonish(sa.body); fmt.Sprintf("%#v", w) != fmt.Sprintf("%#v", s) {
						t.Errorf("%s: body: wiremock %q, seam %q", where, wa.body, sa.body)
					}
				}
			}
		})
	}
}
