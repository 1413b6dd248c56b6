package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableAlignsWideNames: columns line up on a terminal whatever the
// names hold: CJK and emoji take two columns, a combining mark none, and a
// tab or an escape is shown escaped, not obeyed.
func TestTableAlignsWideNames(t *testing.T) {
	var b bytes.Buffer
	tw := newTable(&b)
	tw.row("TEST", "WHERE")
	tw.row("plain", "a.yaml:1:1")
	tw.row("日本語 テスト 🚀", "b.yaml:2:1")
	tw.row("e\u0301te\twith tab\x1b[31m", "c.yaml:3:1")
	tw.flush()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	col := -1
	for _, l := range lines {
		i := strings.Index(l, "WHERE")
		if i < 0 {
			i = strings.Index(l, ".yaml")
			i -= 1 // the column starts at the file's first letter
		}
		w := cellWidth(l[:i])
		if col >= 0 && w != col {
			t.Errorf("column at %d, want %d:\n%s", w, col, b.String())
		}
		col = w
	}
	if !strings.Contains(b.String(), `te\twith tab\x1b[31m`) {
		t.Errorf("control characters not escaped:\n%q", b.String())
	}
	for s, want := range map[string]int{"abc": 3, "日本": 4, "🚀": 2, "e\u0301": 1} {
		if got := cellWidth(s); got != want {
			t.Errorf("cellWidth(%q) = %d, want %d", s, got, want)
		}
	}
}
