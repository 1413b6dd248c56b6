package diag

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	for _, tc := range []struct {
		word  string
		cands []string
		want  string
	}{
		{"htp", []string{"http", "exec"}, "http"},
		{"stauts", []string{"status", "headers"}, "status"}, // a transposition is one edit
		{"Tests", []string{"tests"}, "tests"},
		{"c", []string{"a", "b"}, ""},                // replacing the whole word is no suggestion
		{"frobnicate", []string{"http", "exec"}, ""}, // too far
	} {
		if got := Closest(tc.word, tc.cands); got != tc.want {
			t.Errorf("Closest(%q, %v) = %q, want %q", tc.word, tc.cands, got, tc.want)
		}
	}
}

func TestListSortsAndKeepsPositions(t *testing.T) {
	var l List
	l.Add(Errorf(Pos{File: "b.yaml", Line: 1, Col: 1}, "second file"))
	l.Add(Errorf(Pos{File: "a.yaml", Line: 9, Col: 2}, "later line"))
	l.Add(Errorf(Pos{File: "a.yaml", Line: 3, Col: 5}, "first").WithHint("fix it"))
	l.AddErr(Pos{File: "c.yaml"}, fmt.Errorf("wrapped: %w", Errorf(Pos{File: "a.yaml", Line: 3, Col: 1}, "inner")))
	l.AddErr(Pos{File: "d.yaml", Line: 7}, errors.New("plain"))
	got := []string{}
	for _, e := range l.Errors() {
		got = append(got, e.Error())
	}
	want := []string{
		"a.yaml:3:1: inner",
		"a.yaml:3:5: first (fix it)",
		"a.yaml:9:2: later line",
		"b.yaml:1:1: second file",
		"d.yaml:7: plain",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var empty *List
	if empty.Err() != nil || (&List{}).Err() != nil {
		t.Error("an empty list must be no error")
	}
}

func TestRenderShowsTheLineAndACaret(t *testing.T) {
	src := map[string]string{"s.yaml": "name: x\ntests:\n  - nme: a\n"}
	out := Render([]*Error{Errorf(Pos{File: "s.yaml", Line: 3, Col: 5}, "unknown key").WithHint(`did you mean "name"?`)},
		func(f string) ([]byte, error) { return []byte(src[f]), nil })
	want := "s.yaml:3:5: unknown key\n     3 |   - nme: a\n       |     ^\n  hint: did you mean \"name\"?\n"
	if out != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
}

// A long line is cut to a window around the column, the caret still under
// it; a short one is shown whole.
func TestExcerpt(t *testing.T) {
	long := strings.Repeat("a", 90_000) + "X" + strings.Repeat("b", 500)
	got, caret := Excerpt(long, 90_001)
	r := []rune(got)
	if len(r) > excerptWidth+2 || r[caret-1] != 'X' || r[0] != '…' || r[len(r)-1] != '…' {
		t.Fatalf("Excerpt(long, 90001) = %q (%d runes), caret %d", got, len(r), caret)
	}
	if got, caret := Excerpt("X"+strings.Repeat("b", 500), 1); !strings.HasPrefix(got, "X") || caret != 1 || !strings.HasSuffix(got, "…") {
		t.Fatalf("at the start: %q, %d", got, caret)
	}
	if got, caret := Excerpt("a\tb\xffc", 3); got != "a b\uFFFDc" || caret != 3 {
		t.Fatalf("short: %q, %d", got, caret)
	}
	out := Render([]*Error{Errorf(Pos{File: "f.yaml", Line: 1, Col: 90_001}, "here")}, func(string) ([]byte, error) { return []byte(long), nil })
	if len(out) > 400 || !strings.Contains(out, "X") {
		t.Fatalf("Render of a 90 KB line is %d bytes:\n%.300s", len(out), out)
	}
}

// Line numbers of five digits or more widen the gutter on both lines, so
// the caret stays under its column.
func TestRenderWideLineNumbers(t *testing.T) {
	lines := strings.Repeat("\n", 10003) + "  - exec: ((nope))\n"
	out := Render([]*Error{Errorf(Pos{File: "s.yaml", Line: 10004, Col: 13}, "undefined")},
		func(string) ([]byte, error) { return []byte(lines), nil })
	want := "s.yaml:10004:13: undefined\n  10004 |   - exec: ((nope))\n        |             ^\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// A wide character (CJK) takes two terminal columns, a combining mark
// none: the caret is indented by what the characters before it take.
func TestRenderCaretUnderWideCharacters(t *testing.T) {
	for _, tc := range []struct {
		line string
		col  int
		want string // the caret line's indentation after "| "
	}{
		{`args: ["注文: ((nope2))"]`, 13, strings.Repeat(" ", 14)},
		{`args: ["Größe: ((nope))"]`, 16, strings.Repeat(" ", 15)},
		{"e\u0301: ((x))", 4, "  "},
	} {
		out := Render([]*Error{Errorf(Pos{File: "s.yaml", Line: 1, Col: tc.col}, "here")},
			func(string) ([]byte, error) { return []byte(tc.line), nil })
		lines := strings.Split(out, "\n")
		if want := "       | " + tc.want + "^"; len(lines) < 3 || lines[2] != want {
			t.Errorf("%q col %d: caret line %q; want %q", tc.line, tc.col, lines[2], want)
		}
	}
}

func TestPrefixCutsBetweenCharacters(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abc", 2, "ab"}, {"aéb", 2, "a"}, {"aéb", 3, "aé"}, {"€x", 1, ""}, {"", 0, ""}} {
		if got := Prefix(c.s, c.n); got != c.want {
			t.Errorf("Prefix(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
