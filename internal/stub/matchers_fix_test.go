package stub

import (
	"testing"
)

// caseInsensitive beside a matcher other than equalTo is accepted and,
// as in WireMock (checked on its 3.13.2 jar), ignored.
func TestCaseInsensitiveOffEqualToIsAcceptedAndIgnored(t *testing.T) {
	_, ts := serve(t, `{"mappings": [
		{"request": {"method": "POST", "url": "/c", "bodyPatterns": [{"contains": "ABC", "caseInsensitive": true}]}, "response": {"status": 200}},
		{"request": {"method": "GET", "url": "/m", "headers": {"X": {"matches": "AB+", "caseInsensitive": false}}}, "response": {"status": 200}},
		{"request": {"method": "GET", "url": "/e", "headers": {"X": {"equalTo": "ABC", "caseInsensitive": true}}}, "response": {"status": 200}}
	]}`, Options{})
	for _, c := range []struct {
		method, path, body, header string
		want                       int
	}{
		{"POST", "/c", "xABCx", "", 200},
		{"POST", "/c", "xabcx", "", 404},
		{"GET", "/m", "", "ABB", 200},
		{"GET", "/e", "", "abc", 200},
	} {
		if got, _, _ := do(t, c.method, ts.URL+c.path, c.body, "X", c.header); got != c.want {
			t.Errorf("%s %s %q X: %q: %d; want %d", c.method, c.path, c.body, c.header, got, c.want)
		}
	}
	if _, err := ParseJSON("f.json", []byte(`{"request": {"url": "/c", "bodyPatterns": [{"contains": "a", "caseInsensitive": "yes"}]}, "response": {}}`)); err == nil {
		t.Error("caseInsensitive: \"yes\" accepted; want true or false")
	}
}

// A !!binary YAML scalar (how YAML writes bytes that are not UTF-8) is
// matched as its bytes, not as its base64 text.
func TestYAMLBinaryBodyMatchesItsBytes(t *testing.T) {
	ms, err := ParseRoutes("r.yaml", []byte("routes:\n  - when: POST /bin\n    body: !!binary /w==\n    then: {status: 200}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Method: "POST", URL: "/bin", Path: "/bin", Body: []byte{0xff}}
	if !ms[0].Request.Match(r) {
		t.Errorf("the byte 0xff did not match: %v", ms[0].Request.Diff(r))
	}
	if r.Body = []byte("/w=="); ms[0].Request.Match(r) {
		t.Error("the base64 text matched")
	}
}
