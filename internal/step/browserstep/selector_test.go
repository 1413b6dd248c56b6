package browserstep

import (
	"strings"
	"testing"
)

func TestParseSelector(t *testing.T) {
	good := map[string]Selector{
		"#sku":                            {Kind: "css", Value: "#sku"},
		"css=form button[type=submit]":    {Kind: "css", Value: "form button[type=submit]"},
		"text=Place order":                {Kind: "text", Value: "Place order"},
		`text="Place order"`:              {Kind: "text", Value: "Place order", Exact: true},
		"role=button":                     {Kind: "role", Role: "button"},
		`role=button[name="Place order"]`: {Kind: "role", Role: "button", Name: "Place order", Exact: true},
		`role=link[name=Home]`:            {Kind: "role", Role: "link", Name: "Home"},
	}
	for raw, want := range good {
		got, err := ParseSelector(raw)
		want.Raw = raw
		if err != nil || got != want {
			t.Errorf("ParseSelector(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	bad := map[string]string{
		"":                       "empty selector",
		"div[":                   "not valid CSS",
		"#a >> ":                 "not valid CSS",
		"text=":                  "needs the text",
		`text="open`:             "unterminated quote",
		"role=":                  "needs a role name",
		`role=button[name="x"`:   "missing ]",
		`role=button[label="x"]`: "[name=",
	}
	for raw, want := range bad {
		if _, err := ParseSelector(raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSelector(%q) error = %v; want one containing %q", raw, err, want)
		}
	}
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"#sku", "text=Place order", `role=button[name="x"]`, "div > p:nth-child(2)", `text="a\"b"`, "css=a[href^='x']"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := ParseSelector(raw)
		if err != nil {
			return
		}
		if s.Kind == "" || s.Raw != raw {
			t.Fatalf("ParseSelector(%q) = %+v without an error", raw, s)
		}
	})
}
