// Package token guards seam's control endpoints (the Toxiproxy-compatible
// API over the wire, a suite's stubs' admin API) with a per-run token, so
// that another user of the machine cannot drive a run. The token reaches
// the user's own tools as $SEAM_CONTROL_TOKEN (in every service's
// environment and in seam up's table) and inside the URLs seam hands out
// (http://seam:TOKEN@127.0.0.1:PORT), which HTTP clients turn into Basic
// authentication by themselves.
package token

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
)

// EnvVar names the environment variable that carries the run's token.
const EnvVar = "SEAM_CONTROL_TOKEN"

// Header is a header that may carry the token instead of Authorization.
const Header = "X-Seam-Token"

// User is the user name in the URLs seam hands out; any name is accepted.
const User = "seam"

// New returns a fresh token: 32 hex digits (128 random bits).
func New() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Valid reports whether r carries want: as the password of Basic
// authentication (any user name), as a Bearer token, or in X-Seam-Token.
// An empty want lets every request through.
func Valid(r *http.Request, want string) bool {
	if want == "" {
		return true
	}
	got := r.Header.Get(Header)
	if got == "" {
		if _, pw, ok := r.BasicAuth(); ok {
			got = pw
		} else if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			got = strings.TrimSpace(a[7:])
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Deny answers 401 and says how to get the token.
func Deny(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="seam"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"error":"this control API needs the run's token: use the URL seam gives (http://seam:TOKEN@…), or send $` +
		EnvVar + ` as Basic auth password, a Bearer token or the ` + Header + ` header","status":401}` + "\n"))
}

// Require serves next only to requests that carry want (see Valid).
func Require(want string, next http.Handler) http.Handler {
	if want == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Valid(r, want) {
			Deny(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// URL returns base (http://host:port…) with the token as its user's
// password; base is returned unchanged when tok is empty or base does
// not parse.
func URL(base, tok string) string {
	if tok == "" {
		return base
	}
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.User = url.UserPassword(User, tok)
	return u.String()
}
