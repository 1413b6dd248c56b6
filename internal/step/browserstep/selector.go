package browserstep

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/andybalholm/cascadia"
)

// Selector finds elements on a page. The forms:
//
//	#sku, form button[type=submit]     CSS (css= may prefix it)
//	text=Place order                   the innermost elements whose text contains it (any case)
//	text="Place order"                 … whose text is exactly it
//	role=button                        elements of an ARIA role, explicit or implied by the tag
//	role=button[name="Place order"]    … whose accessible name contains it (name=exact: "…" for exact)
type Selector struct {
	Kind  string `json:"kind"`  // css, text, role
	Value string `json:"value"` // the CSS or the text
	Role  string `json:"role,omitempty"`
	Name  string `json:"name,omitempty"`
	Exact bool   `json:"exact,omitempty"`
	Raw   string `json:"-"`
}

func (s Selector) String() string { return s.Raw }

// maxSelector bounds a selector's length.
const maxSelector = 4096

// ParseSelector parses a selector; the error says what is wrong and how a
// good one looks.
func ParseSelector(raw string) (Selector, error) {
	s := Selector{Raw: raw}
	if len(raw) > maxSelector {
		return s, fmt.Errorf("selector longer than %d bytes", maxSelector)
	}
	body := strings.TrimSpace(raw)
	if body == "" {
		return s, fmt.Errorf("empty selector: give CSS (#sku), text=… or role=…")
	}
	switch {
	case strings.HasPrefix(body, "text="):
		s.Kind = "text"
		v, exact, err := unquote(strings.TrimSpace(body[len("text="):]))
		if err != nil {
			return s, fmt.Errorf("selector %q: %v", raw, err)
		}
		if v == "" {
			return s, fmt.Errorf("selector %q: text= needs the text to find (text=Place order)", raw)
		}
		s.Value, s.Exact = v, exact
	case strings.HasPrefix(body, "role="):
		s.Kind = "role"
		rest := strings.TrimSpace(body[len("role="):])
		r, attrs, hasAttrs := strings.Cut(rest, "[")
		s.Role = strings.TrimSpace(r)
		if s.Role == "" || strings.ContainsAny(s.Role, " \"'=]") {
			return s, fmt.Errorf("selector %q: role= needs a role name (role=button, role=link[name=\"Home\"])", raw)
		}
		if hasAttrs {
			if !strings.HasSuffix(attrs, "]") {
				return s, fmt.Errorf("selector %q: missing ] after the role's attributes", raw)
			}
			key, val, ok := strings.Cut(strings.TrimSuffix(attrs, "]"), "=")
			if !ok || strings.TrimSpace(key) != "name" {
				return s, fmt.Errorf("selector %q: a role takes [name=\"…\"] only", raw)
			}
			v, exact, err := unquote(strings.TrimSpace(val))
			if err != nil {
				return s, fmt.Errorf("selector %q: %v", raw, err)
			}
			s.Name, s.Exact = v, exact
		}
	default:
		s.Kind = "css"
		s.Value = strings.TrimSpace(strings.TrimPrefix(body, "css="))
		if _, err := cascadia.ParseGroup(s.Value); err != nil {
			return s, fmt.Errorf("selector %q is not valid CSS: %v (for text, write text=…; for a role, role=…)", raw, err)
		}
	}
	return s, nil
}

// unquote reads a text that may be quoted: quoted means exact.
func unquote(v string) (string, bool, error) {
	if len(v) >= 1 && (v[0] == '"' || v[0] == '\'') {
		if len(v) < 2 || v[len(v)-1] != v[0] {
			return "", false, fmt.Errorf("unterminated quote in %s", v)
		}
		if v[0] == '"' {
			u, err := strconv.Unquote(v)
			if err != nil {
				return "", false, fmt.Errorf("bad quoted text %s: %v", v, err)
			}
			return u, true, nil
		}
		return v[1 : len(v)-1], true, nil
	}
	return v, false, nil
}
