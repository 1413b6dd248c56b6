package stub

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// MultipartPattern is WireMock's multipartPatterns item: a part with
// these headers and body. With All, every part must match it; otherwise
// one part is enough.
type MultipartPattern struct {
	All     bool
	Headers []Named
	Body    []Matcher
}

// part is one part of a multipart body.
type part struct {
	header http.Header
	body   []byte
}

// multipartParts splits a multipart request body; ok is false when the
// request is not multipart or the body does not parse.
func multipartParts(r *Request) ([]part, bool) {
	ct, _ := r.headerValues("Content-Type")
	if len(ct) == 0 {
		return nil, false
	}
	mt, params, err := mime.ParseMediaType(ct[0])
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, false
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	var out []part
	for len(out) < 1000 {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false
		}
		b, err := io.ReadAll(io.LimitReader(p, maxBody))
		if err != nil {
			return nil, false
		}
		out = append(out, part{header: http.Header(p.Header), body: b})
	}
	return out, true
}

func (m *MultipartPattern) matchPart(p part) bool {
	for _, h := range m.Headers {
		vs, has := p.header[http.CanonicalHeaderKey(h.Name)]
		if !matchAny(h.M, vs, has) {
			return false
		}
	}
	for _, b := range m.Body {
		if !b.Match(string(p.body), true) {
			return false
		}
	}
	return true
}

// Match reports whether the parts match the pattern.
func (m *MultipartPattern) Match(parts []part) bool {
	if len(parts) == 0 {
		return false
	}
	for _, p := range parts {
		ok := m.matchPart(p)
		if ok && !m.All {
			return true
		}
		if !ok && m.All {
			return false
		}
	}
	return m.All
}

func (m *MultipartPattern) String() string {
	kind := "ANY"
	if m.All {
		kind = "ALL"
	}
	var parts []string
	for _, h := range m.Headers {
		parts = append(parts, "header "+h.Name+" "+h.M.String())
	}
	for _, b := range m.Body {
		parts = append(parts, "body "+b.String())
	}
	return "multipart " + kind + " part with " + strings.Join(parts, ", ")
}

func (m *MultipartPattern) wm() map[string]any {
	out := map[string]any{"matchingType": "ANY"}
	if m.All {
		out["matchingType"] = "ALL"
	}
	if len(m.Headers) > 0 {
		out["headers"] = wmNamed(m.Headers)
	}
	if len(m.Body) > 0 {
		out["bodyPatterns"] = wmList(m.Body)
	}
	return out
}
