package stub

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/ohler55/ojg/jp"
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
	var got any
	if err := json.Unmarshal([]byte(v), &got); err != nil {
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
	case float64:
		g, ok := got.(float64)
		return ok && g == w
	default:
		return want == got
	}
}

// jsonPath is WireMock's matchesJsonPath: the expression must find
// something in the value parsed as JSON, and, with a sub-matcher, what it
// finds must match.
type jsonPath struct {
	src  string
	expr jp.Expr
	sub  Matcher
}

func (m jsonPath) Match(v string, present bool) bool {
	if !present {
		return false
	}
	var doc any
	if err := json.Unmarshal([]byte(v), &doc); err != nil {
		return false
	}
	found := m.expr.Get(doc)
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
