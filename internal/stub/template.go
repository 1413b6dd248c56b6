package stub

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailgun/raymond/v2"
	"github.com/ohler55/ojg/oj"
)

// A response template is Handlebars, as in WireMock, over a model of the
// request: request.url, .path, .pathSegments, .path.<param>, .query.<name>,
// .headers.<name>, .cookies.<name>, .method, .body, .baseUrl.

// template is a parsed Handlebars template with seam's helpers.
type template struct {
	t *raymond.Template
	// headerRefs are the header names the template reads as written
	// (request.headers.X-Request-ID): WireMock looks headers up ignoring
	// case, so each is added to the model under its written spelling.
	headerRefs []string
	// unknown is a helper the template calls that does not exist: the
	// template renders as an error, as in WireMock.
	unknown string
}

// headerRef finds request.headers.NAME and request.headers.[NAME].
var headerRef = regexp.MustCompile(`headers\.(?:\[([^\]]+)\]|([A-Za-z0-9_\-]+))`)

func parseTemplate(src string) (*template, error) {
	// jsonPath as a sub-expression gives the value found, to iterate or
	// measure; printed, it gives JSON text.
	t, err := raymond.Parse(arities(valueHelpers.ReplaceAllString(unescaped(src, listVars(src)), "(${1}${2}Value ")))
	if err != nil {
		return nil, err
	}
	helpers := templateHelpers()
	t.RegisterHelpers(helpers)
	tp := &template{t: t, unknown: unknownHelper(src, helpers)}
	for _, m := range headerRef.FindAllStringSubmatch(src, -1) {
		tp.headerRefs = append(tp.headerRefs, m[1]+m[2])
	}
	return tp, nil
}

// unescaped turns {{x}} into {{&x}}: WireMock's Handlebars does not
// HTML-escape what it inserts (a JSON body would otherwise get &quot;).
// Blocks, comments, partials and triple-stashes are left as they are.
//
// A bare {{name}} of a variable regexExtract sets prints the list's first
// item, as WireMock's ListOrSingle does: {{seamFirst name}}.
func unescaped(src string, lists map[string]bool) string {
	var b strings.Builder
	for {
		i := strings.Index(src, "{{")
		if i < 0 {
			b.WriteString(src)
			return b.String()
		}
		if i > 0 && src[i-1] == '\\' { // \{{ is a literal {{
			b.WriteString(src[:i+2])
			src = src[i+2:]
			continue
		}
		j := strings.Index(src[i+2:], "}}")
		if j < 0 {
			b.WriteString(src)
			return b.String()
		}
		inner := numericSegments(src[i+2 : i+2+j])
		b.WriteString(src[:i])
		t := strings.TrimLeft(inner, "~ ")
		if args, ok := strings.CutPrefix(t, "#each "); ok {
			// Each in order over request values and variables' lists.
			params, as, _ := strings.Cut(args, " as |")
			tail := ""
			if as != "" {
				tail = " as |" + as
			}
			b.WriteString("{{" + inner[:len(inner)-len(t)] + "#each (seamList " + strings.TrimRight(params, " ~") + ")" +
				tail + trailingTilde(params) + "}}")
		} else if t == "" || strings.ContainsAny(t[:1], "{#/^!>&") || strings.HasPrefix(t, "else") {
			b.WriteString("{{" + inner + "}}")
		} else if lists[strings.TrimSpace(t)] {
			b.WriteString("{{&seamFirst " + strings.TrimSpace(t) + "}}")
		} else {
			b.WriteString("{{&" + inner + "}}") // not {{{x}}}: a JSON } after it would read as }}}}
		}
		src = src[i+2+j+2:]
	}
}

// numericSegment is a path's number segment (parts.0), outside quotes:
// Handlebars.java reads it as an index, raymond only as parts.[0].
var numericSegment = regexp.MustCompile(`'[^']*'|"[^"]*"|([A-Za-z_\]][\w\-\]]*)\.(\d+)\b`)

func numericSegments(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	for {
		out := numericSegment.ReplaceAllStringFunc(s, func(m string) string {
			if m[0] == '\'' || m[0] == '"' {
				return m
			}
			sm := numericSegment.FindStringSubmatch(m)
			return sm[1] + ".[" + sm[2] + "]"
		})
		if out == s {
			return s
		}
		s = out
	}
}

// trailingTilde keeps a tag's ~ (white-space control) at its end.
func trailingTilde(s string) string {
	if strings.HasSuffix(strings.TrimRight(s, " "), "~") {
		return "~"
	}
	return ""
}

// regexVar finds the variable a regexExtract call names (its third
// argument).
var regexVar = regexp.MustCompile(`regexExtract\s+\S+\s+(?:'[^']*'|"[^"]*")\s+(?:'([^']*)'|"([^"]*)")`)

func listVars(src string) map[string]bool {
	var out map[string]bool
	for _, m := range regexVar.FindAllStringSubmatch(src, -1) {
		if out == nil {
			out = map[string]bool{}
		}
		out[m[1]+m[2]] = true
	}
	return out
}

// render runs the template over the request; rnd is the server's seeded
// random source.
func (t *template) render(ctx map[string]any, rnd *lockedRand) (out string, err error) {
	// raymond re-panics runtime errors (a helper's bug, or its own on odd
	// arguments): the answer is an error, the stub keeps serving.
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("template: %s: %v", panicSource(string(debug.Stack())), r)
		}
	}()
	if t.unknown != "" {
		return "", fmt.Errorf("could not find helper: '%s'", t.unknown)
	}
	if len(t.headerRefs) > 0 {
		if req, ok := ctx["request"].(map[string]any); ok {
			if hs, ok := req["headers"].(map[string]any); ok {
				for _, name := range t.headerRefs {
					if _, ok := hs[name]; ok {
						continue
					}
					for k, v := range hs {
						if strings.EqualFold(k, name) {
							hs[name] = v
							break
						}
					}
				}
			}
		}
	}
	data := raymond.NewDataFrame()
	data.Set("seamRand", rnd)
	data.Set("seamRoot", ctx)
	return t.t.ExecWith(ctx, data)
}

// panicSource says whether a panic came from one of seam's helpers (a bug
// to fix: the fuzz target fails on it) or from the template engine
// itself, which panics on some malformed calls ({{#if(0)A}}).
func panicSource(stack string) string {
	rest := stack[strings.Index(stack, "panic(")+1:]
	engine := strings.Index(rest, "mailgun/raymond")
	ours := strings.Index(rest, "seam/internal/stub.helper")
	if ours >= 0 && (engine < 0 || ours < engine) {
		return "internal error in a helper"
	}
	return "the template engine failed"
}

// lockedRand is a seeded random source shared by a server's requests.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed int64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(uint64(seed), 0x5eed))}
}

func (l *lockedRand) intN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

func (l *lockedRand) float() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

func (l *lockedRand) norm() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.NormFloat64()
}

// textValue renders as its first value and indexes as .[0], .[1]…: a query
// parameter or a header, which may repeat.
type textValue map[string]string

func (v textValue) String() string { return v["0"] }

func newTextValue(vs []string) textValue {
	out := textValue{}
	for i, s := range vs {
		out[strconv.Itoa(i)] = s
	}
	return out
}

// pathValue renders as the path and indexes path parameters by name and
// segments by number.
type pathValue map[string]string

func (v pathValue) String() string { return v[""] }

// templateContext is the request as templates see it.
func templateContext(r *Request, params map[string]string, baseURL string) map[string]any {
	path := pathValue{"": r.Path}
	segs := splitPath(r.Path)
	segMap := textValue{}
	for i, s := range segs {
		path[strconv.Itoa(i)] = s
		segMap[strconv.Itoa(i)] = s
	}
	for k, v := range params {
		path[k] = v
	}
	query := map[string]any{}
	for k, vs := range r.Query() {
		query[k] = newTextValue(vs)
	}
	headers := map[string]any{}
	for k, vs := range r.Header() {
		tv := newTextValue(vs)
		headers[k] = tv
		headers[strings.ToLower(k)] = tv
	}
	cookies := map[string]any{}
	for k, vs := range r.Cookies {
		cookies[k] = newTextValue(vs)
	}
	return map[string]any{"request": map[string]any{
		"url": r.URL, "path": path, "pathSegments": segMap, "query": query,
		"headers": headers, "cookies": cookies, "method": r.Method, "body": string(r.Body),
		"baseUrl": baseURL, "id": r.ID(),
	}}
}

// helperJSONPathValue is jsonPath in a sub-expression: the value found.
func helperJSONPathValue(doc, path string, options *raymond.Options) any {
	x, err := parsePath(path)
	if err != nil {
		return "[ERROR: bad JSON path " + path + "]"
	}
	v, err := oj.ParseString(doc)
	if err != nil {
		return options.HashProp("default")
	}
	found := x.get(v)
	switch len(found) {
	case 0:
		return options.HashProp("default")
	case 1:
		return found[0]
	}
	return found
}

func helperJSONPath(doc, path string, options *raymond.Options) string {
	x, err := parsePath(path)
	if err != nil {
		return "[ERROR: bad JSON path " + path + "]"
	}
	v, err := oj.ParseString(doc)
	if err != nil {
		return options.HashStr("default")
	}
	found := x.get(v)
	if len(found) == 0 {
		return options.HashStr("default")
	}
	if len(found) == 1 {
		return jsonText(found[0])
	}
	return jsonText(found)
}

const (
	lower   = "abcdefghijklmnopqrstuvwxyz"
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits  = "0123456789"
	symbols = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

func helperRandomValue(options *raymond.Options) string {
	rnd, _ := options.DataFrame().Get("seamRand").(*lockedRand)
	if rnd == nil {
		rnd = newLockedRand(time.Now().UnixNano())
	}
	n := 36
	if l := options.HashProp("length"); l != nil {
		if i, err := strconv.Atoi(fmt.Sprint(l)); err == nil {
			n = i
		}
	}
	if n > maxTemplateWidth {
		renderFail("randomValue: length over " + strconv.Itoa(maxTemplateWidth))
	}
	n = max(n, 0)
	var alphabet string
	switch strings.ToUpper(options.HashStr("type")) {
	case "ALPHABETIC":
		alphabet = lower + upper
	case "NUMERIC":
		alphabet = digits
	case "ALPHANUMERIC_AND_SYMBOLS":
		alphabet = lower + upper + digits + symbols
	case "HEXADECIMAL":
		alphabet = digits + "abcdef"
	case "UUID":
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(rnd.intN(256))
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	default: // ALPHANUMERIC
		alphabet = lower + upper + digits
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[rnd.intN(len(alphabet))]
	}
	s := string(out)
	if up, _ := options.HashProp("uppercase").(bool); up {
		s = strings.ToUpper(s)
	}
	return s
}

// javaLayout turns a Java date pattern (yyyy-MM-dd'T'HH:mm:ss) into a Go
// layout, for the tokens people use.
func javaLayout(p string) string {
	tokens := []struct{ java, goL string }{
		{"yyyy", "2006"}, {"yy", "06"}, {"MMMM", "January"}, {"MMM", "Jan"}, {"MM", "01"},
		{"dd", "02"}, {"EEEE", "Monday"}, {"EEE", "Mon"}, {"HH", "15"}, {"hh", "03"},
		{"mm", "04"}, {"ss", "05"}, {"SSS", "000"}, {"XXX", "Z07:00"}, {"Z", "-0700"},
		{"z", "MST"}, {"a", "PM"}, {"M", "1"}, {"d", "2"}, {"H", "15"}, {"h", "3"},
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		if p[i] == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				b.WriteString(p[i+1:])
				break
			}
			b.WriteString(p[i+1 : i+1+j])
			i += j + 2
			continue
		}
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(p[i:], t.java) {
				b.WriteString(t.goL)
				i += len(t.java)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(p[i])
			i++
		}
	}
	return b.String()
}

// arityHelpers take options (hash arguments) after a varying number of
// positional ones, which raymond cannot call through one Go function:
// a call with N positional arguments is renamed NAME_N (see
// templateHelpers), counted by arities.
var arityHelpers = []string{"regexExtract", "dateFormat", "numberFormat", "formatJson", "assign", "isEven", "isOdd"}

// arities renames each call of an arityHelpers helper to NAME_N, N its
// positional arguments, keeping N = 0 (a block) as it is.
func arities(src string) string {
	var b strings.Builder
	var blocks []string // the renamed names of open blocks, to close them
	for i := 0; i < len(src); {
		name, at, block := "", -1, false
		if src[i] == '{' && strings.HasPrefix(src[i:], "{{") || src[i] == '(' {
			j := i + 1
			if src[i] == '{' {
				j = i + 2
			}
			for j < len(src) && strings.IndexByte("#&~ \t\n", src[j]) >= 0 {
				block = block || src[j] == '#'
				j++
			}
			if src[i] == '{' && j < len(src) && src[j] == '/' {
				for _, h := range arityHelpers {
					if strings.HasPrefix(src[j+1:], h) && len(blocks) > 0 && strings.HasPrefix(blocks[len(blocks)-1], h) {
						b.WriteString(src[i:j+1] + blocks[len(blocks)-1])
						i = j + 1 + len(h)
						blocks = blocks[:len(blocks)-1]
						name = "-"
						break
					}
				}
				if name == "-" {
					continue
				}
			}
			for _, h := range arityHelpers {
				if strings.HasPrefix(src[j:], h) {
					end := j + len(h)
					if end < len(src) && strings.IndexByte(" \t\n}", src[end]) >= 0 {
						name, at = h, j
					}
				}
			}
		}
		if name == "" {
			b.WriteByte(src[i])
			i++
			continue
		}
		n := countArgs(src[at+len(name):])
		full := name
		if n > 0 {
			full += "_" + strconv.Itoa(n)
		}
		if block {
			blocks = append(blocks, full)
		}
		b.WriteString(src[i:at] + full)
		i = at + len(name)
	}
	return b.String()
}

// countArgs counts the positional arguments at the start of s, up to the
// }} or ) that ends the call: hash arguments (k=v) do not count.
func countArgs(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == ')' || c == '}' || c == '~':
			return n
		}
		hash := false
		if k := hashKey.FindString(s[i:]); k != "" {
			hash = true
			i += len(k)
		}
		i += tokenLen(s[i:])
		if !hash {
			n++
		}
	}
	return n
}

var hashKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*=`)

// tokenLen is the length of the argument at the start of s: a quoted
// string, a parenthesised sub-expression, or a bare word.
func tokenLen(s string) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case '\'', '"':
		if j := strings.IndexByte(s[1:], s[0]); j >= 0 {
			return j + 2
		}
		return len(s)
	case '(':
		depth := 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '\'', '"':
				i += tokenLen(s[i:]) - 1
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(s)
	}
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\r)}", s[i]) < 0 {
		i++
	}
	if i == 0 {
		return 1
	}
	return i
}
