package wire

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// runGate feeds b to a gate in the pieces splits gives, as an HTTP fault
// f would see it, and returns what passed and which requests it answered.
func runGate(b []byte, splits []byte, f *HTTPFault) (passed []byte, answered []string) {
	var g gate
	g.active = true
	pass := func(x []byte) error { passed = append(passed, x...); return nil }
	answer := func(m, t, _ string, _ bool) error { answered = append(answered, m+" "+t); return nil }
	i := 0
	for k := 0; len(b) > 0; k++ {
		n := len(b)
		if k < len(splits) {
			n = min(int(splits[k])%17+1, len(b))
		}
		g.feed(b[:n], f, pass, answer)
		b = b[n:]
		i++
	}
	return passed, answered
}

func TestGateAnswersWholeRequestsOnly(t *testing.T) {
	reqs := "POST /pay HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /other HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /pay HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"GET /last HTTP/1.1\r\n\r\n"
	f := &HTTPFault{Method: "POST", Path: "/pay", Status: 503}
	for _, splits := range [][]byte{nil, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {40, 3, 16, 1}} {
		passed, answered := runGate([]byte(reqs), splits, f)
		if string(passed) != "GET /other HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\n\r\n" || strings.Join(answered, ",") != "POST /pay,POST /pay" {
			t.Errorf("splits %v: passed %q, answered %v", splits, passed, answered)
		}
	}
}

// FuzzGate: whatever the bytes and however they are split, a gate whose
// fault matches nothing passes every byte on, in order; one that matches
// everything never panics.
func FuzzGate(f *testing.F) {
	f.Add([]byte("POST /pay HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\n\r\n"), []byte{1, 2, 3})
	f.Add([]byte("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), []byte{0})
	f.Add([]byte("\x00\x00\x00\x08\x04\xd2\x16\x2f"), []byte{})
	f.Add([]byte("GE"), []byte{1})
	f.Fuzz(func(t *testing.T, b, splits []byte) {
		none := &HTTPFault{Path: "/never-matches-\x00", Status: 500}
		passed, answered := runGate(b, splits, none)
		// A head still incomplete at the end is held, as it would be on a
		// live connection until its rest came.
		if !bytes.HasPrefix(b, passed) || len(answered) > 0 {
			t.Fatalf("passed %q of %q; answered %v", passed, b, answered)
		}
		runGate(b, splits, &HTTPFault{Status: 503})
	})
}

func TestClientErrorsAreSuspicious(t *testing.T) {
	p, s := proxied(t, "a→auth", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 401) })
	resp, err := http.Get("http://" + p.Addr() + "/check")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if in := waitFor(t, s, "GET /check → 401"); !in.Suspicious || in.Injected {
		t.Errorf("a 401 on an edge is suspicious (and not injected): %+v", in)
	}
}
