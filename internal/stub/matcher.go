package stub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strings"

	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"
)

// Matcher tests one value of a request: a header, a query parameter, a
// cookie, a path parameter or the body. present is false when the request
// has no such value at all.
type Matcher interface {
	Match(v string, present bool) bool
	// String describes the matcher in WireMock's words, for near misses.
	String() string
	// wm is the matcher in WireMock's JSON.
	wm() map[string]any
}

type equalTo struct {
	want string
	fold bool
}

func (m equalTo) Match(v string, present bool) bool {
	if !present {
		return false
	}
	if m.fold {
		return strings.EqualFold(v, m.want)
	}
	return v == m.want
}

func (m equalTo) String() string {
	if m.fold {
		return fmt.Sprintf("equalTo %q (case-insensitive)", m.want)
	}
	return fmt.Sprintf("equalTo %q", m.want)
}

type contains struct{ want string }

func (m contains) Match(v string, present bool) bool { return present && strings.Contains(v, m.want) }
func (m contains) String() string                    { return fmt.Sprintf("contains %q", m.want) }

type doesNotContain struct{ want string }

// doesNotContain, like doesNotMatch, holds for a value that is absent, as
// in WireMock.
func (m doesNotContain) Match(v string, present bool) bool {
	return !present || !strings.Contains(v, m.want)
}
func (m doesNotContain) String() string { return fmt.Sprintf("doesNotContain %q", m.want) }

// matches is a regular expression that must match the whole value, as
// Java's String.matches does.
type matches struct {
	src string
	re  *regexp.Regexp
	not bool
}

func newMatches(src string, not bool) (matches, error) {
	if _, err := regexp.Compile(src); err != nil {
		return matches{}, regexErr(err)
	}
	re, err := regexp.Compile(`^(?:` + src + `)$`)
	if err != nil {
		return matches{}, err
	}
	return matches{src: src, re: re, not: not}, nil
}

func (m matches) Match(v string, present bool) bool {
	if !present {
		return m.not // an absent value does not match anything
	}
	return m.re.MatchString(v) != m.not
}

func (m matches) String() string {
	if m.not {
		return fmt.Sprintf("doesNotMatch %q", m.src)
	}
	return fmt.Sprintf("matches %q", m.src)
}

type absent struct{}

func (absent) Match(_ string, present bool) bool { return !present }
func (absent) String() string                    { return "absent" }

// present is WireMock's `absent: false`: any value will do.
type present struct{}

func (present) Match(_ string, present bool) bool { return present }
func (present) String() string                    { return "present" }

type and []Matcher

func (m and) Match(v string, present bool) bool {
	for _, x := range m {
		if !x.Match(v, present) {
			return false
		}
	}
	return true
}

func (m and) String() string { return join("and", m) }

type or []Matcher

func (m or) Match(v string, present bool) bool {
	for _, x := range m {
		if x.Match(v, present) {
			return true
		}
	}
	return false
}

func (m or) String() string { return join("or", m) }

func join(op string, ms []Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return op + "(" + strings.Join(parts, ", ") + ")"
}

// equalToJSON compares the value as JSON with the wanted document.
type equalToJSON struct {
	want        any
	src         string
	ignoreOrder bool
	ignoreExtra bool
}

func (m equalToJSON) Match(v string, present bool) bool {
	if !present {
		return false
	}
	got, err := decodeExact([]byte(v))
	if err != nil {
		return false
	}
	return jsonEqual(m.want, got, m.ignoreOrder, m.ignoreExtra)
}

func (m equalToJSON) String() string {
	s := "equalToJson " + m.src
	if m.ignoreOrder {
		s += " (ignoring array order)"
	}
	if m.ignoreExtra {
		s += " (ignoring extra elements)"
	}
	return s
}

// jsonEqual compares decoded JSON: want against got, optionally ignoring
// the order of array items and elements got has beyond want's.
func jsonEqual(want, got any, ignoreOrder, ignoreExtra bool) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || (!ignoreExtra && len(g) != len(w)) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !jsonEqual(wv, gv, ignoreOrder, ignoreExtra) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || (!ignoreExtra && len(g) != len(w)) || len(g) < len(w) {
			return false
		}
		if !ignoreOrder {
			for i := range w {
				if !jsonEqual(w[i], g[i], ignoreOrder, ignoreExtra) {
					return false
				}
			}
			return true
		}
		// Each wanted item needs its own matching item. Greedy pairing is
		// enough for the small arrays request bodies hold.
		used := make([]bool, len(g))
	next:
		for _, wv := range w {
			for j, gv := range g {
				if !used[j] && jsonEqual(wv, gv, ignoreOrder, ignoreExtra) {
					used[j] = true
					continue next
				}
			}
			return false
		}
		return true
	case json.Number:
		g, ok := got.(json.Number)
		return ok && numberEqual(w, g)
	case string:
		if ok, matched := placeholder(w, got); ok {
			return matched
		}
		return want == got
	default:
		return want == got
	}
}

// decodeExact decodes JSON keeping numbers as written (json.Number), so
// 9007199254740993 is not 9007199254740992: WireMock compares BigDecimals.
func decodeExact(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("more after the JSON value")
	}
	return v, nil
}

// numberEqual compares two JSON numbers by value, exactly: 1.0 is 1,
// 1e2 is 100.
func numberEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, ok1 := new(big.Rat).SetString(string(a))
	y, ok2 := new(big.Rat).SetString(string(b))
	return ok1 && ok2 && x.Cmp(y) == 0
}

// placeholder applies JsonUnit's placeholders, which WireMock's
// equalToJson honours: ${json-unit.any-string}, any-number, any-boolean,
// ignore, ignore-element and regex. ok is false for any other string.
func placeholder(want string, got any) (ok, matched bool) {
	inner, ok := strings.CutPrefix(want, "${json-unit.")
	if !ok {
		if inner, ok = strings.CutPrefix(want, "#{json-unit."); !ok {
			return false, false
		}
	}
	if src, ok := strings.CutPrefix(inner, "regex}"); ok {
		// ${json-unit.regex}PATTERN
		g, is := got.(string)
		if !is {
			return true, false
		}
		re, err := regexp.Compile("^(?:" + src + ")$")
		return true, err == nil && re.MatchString(g)
	}
	inner, ok = strings.CutSuffix(inner, "}")
	if !ok {
		return false, false
	}
	switch inner {
	case "any-string":
		_, is := got.(string)
		return true, is
	case "any-number":
		_, is := got.(json.Number)
		return true, is
	case "any-boolean":
		_, is := got.(bool)
		return true, is
	case "ignore", "ignore-element":
		return true, true
	}
	if src, ok := strings.CutPrefix(inner, "regex"); ok {
		g, is := got.(string)
		if !is {
			return true, false
		}
		re, err := regexp.Compile("^(?:" + src + ")$")
		return true, err == nil && re.MatchString(g)
	}
	return false, false
}

// jsonPath is WireMock's matchesJsonPath: the expression must find
// something in the value parsed as JSON, and, with a sub-matcher, what it
// finds must match.
type jsonPath struct {
	src  string
	expr *pathExpr
	sub  Matcher
}

func (m jsonPath) Match(v string, present bool) bool {
	if !present {
		return false
	}
	doc, err := oj.ParseString(v)
	if err != nil {
		return false
	}
	found := m.expr.get(doc)
	if m.sub == nil {
		for _, f := range found {
			if f != nil {
				return true
			}
		}
		return false
	}
	if len(found) == 0 {
		return m.sub.Match("", false)
	}
	// An indefinite path (a filter, a wildcard) finds a list: one item
	// matching is enough, or the list as a whole.
	for _, f := range found {
		if m.sub.Match(jsonText(f), true) {
			return true
		}
	}
	return len(found) > 1 && m.sub.Match(jsonText(found), true)
}

func (m jsonPath) String() string {
	if m.sub == nil {
		return fmt.Sprintf("matchesJsonPath %q", m.src)
	}
	return fmt.Sprintf("matchesJsonPath %q %s", m.src, m.sub)
}

// jsonText renders a JSON value the way WireMock hands it to a matcher:
// strings bare, everything else as JSON.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// regexErr is a regexp error without the package's prefix.
func regexErr(err error) error {
	return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
}

// pathExpr is a JSONPath as WireMock's engine (Jayway) reads it: ojg's
// syntax plus Jayway's functions, @.x.size() and @.x.length() in filters
// (ojg's length(@.x)) and a trailing .size(), .length(), .min(), .max(),
// .avg(), .sum() on the whole path.
type pathExpr struct {
	x  jp.Expr
	fn string // the trailing function, "" for none
	// rootFilter: the path filters the root ($[?(...)]), which Jayway
	// applies to a root object itself, not to its members.
	rootFilter bool
}

var jaywayLen = regexp.MustCompile(`(@[A-Za-z0-9_.\[\]'"*-]*?)\.(?:size|length)\(\)`)
var trailingFn = regexp.MustCompile(`\.(size|length|min|max|avg|sum|stddev)\(\)$`)

func parsePath(src string) (*pathExpr, error) {
	p := &pathExpr{rootFilter: strings.HasPrefix(strings.TrimSpace(src), "$[?")}
	s := src
	if m := trailingFn.FindStringSubmatch(s); m != nil {
		p.fn = m[1]
		s = strings.TrimSuffix(s, m[0])
	}
	s = jaywayLen.ReplaceAllString(s, "length($1)")
	x, err := jp.ParseString(s)
	if err != nil {
		return nil, err
	}
	p.x = x
	return p, nil
}

// get evaluates the path on doc; a trailing function makes one result.
func (p *pathExpr) get(doc any) (found []any) {
	// ojg panics on some documents with filters (a filter over a null
	// root, found by FuzzServe): such a document matches nothing.
	defer func() {
		if recover() != nil {
			found = nil
		}
	}()
	if doc == nil {
		return nil
	}
	if _, isObj := doc.(map[string]any); isObj && p.rootFilter {
		doc = []any{doc}
	}
	found = p.x.Get(doc)
	if p.fn == "" {
		return found
	}
	var items []any
	if len(found) == 1 {
		switch v := found[0].(type) {
		case []any:
			items = v
		case string:
			if p.fn == "length" || p.fn == "size" {
				return []any{int64(len([]rune(v)))}
			}
		case map[string]any:
			if p.fn == "length" || p.fn == "size" {
				return []any{int64(len(v))}
			}
		}
	} else {
		items = found
	}
	if p.fn == "length" || p.fn == "size" {
		return []any{int64(len(items))}
	}
	var nums []float64
	for _, it := range items {
		switch n := it.(type) {
		case int64:
			nums = append(nums, float64(n))
		case float64:
			nums = append(nums, n)
		}
	}
	if len(nums) == 0 {
		return nil
	}
	out := nums[0]
	sum := 0.0
	for _, n := range nums {
		sum += n
		switch {
		case p.fn == "min" && n < out, p.fn == "max" && n > out:
			out = n
		}
	}
	switch p.fn {
	case "sum":
		out = sum
	case "avg":
		out = sum / float64(len(nums))
	case "stddev":
		mean := sum / float64(len(nums))
		v := 0.0
		for _, n := range nums {
			v += (n - mean) * (n - mean)
		}
		out = math.Sqrt(v / float64(len(nums)))
	}
	return []any{out}
}
