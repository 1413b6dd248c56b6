// Package mask is the one place that decides what seam writes as "***".
// Every writer uses it: the wire's recorded interactions, the events that
// every report is rendered from (console, JUnit, JSON lines, HTML), seam
// up's log, the services' log files and the stub's listing of requests.
//
// Secrets are known by name (query and form parameters, JSON members,
// DSN keywords and header lines named like a password, token, secret or
// key; in SQL, PostgreSQL's or MySQL's, the literals given to such a
// column and passwords: PASSWORD 'x', IDENTIFIED BY 'x'), by shape (bcrypt and argon2 hashes, JWTs, bearer tokens, the
// password in a URL's user part), by value (the passwords and tokens seam
// generated for a run, given with Add) and by a suite's own patterns
// (mask:).
package mask

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
)

// Masked is what a secret is written as.
const Masked = "***"

// secretName matches parameter and field names that hold secrets.
const secretName = secretWordName + `|pwd|auth|sig|code_verifier`

// secretWordName is secretName but the short names (pwd, auth, sig, …),
// which are parameters' names but no header's: as a line's "name:" they
// are as often a log line's prefix ("auth: listening on :8080", a service
// named auth), which must stay readable.
const secretWordName = `[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|signature)[A-Za-z0-9_.-]*`

// The patterns compile on first use, not at package init: every seam
// command links this package, few mask anything.
var (
	// A JSON member whose name looks secret and whose value is a string.
	jsonSecret = lazyRE(`(?i)("(?:` + secretName + `)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
	// A query or form parameter whose name looks secret.
	formSecret = lazyRE(`(?i)((?:^|[?&])(?:` + secretName + `)=)([^&#\s]*)`)
	// In free text (a log line, a request line, a DSN, an environment
	// listing), name=value after a separator. A quoted value (a DSN's
	// password='a b', SQL's token='x') is masked whole, its quotes kept:
	// the unquoted value stops at the quote, which left the value out.
	textSecret = lazyRE(`(?i)((?:^|[?&\s;,'"(\[{])(?:` + secretName + `)=)` +
		`(?:(')(?:[^'\\\n]|\\.)*'|(")(?:[^"\\\n]|\\.)*"|[^&#\s;,'")\]}]*)`)
	// A header line (or a YAML-ish key) naming a secret: the rest of the
	// line is masked. Cookies are session secrets too.
	headerSecret = lazyRE(`(?im)^(\s*(?:` + secretWordName + `|authorization|proxy-authorization|cookie|set-cookie|x-[a-z0-9-]*(?:key|token|secret)[a-z0-9-]*)\s*:[ \t]*)(\S[^\r\n]*)`)
	// The password in a URL's user part: postgres://user:pw@host.
	userinfo = lazyRE(`([A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*:)([^@/\s]+)(@)`)
	// Secrets by their shape. A JWT's header is JSON, so its first part
	// starts with eyJ ({"), which keeps ordinary dotted words out.
	// The shapes also match a secret's start (8 characters on), as a
	// recorded value may be cut short; a bearer token is 8 characters or
	// more, so that a pattern about one ("Bearer .+") stays readable.
	shapeSecret = lazyRE(`\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{8,}` +
		`|\$argon2(?:id|i|d)\$[A-Za-z0-9=$,+/.-]+` +
		`|\beyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}` +
		`|(?i:\bbearer)\s+[A-Za-z0-9._~+/-]{8,}=*`)
)

// lazyRE returns a func that compiles expr once, on its first call.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// ShapeRE is the pattern of secrets known by their shape (for tests).
func ShapeRE() *regexp.Regexp { return shapeSecret() }

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

// Shape replaces secrets known by their shape; a bearer token keeps its
// scheme word.
func Shape(s string) string {
	if !shapeHint(s) {
		return s
	}
	return shapeSecret().ReplaceAllStringFunc(s, func(m string) string {
		if hasFoldAt(m, 0, "bearer") {
			return m[:6] + " " + Masked
		}
		return Masked
	})
}

// ShapeBytes is Shape for bytes; b is returned unchanged (not copied)
// when it holds no such shape.
func ShapeBytes(b []byte) []byte {
	if !shapeHint(b) {
		return b
	}
	return []byte(Shape(string(b)))
}

// Masker masks secrets: the built-in rules, a suite's own patterns and
// the secret values a run registers. A nil *Masker applies the built-in
// rules only. It is safe for concurrent use.
type Masker struct {
	extra []*regexp.Regexp

	mu      sync.RWMutex
	secrets []string // values to mask wherever they appear
	version atomic.Uint64
}

// Version counts the changes to m (Add): what m made of a string stays
// true while it is the same. 0 for a nil Masker.
func (m *Masker) Version() uint64 {
	if m == nil {
		return 0
	}
	return m.version.Load()
}

// New compiles a suite's mask: patterns (Go regular expressions; what
// each matches is written as ***). The error names the pattern by its
// index.
func New(patterns []string) (*Masker, error) {
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

// MinSecret is the shortest value Add accepts: a shorter one (a
// suite's password "seam", say) would mask ordinary words.
const MinSecret = 8

// Add registers secret values (a generated password, a control token)
// to mask wherever they appear; values shorter than MinSecret, and any
// on a nil Masker, are ignored.
func (m *Masker) Add(values ...string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range values {
		if len(v) >= MinSecret && !contains(m.secrets, v) {
			m.secrets = append(m.secrets, v)
			m.version.Add(1)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Str masks secrets known by shape, by value and by the suite's patterns
// in s (not by name: see Text).
func (m *Masker) Str(s string) string {
	s = Shape(s)
	if m == nil {
		return s
	}
	m.mu.RLock()
	for _, v := range m.secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Masked)
		}
	}
	m.mu.RUnlock()
	for _, re := range m.extra {
		s = re.ReplaceAllString(s, Masked)
	}
	return s
}

// Bytes is Str for bytes.
func (m *Masker) Bytes(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	b = ShapeBytes(b)
	if m == nil {
		return b
	}
	m.mu.RLock()
	for _, v := range m.secrets {
		if bytes.Contains(b, []byte(v)) {
			b = bytes.ReplaceAll(b, []byte(v), []byte(Masked))
		}
	}
	m.mu.RUnlock()
	for _, re := range m.extra {
		b = re.ReplaceAll(b, []byte(Masked))
	}
	return b
}

// Text masks everything a writer may write: free text such as a log
// line, a request line with its headers and body, a failure message or a
// DSN. It applies every rule: by name (name=value, "name": "value",
// header lines, SQL's secret literals as SQL finds them, a URL's
// password), by shape, by value and by pattern. Masking is idempotent.
func (m *Masker) Text(s string) string {
	if strings.Contains(s, "://") && strings.IndexByte(s, '@') >= 0 {
		s = userinfo().ReplaceAllString(s, "${1}"+Masked+"${3}")
	}
	if hint(s) {
		s = jsonSecret().ReplaceAllString(s, "${1}"+Masked+"${3}")
		s = textSecret().ReplaceAllString(s, "${1}${2}${3}"+Masked+"${2}${3}")
		s = headerSecret().ReplaceAllString(s, "${1}"+Masked)
		s = sqlText(s)
		s = errorDetail(s)
	}
	return m.Str(s)
}

// ErrorDetail masks the values a database's error message quotes for a
// key or column that holds a secret: PostgreSQL's "Key (api_token)=(…)",
// MySQL's and MariaDB's "Duplicate entry '…' for key 'idx_users_api_token'"
// and "Incorrect … value: '…' for column 'token'". It is for the
// wire's recorded result of a statement, which is masked by shape and by
// value (Masker.Str) and not as free text.
func ErrorDetail(s string) string {
	if !hint(s) {
		return s
	}
	return errorDetail(s)
}

func errorDetail(s string) string {
	if strings.Contains(s, ")=(") {
		s = keyDetail(s)
	}
	if strings.Contains(s, "' for ") {
		s = mysqlDetail(s)
	}
	return s
}

// pgKeyDetail is PostgreSQL's detail of a key's violation, in its log and
// error messages: Key (api_token)=(tok-1) already exists.
var pgKeyDetail = lazyRE(`(Key \(([^()]*)\)=\()([^)]*)(\))`)

// keyDetail masks the values of a key detail whose columns hold a secret
// (all of them: the values of a key of several columns are not split
// reliably, a value may hold a comma).
func keyDetail(s string) string {
	return pgKeyDetail().ReplaceAllStringFunc(s, func(m string) string {
		g := pgKeyDetail().FindStringSubmatch(m)
		for _, col := range strings.Split(g[2], ",") {
			if sqlSecretColumn(strings.TrimSpace(col)) {
				return g[1] + Masked + g[4]
			}
		}
		return m
	})
}

// MySQL's and MariaDB's error messages that quote a value name the key
// or column it was for:
//
//	Duplicate entry 'tok-1' for key 'idx_users_api_token' (1062; MySQL 8
//	writes the key as 'users.idx_users_api_token', and a key of several
//	columns joins their values with '-')
//	Incorrect integer value: 'x' for column 'token' at row 1 (1292, 1366;
//	MariaDB writes the column as `db`.`users`.`token`)
//
// The value runs to the quote before " for key"/" for column": MySQL
// writes it unescaped, so it may hold a quote itself.
var (
	myDupEntry = lazyRE(`(?s)(Duplicate entry ')(.*?)(' for key '([^'\n]*)')`)
	myColValue = lazyRE("(?s)(value: ')(.*?)(' for column ((?:[`'][^`'\n]*[`']\\.?){1,3}))")
)

// mysqlDetail masks the value of a MySQL or MariaDB error message whose
// key or column holds a secret. A key is known by its name: GORM's
// idx_<table>_<column>, MariaDB's default (the first column's name), a
// composite key's name that names a secret column; a key named otherwise
// (PRIMARY, uniq_1) keeps its value readable.
func mysqlDetail(s string) string {
	s = myDupEntry().ReplaceAllStringFunc(s, func(m string) string {
		g := myDupEntry().FindStringSubmatch(m)
		if sqlSecretColumn(g[4]) {
			return g[1] + Masked + g[3]
		}
		return m
	})
	return myColValue().ReplaceAllStringFunc(s, func(m string) string {
		g := myColValue().FindStringSubmatch(m)
		// The column is the last of db.table.column.
		col := strings.TrimRight(g[4], ".")
		col = strings.Trim(col[strings.LastIndexAny(col[:len(col)-1], "`'")+1:], "`'")
		if sqlSecretColumn(col) {
			return g[1] + Masked + g[3]
		}
		return m
	})
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
	'c': {"credential", "code_verifier", "cookie"},
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

// Target masks secret query parameters of a request target (/login?token=…).
func Target(t string) string {
	q := strings.IndexByte(t, '?')
	if q < 0 || !hint(t[q:]) {
		return t
	}
	return t[:q] + formSecret().ReplaceAllString(t[q:], "${1}"+Masked)
}

// Body masks secret members of a JSON body and secret fields of a form
// body; the start of a body (it may be cut short) is enough. b is
// returned unchanged (not copied) when it holds nothing to mask.
func Body(b []byte) []byte {
	if len(b) == 0 || !hint(b) {
		return b
	}
	out := jsonSecret().ReplaceAll(b, []byte("${1}"+Masked+"${3}"))
	if i := bytes.IndexAny(out, "{["); i < 0 || len(bytes.TrimSpace(out[:i])) > 0 {
		out = formSecret().ReplaceAll(out, []byte("${1}"+Masked))
	}
	return out
}

// secretKey matches a whole name (a JSON member, a header, a query
// parameter) that holds a secret.
var secretKey = lazyRE(`(?i)^(?:` + secretName + `|authorization|proxy-authorization|cookie|set-cookie|x-[a-z0-9-]*(?:key|token|secret)[a-z0-9-]*)$`)

// SecretName reports whether a name (of a JSON member, header or query
// parameter) says its value is a secret.
func SecretName(name string) bool {
	return name != "" && hint(name) && secretKey().MatchString(name)
}
