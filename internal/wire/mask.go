package wire

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Secrets never reach a timeline or a report: what the proxy records of a
// password, a token or a key is "***". Headers are not recorded at all
// (so neither is Authorization); what is masked here is what is: query
// parameters, JSON and form fields in bodies, and SQL that sets a
// password. Redis's AUTH and HELLO are masked where they are decoded.
// Secrets are also known by their shape, wherever they appear (bodies,
// SQL text and parameters, Redis keys, results): bcrypt and argon2
// hashes, JWTs and bearer tokens; and a suite may add patterns of its own
// (mask:).

// secretName matches parameter and field names that hold secrets.
const secretName = `[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|signature)[A-Za-z0-9_.-]*|pwd|auth|sig|code_verifier`

// The patterns compile on first use, not at package init: every seam
// command links this package, few mask anything.
var (
	// A JSON member whose name looks secret and whose value is a string.
	jsonSecret = lazyRE(`(?i)("(?:` + secretName + `)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
	// A query or form parameter whose name looks secret.
	formSecret = lazyRE(`(?i)((?:^|[?&])(?:` + secretName + `)=)([^&#\s]*)`)
	// PASSWORD 'literal', as in CREATE or ALTER ROLE and USER.
	sqlSecret  = lazyRE(`(?i)(\bpassword\s+)(E?'(?:[^']|'')*')`)
	sqlMention = lazyRE(`(?i)\bpassword\b`)
	// Secrets by their shape. A JWT's header is JSON, so its first part
	// starts with eyJ ({"), which keeps ordinary dotted words out.
	// The shapes also match a secret's start (8 characters on), as a
	// recorded value may be cut short.
	shapeSecret = lazyRE(`\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{8,}` +
		`|\$argon2(?:id|i|d)\$[A-Za-z0-9=$,+/.-]+` +
		`|\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}` +
		`|(?i:\bbearer)\s+[A-Za-z0-9._~+/-]+=*`)
)

// lazyRE returns a func that compiles expr once, on its first call.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// shapeHint reports whether b may hold a secret shapeSecret knows: most
// traffic holds none, and then the regexp does not run.
func shapeHint[T string | []byte](b T) bool {
	for i := 0; i+3 <= len(b); i++ {
		switch b[i] {
		case '$':
			if b[i+1] == '2' || b[i+1] == 'a' {
				return true
			}
		case 'e':
			if b[i+1] == 'y' && b[i+2] == 'J' {
				return true
			}
		case 'b', 'B':
			if hasFoldAt(b, i, "bearer") {
				return true
			}
		}
	}
	return false
}

// maskShape replaces secrets known by their shape; a bearer token keeps
// its scheme word.
func maskShape(s string) string {
	if !shapeHint(s) {
		return s
	}
	return shapeSecret().ReplaceAllStringFunc(s, func(m string) string {
		if hasFoldAt(m, 0, "bearer") {
			return m[:6] + " " + masked
		}
		return masked
	})
}

func maskShapeBytes(b []byte) []byte {
	if !shapeHint(b) {
		return b
	}
	return []byte(maskShape(string(b)))
}

// Masker masks an interaction's secrets: the built-in rules above and a
// suite's own patterns.
type Masker struct {
	extra []*regexp.Regexp
}

// NewMasker compiles a suite's mask: patterns (Go regular expressions;
// what each matches is recorded as ***). The error names the pattern by
// its index.
func NewMasker(patterns []string) (*Masker, error) {
	m := &Masker{}
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("mask[%d]: %q is not a regular expression: %w", i, p, err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("mask[%d]: %q matches the empty string, so it would mask nothing useful and everything between", i, p)
		}
		m.extra = append(m.extra, re)
	}
	return m, nil
}

func (m *Masker) str(s string) string {
	s = maskShape(s)
	if m != nil {
		for _, re := range m.extra {
			s = re.ReplaceAllString(s, masked)
		}
	}
	return s
}

func (m *Masker) bytes(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	b = maskShapeBytes(b)
	if m != nil {
		for _, re := range m.extra {
			b = re.ReplaceAll(b, []byte(masked))
		}
	}
	return b
}

// apply masks everything an interaction records (m may be nil: the
// built-in rules only).
func (m *Masker) apply(in *Interaction) {
	mask(in)
	in.Op, in.Target, in.Note, in.Result = m.str(in.Op), m.str(in.Target), m.str(in.Note), m.str(in.Result)
	in.Key = m.str(in.Key)
	in.RequestBody, in.ResponseBody = m.bytes(in.RequestBody), m.bytes(in.ResponseBody)
}

// hint reports whether b holds, in any case, a word that secretName is
// made of. Most traffic holds none, and then no regexp runs: the regexps
// cost more per body than the proxy's whole forwarding (measured: half
// the throughput when they ran on every exchange).
func hint[T string | []byte](b T) bool {
	for i := 0; i+3 <= len(b); i++ {
		for _, w := range hintWords[b[i]|0x20] {
			if hasFoldAt(b, i, w) {
				return true
			}
		}
	}
	return false
}

// hintWords are the words hint looks for, by their lower-case first byte.
var hintWords = [256][]string{
	'p': {"pass", "pwd", "private"},
	's': {"secret", "sig"},
	't': {"token"},
	'k': {"key"},
	'a': {"auth", "access"},
	'c': {"credential", "code_verifier"},
}

// containsFold reports whether s holds the lower-case ASCII word w, in
// any case.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if hasFoldAt(s, i, w) {
			return true
		}
	}
	return false
}

// hasFoldAt reports whether b holds the lower-case ASCII word w at i,
// in any case.
func hasFoldAt[T string | []byte](b T, i int, w string) bool {
	if len(b)-i < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := b[i+j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

const masked = "***"

// maskTarget masks secret query parameters of a request target.
func maskTarget(t string) string {
	q := strings.IndexByte(t, '?')
	if q < 0 || !hint(t[q:]) {
		return t
	}
	return t[:q] + formSecret().ReplaceAllString(t[q:], "${1}"+masked)
}

// maskBody masks secret members of a JSON body and secret fields of a
// form body; the start of a body (it may be cut short) is enough.
func maskBody(b []byte) []byte {
	if len(b) == 0 || !hint(b) {
		return b
	}
	out := jsonSecret().ReplaceAll(b, []byte("${1}"+masked+"${3}"))
	if i := bytes.IndexAny(out, "{["); i < 0 || len(bytes.TrimSpace(out[:i])) > 0 {
		out = formSecret().ReplaceAll(out, []byte("${1}"+masked))
	}
	return out
}

// maskSQL masks password literals in a statement, and says whether the
// statement mentions a password at all (then its parameters are masked).
func maskSQL(sql string) (string, bool) {
	if !containsFold(sql, "password") || !sqlMention().MatchString(sql) {
		return sql, false
	}
	return sqlSecret().ReplaceAllString(sql, "${1}'"+masked+"'"), true
}

// mask applies the above to an interaction before anyone sees it.
func mask(in *Interaction) {
	switch in.Protocol {
	case "http", "http2", "grpc":
		if t := maskTarget(in.Target); t != in.Target {
			in.Op = strings.Replace(in.Op, in.Target, t, 1)
			in.Target = t
		}
		in.RequestBody = maskBody(in.RequestBody)
		in.ResponseBody = maskBody(in.ResponseBody)
	case "postgres":
		sql, secret := maskSQL(in.Target)
		if secret {
			in.Op, in.Target = "SQL "+sql, sql
			if in.Note != "" {
				in.Note = "[parameters masked: the statement sets a password]"
			}
		}
	}
}
