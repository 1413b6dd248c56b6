package html

import (
	"encoding/json"
	"testing"
)

// quote escapes as encoding/json does.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "</script><b>&amp;", "tab\tnl\n\x00\x1f", "\u2028\u2029", "caf\xe9", "→ ⚠ 😀", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := quote(s); got != string(want) {
			t.Errorf("quote(%q) = %s; want %s", s, got, want)
		}
	})
}
