package stub

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// corpusMappings are the mappings of the differential corpus, each as a
// WireMock JSON document: seeds for the fuzz targets.
func corpusMappings(f *testing.F) []string {
	files, _ := filepath.Glob("testdata/differential/*.yaml")
	var out []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var cases []struct {
			Mappings []any `yaml:"mappings"`
		}
		if err := yaml.Unmarshal(data, &cases); err != nil {
			f.Fatal(err)
		}
		for _, c := range cases {
			b, err := json.Marshal(map[string]any{"mappings": c.Mappings})
			if err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}

// FuzzParseJSON: any text either parses or is refused with a positioned
// error; never a panic, and what parses can be written back as WireMock's
// JSON and parsed again.
func FuzzParseJSON(f *testing.F) {
	for _, m := range corpusMappings(f) {
		f.Add(m)
	}
	f.Add(`{"request": {"url": "/a"}, "response": {"status": 200}}`)
	f.Add(`{"mappings": [{"request": {}, "response": {"body": "{{#each (jsonPath request.body '$.a')}}{{this}}{{/each}}", "transformers": ["response-template"]}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		ms, err := ParseJSON("f.json", []byte(doc))
		if err != nil && !strings.HasPrefix(err.Error(), "f.json") {
			t.Fatalf("error without the file: %v", err)
		}
		for _, m := range ms {
			b, err := json.Marshal(m.WireMock())
			if err != nil {
				t.Fatalf("mapping does not encode: %v", err)
			}
			if _, err := ParseJSON("again.json", b); err != nil && !m.Response.Template {
				t.Fatalf("written back, it does not parse: %v\n%s", err, b)
			}
		}
	})
}

// FuzzServe: a raw HTTP request against the corpus's templated and
// matcher-heavy mappings never panics the stub, and the journal listing
// stays whole JSON.
func FuzzServe(f *testing.F) {
	s := New(Options{JournalCap: 50, Seed: 1})
	for _, doc := range corpusMappings(f) {
		if ms, err := ParseJSON("seed.json", []byte(doc)); err == nil {
			s.Add(ms...)
		}
	}
	f.Add("GET /h?n=14 HTTP/1.1\r\nHost: x\r\nX-Request-ID: 1\r\n\r\n")
	f.Add("POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"items\":[1]}")
	f.Add("POST /gz HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc")
	f.Add("POST /up HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 10\r\n\r\n--XX\r\n\r\nx")
	f.Add("GET /group%2Fproject HTTP/1.1\r\nHost: x\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		req.RequestURI = ""
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		lw := httptest.NewRecorder()
		s.ServeHTTP(lw, httptest.NewRequest("GET", "/__admin/requests?limit=5", nil))
		var v map[string]any
		if lw.Code != 200 || json.Unmarshal(bytes.TrimSpace(lw.Body.Bytes()), &v) != nil {
			t.Fatalf("journal listing: %d %q", lw.Code, lw.Body.String())
		}
	})
}
