package stub

import (
	"fmt"
	"math/rand/v2"
	"regexp"
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
	t, err := raymond.Parse(valueHelpers.ReplaceAllString(unescaped(src), "(${1}${2}Value "))
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
func unescaped(src string) string {
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
		inner := src[i+2 : i+2+j]
		b.WriteString(src[:i])
		t := strings.TrimLeft(inner, "~ ")
		if t == "" || strings.ContainsAny(t[:1], "{#/^!>&") || strings.HasPrefix(t, "else") {
			b.WriteString("{{" + inner + "}}")
		} else {
			b.WriteString("{{&" + inner + "}}") // not {{{x}}}: a JSON } after it would read as }}}}
		}
		src = src[i+2+j+2:]
	}
}

// render runs the template over the request; rnd is the server's seeded
// random source.
func (t *template) render(ctx map[string]any, rnd *lockedRand) (string, error) {
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
	return t.t.ExecWith(ctx, data)
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

func helperNow(options *raymond.Options) string {
	t := time.Now().UTC()
	if tz := options.HashStr("timezone"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			t = t.In(loc)
		}
	}
	if off := options.HashStr("offset"); off != "" {
		t = applyOffset(t, off)
	}
	switch f := options.HashStr("format"); f {
	case "":
		return t.Format("2006-01-02T15:04:05Z07:00")
	case "epoch":
		return strconv.FormatInt(t.UnixMilli(), 10)
	case "unix":
		return strconv.FormatInt(t.Unix(), 10)
	default:
		return t.Format(javaLayout(f))
	}
}

// applyOffset adds WireMock's offset ("3 days", "-1 hours").
func applyOffset(t time.Time, off string) time.Time {
	f := strings.Fields(off)
	if len(f) != 2 {
		return t
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return t
	}
	switch strings.TrimSuffix(strings.ToLower(f[1]), "s") {
	case "second":
		return t.Add(time.Duration(n) * time.Second)
	case "minute":
		return t.Add(time.Duration(n) * time.Minute)
	case "hour":
		return t.Add(time.Duration(n) * time.Hour)
	case "day":
		return t.AddDate(0, 0, n)
	case "week":
		return t.AddDate(0, 0, 7*n)
	case "month":
		return t.AddDate(0, n, 0)
	case "year":
		return t.AddDate(n, 0, 0)
	}
	return t
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
