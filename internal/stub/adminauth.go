package stub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/seamtest/seam/internal/mask"
	"github.com/seamtest/seam/internal/token"
)

// serveAdmin serves the admin API behind guardAdmin.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !s.guardAdmin(w, r) {
		s.admin(w, r)
	}
}

// guardAdmin is the admin API's door when seam runs the stub for a suite:
// a request without the run's token (Options.AdminToken) is refused, and
// the journal's listings are masked (Options.Mask) before they leave.
// Standalone (seam stub) neither applies. It reports whether it answered
// the request itself.
func (s *Server) guardAdmin(w http.ResponseWriter, r *http.Request) bool {
	if !token.Valid(r, s.opts.AdminToken) {
		token.Deny(w)
		return true
	}
	if s.opts.Mask == nil || !strings.HasPrefix(r.URL.Path, adminPrefix+"/requests") {
		return false
	}
	rec := &bufferedWriter{h: http.Header{}, status: http.StatusOK}
	s.admin(rec, r)
	body := rec.buf.Bytes()
	var v any
	if json.Unmarshal(body, &v) == nil {
		if out, err := json.Marshal(maskJSON(s.opts.Mask, "", v)); err == nil {
			body = append(out, '\n')
		}
	}
	for k, vs := range rec.h {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
	return true
}

// maskJSON masks a logged request as WireMock's admin API renders it:
// secret-named members, query parameters ({key, values}) and headers,
// every cookie, and the body (with bodyAsBase64 made again from the masked body).
func maskJSON(m *mask.Masker, key string, v any) any {
	switch x := v.(type) {
	case string:
		if mask.SecretName(key) {
			return mask.Masked
		}
		return m.Text(x)
	case []any:
		for i := range x {
			x[i] = maskJSON(m, key, x[i])
		}
		return x
	case map[string]any:
		if key == "cookies" {
			// A request's cookies, name → value: session secrets
			// whatever they are named, as the Cookie header is.
			for k := range x {
				x[k] = mask.Masked
			}
			return x
		}
		if k, ok := x["key"].(string); ok && mask.SecretName(k) {
			if _, ok := x["values"]; ok {
				x["values"] = []any{mask.Masked}
			}
		}
		for k, val := range x {
			if k == "body" {
				if b, ok := val.(string); ok {
					masked := string(m.Bytes(mask.Body([]byte(m.Text(b)))))
					x[k] = masked
					if _, ok := x["bodyAsBase64"]; ok {
						x["bodyAsBase64"] = base64.StdEncoding.EncodeToString([]byte(masked))
					}
					continue
				}
			}
			if k == "bodyAsBase64" {
				continue
			}
			x[k] = maskJSON(m, k, val)
		}
		return x
	}
	return v
}

// bufferedWriter keeps an admin answer to mask it before it is sent.
type bufferedWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.h }
func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
