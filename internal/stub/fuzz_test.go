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
	"time"

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

// FuzzTemplate: any template either is refused when it parses or renders
// (to text or an error answer) over any request body, never panicking
// through raymond (which render turns into an "internal error").
func FuzzTemplate(f *testing.F) {
	for _, doc := range corpusMappings(f) {
		var m struct {
			Mappings []struct {
				Response struct {
					Body string `json:"body"`
				} `json:"response"`
			} `json:"mappings"`
		}
		if json.Unmarshal([]byte(doc), &m) == nil {
			for _, mm := range m.Mappings {
				if strings.Contains(mm.Response.Body, "{{") {
					f.Add(mm.Response.Body, "ab-12 AB cd-34 EF")
				}
			}
		}
	}
	f.Add("{{#assign 'x'}}{{regexExtract request.body '(.)(.)' 'p'}}{{p.1}}{{/assign}}{{x}}", "abcd")
	f.Add("{{numberFormat 1.5 'currency' 'de_DE' maximumFractionDigits=9}}", "")
	f.Fuzz(func(t *testing.T, src, body string) {
		tp, err := parseTemplate(src)
		if err != nil {
			return
		}
		ctx := map[string]any{"request": map[string]any{"body": body, "method": "POST", "headers": map[string]any{}}}
		if _, err := tp.render(ctx, newLockedRand(1)); err != nil && strings.Contains(err.Error(), "internal error in a helper") {
			t.Fatalf("%q: %v", src, err)
		}
	})
}

// FuzzDates: offsets, dates and formats never panic; a date printed
// without a format reads back as the same instant.
func FuzzDates(f *testing.F) {
	f.Add("now +3 days", "2021-06-14T10:11:12+02:00", "dd/MM/yyyy", "first day of month")
	f.Add("-1 hours", "Mon, 14 Jun 2021 10:11:12 GMT", "epoch", "last day of year")
	f.Add("3 weeks", "1623664799", "unix", "bogus")
	f.Fuzz(func(t *testing.T, offset, date, format, trunc string) {
		if len(format) > 64 {
			return // patterns are short; Go's layouts are linear in them anyway
		}
		if off, err := parseOffset(offset); err == nil {
			off(time.Date(2021, 6, 14, 10, 0, 0, 0, time.UTC))
		}
		if d, ok := parseLoose(date); ok {
			s := dateValue{d.Truncate(time.Second)}.String()
			back, ok := parseZoned(s)
			if d.Year() >= 0 && d.Year() <= 9999 && (!ok || !back.Equal(d.Truncate(time.Second))) {
				t.Fatalf("%q printed as %q reads back as %v, %v", date, s, back, ok)
			}
		}
		parseWithFormat(date, format)
		for _, op := range []string{"before", "after", "equalToDateTime"} {
			if m, err := newDateMatcher(op, offset, format, 1, "days", trunc, trunc); err == nil {
				m.Match(date, true)
			}
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(error); !ok {
						t.Fatalf("formatDate(%q) panicked with %v", format, r)
					}
				}
			}()
			formatDate(time.Date(2021, 6, 14, 10, 0, 0, 0, time.UTC), format, true)
		}()
	})
}

// TestTemplatesStayBounded: crashes and blow-ups the fuzz targets found
// are error answers or bounded output, never a crash or gigabytes.
func TestTemplatesStayBounded(t *testing.T) {
	for _, src := range []string{
		`{{base64""A}}`,                    // one argument too many for a helper taking options
		`{{#if(0)A}}{{/if}}`,               // the engine's own if, called wrongly
		`{{stringFormat '%999999999d' 1}}`, // a width of a gigabyte
		`{{numberFormat 1 maximumFractionDigits=1000000000 minimumFractionDigits=1000000000}}`,
		`{{ljust 'a' size=1000000000}}`,
		`{{rjust 'a' size=99999999999999999999}}`,
		`{{randomValue length=1000000000}}`,
	} {
		tp, err := parseTemplate(src)
		if err != nil {
			continue
		}
		out, err := tp.render(map[string]any{"request": map[string]any{}}, newLockedRand(1))
		if err == nil && len(out) > 1000 {
			t.Errorf("%s: %d bytes", src, len(out))
		}
		if err != nil && strings.Contains(err.Error(), "internal error in a helper") {
			t.Errorf("%s: %v", src, err)
		}
	}
}
