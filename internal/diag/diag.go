// Package diag holds source positions and the positioned errors that every
// phase of seam (load, validate, run, report) attaches to suite nodes.
package diag

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Pos is a place in a suite file. Line and Col are 1-based; a zero Pos means
// "no position known".
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// IsZero reports whether p names no place.
func (p Pos) IsZero() bool { return p.File == "" && p.Line == 0 }

// String renders p as file:line:col, leaving out the parts that are unknown.
func (p Pos) String() string {
	switch {
	case p.IsZero():
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a problem at a position, with an optional hint that tells the
// user what to do about it.
type Error struct {
	Pos  Pos
	Msg  string
	Hint string
	Err  error // cause, if any; Msg already describes it
}

func (e *Error) Error() string {
	s := e.Msg
	if p := e.Pos.String(); p != "" {
		s = p + ": " + s
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an *Error at p.
func Errorf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// WithHint sets the hint and returns e, for chaining.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// List collects every problem of a phase so they can be reported at once.
type List struct {
	errs []*Error
}

// Add appends e; a nil e is ignored.
func (l *List) Add(e *Error) {
	if e != nil {
		l.errs = append(l.errs, e)
	}
}

// AddErr appends any error: a *Error (or a List) keeps its position, any other
// error gets p.
func (l *List) AddErr(p Pos, err error) {
	if err == nil {
		return
	}
	var pl *List
	if errors.As(err, &pl) {
		l.errs = append(l.errs, pl.errs...)
		return
	}
	var pe *Error
	if errors.As(err, &pe) {
		l.errs = append(l.errs, pe)
		return
	}
	l.errs = append(l.errs, &Error{Pos: p, Msg: err.Error(), Err: err})
}

// Len is the number of problems.
func (l *List) Len() int { return len(l.errs) }

// Errors returns the problems sorted by file, line and column.
func (l *List) Errors() []*Error {
	out := append([]*Error(nil), l.errs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Pos, out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

// Err returns l as an error, or nil when it is empty.
func (l *List) Err() error {
	if l == nil || len(l.errs) == 0 {
		return nil
	}
	return l
}

func (l *List) Error() string {
	var b strings.Builder
	for i, e := range l.Errors() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Render writes every problem with an excerpt of its source line and a caret
// under the column, the way compilers show errors. Sources are read once each
// through read; a file that cannot be read is shown without excerpt.
func Render(errs []*Error, read func(file string) ([]byte, error)) string {
	if read == nil {
		read = os.ReadFile
	}
	cache := map[string][]string{}
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Pos.String())
		if !e.Pos.IsZero() {
			b.WriteString(": ")
		}
		b.WriteString(e.Msg)
		b.WriteByte('\n')
		if e.Pos.File != "" && e.Pos.Line > 0 {
			lines, ok := cache[e.Pos.File]
			if !ok {
				if data, err := read(e.Pos.File); err == nil {
					lines = strings.Split(string(data), "\n")
				}
				cache[e.Pos.File] = lines
			}
			if e.Pos.Line <= len(lines) {
				line, caret := Excerpt(lines[e.Pos.Line-1], e.Pos.Col)
				// The gutter grows for a line number of five digits
				// or more, on the caret's line as on the source's.
				num := strconv.Itoa(e.Pos.Line)
				gutter := max(4, len(num))
				fmt.Fprintf(&b, "  %*s | %s\n", gutter, num, line)
				if caret > 0 {
					fmt.Fprintf(&b, "  %*s | %s^\n", gutter, "", strings.Repeat(" ", indent(line, caret)))
				}
			}
		}
		if e.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", e.Hint)
		}
	}
	return b.String()
}

// indent is how many terminal columns the characters of line before col
// (1-based, in characters) take: two for a wide or full-width character
// (CJK, most emoji), none for a combining mark, one for the others, and
// one for each column past the line's end.
func indent(line string, col int) int {
	n, k := 0, 1
	for _, r := range line {
		if k >= col {
			return n
		}
		k++
		n += RuneWidth(r)
	}
	return n + max(0, col-k)
}

// excerptWidth is the most characters of a source line an excerpt shows.
const excerptWidth = 100

// Excerpt makes a source line fit to show under an error: tabs as spaces,
// bytes that are not UTF-8 as U+FFFD, and a line longer than excerptWidth
// characters cut to a window around col (1-based, in characters), marked
// with … where cut. It returns the text and col's column in it (0 when col
// is 0).
func Excerpt(line string, col int) (string, int) {
	line = strings.ReplaceAll(strings.TrimRight(line, "\r"), "\t", " ")
	r := []rune(strings.ToValidUTF8(line, "\uFFFD"))
	if len(r) <= excerptWidth {
		return string(r), col
	}
	at := max(col, 1) - 1
	start := max(0, min(at-excerptWidth/2, len(r)-excerptWidth))
	end := min(len(r), start+excerptWidth)
	out := string(r[start:end])
	caret := col - start
	if start > 0 {
		out = "…" + out
		caret++
	}
	if end < len(r) {
		out += "…"
	}
	if col == 0 {
		caret = 0
	}
	return out, caret
}

// Closest returns the candidate nearest to word by edit distance, if it is
// close enough to be a plausible typo; otherwise "".
func Closest(word string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		d := distance(strings.ToLower(word), strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	limit := len(word) / 3
	if limit < 2 {
		limit = 2
	}
	// A suggestion that replaces the whole word is no suggestion.
	if best == "" || bestD > limit || bestD >= len([]rune(word)) {
		return ""
	}
	return best
}

// distance is the Levenshtein distance, with transposition counted as one.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// RuneWidth is how many columns a terminal gives r: two for a wide or
// full-width rune (CJK, most emoji), none for a combining mark, a zero
// width joiner or a variation selector, else one.
func RuneWidth(r rune) int {
	switch {
	case unicode.Is(unicode.Mn, r) || r == 0x200d || r >= 0xfe00 && r <= 0xfe0f:
		return 0
	case width.LookupRune(r).Kind() == width.EastAsianWide || width.LookupRune(r).Kind() == width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// Prefix is the longest prefix of s of at most n bytes that ends between
// two UTF-8 characters: where a message cuts a long value, so the cut
// never leaves half a character (shown as \xc3 or U+FFFD).
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
