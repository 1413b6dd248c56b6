package decode

import (
	"strings"
	"unicode/utf8"

	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// PosIn is the position in the file of the byte at offset in scalar n's
// value (a template inside a string), columns counted in characters as
// YAML counts them. The value is mapped back through the scalar's style:
// a plain or quoted string folded over lines, escapes and doubled quotes
// in quoted ones, the indentation of literal (|) and folded (>) blocks.
// That needs the file's text (Src); without it, or when the text there is
// not the node's, a single-line plain or quoted string is still placed by
// its value, a literal block on the line that holds the offset (no
// column), and anything else at n itself.
func (d *Decoder) PosIn(n *yaml.Node, offset int) diag.Pos {
	pos := d.Pos(n)
	if n == nil || n.Kind != yaml.ScalarNode || offset < 0 || offset > len(n.Value) {
		return pos
	}
	for offset > 0 && offset < len(n.Value) && !utf8.RuneStart(n.Value[offset]) {
		offset-- // inside a character: its start
	}
	if before := n.Value[:offset]; d.Src == nil && d.src == nil && n.Anchor == "" && !strings.ContainsAny(before, " \n") {
		// Nothing before the offset can have been folded from a line
		// break: a plain or single-quoted string has it on its first
		// line, as written (but for doubled quotes), and the file need
		// not be read for it. (Only a non-specific tag, ! x, which YAML
		// leaves unmarked, would shift it; the file's text, once read,
		// tells.)
		switch n.Style {
		case 0:
			pos.Col += utf8.RuneCountInString(before)
			return pos
		case yaml.SingleQuotedStyle:
			pos.Col += 1 + utf8.RuneCountInString(before) + strings.Count(before, "'")
			return pos
		}
	}
	src := d.source()
	if src != nil {
		if line, col, ok := scalarPos(src, n, offset); ok {
			pos.Line, pos.Col = line, col
			return pos
		}
	}
	guess := guessPos(n, pos, offset)
	if src != nil && (guess.Line > src.lines() || guess.Col > utf8.RuneCountInString(src.line(guess.Line-1))+1) {
		return pos // never past the end of a line, or of the file: the scalar's start
	}
	return guess
}

// guessPos places offset by n's value and style alone.
func guessPos(n *yaml.Node, pos diag.Pos, offset int) diag.Pos {
	before := n.Value[:offset]
	quoted := n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		pos.Line += 1 + strings.Count(before, "\n")
		pos.Col = 0
	case strings.Contains(n.Value, "\n") || n.Anchor != "" || n.Style&(yaml.TaggedStyle|yaml.FoldedStyle) != 0:
	case quoted:
		pos.Col += 1 + utf8.RuneCountInString(before)
		if n.Style&yaml.SingleQuotedStyle != 0 {
			pos.Col += strings.Count(before, "'") // written ''
		}
	default:
		pos.Col += utf8.RuneCountInString(before)
	}
	return pos
}

// source is a file's text and where its lines start and end, split
// where YAML counts a new line: at CR LF, CR, LF, NEL, LS and PS. A byte
// order mark, which YAML does not count as a column, is left out.
type source struct {
	data       []byte
	start, end []int32
}

func (s *source) lines() int { return len(s.start) }

// line is line i (0-based) without its line break.
func (s *source) line(i int) string { return string(s.data[s.start[i]:s.end[i]]) }

func newSource(data []byte) *source {
	s := &source{data: data}
	from := 0
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		from = 3
	}
	for i := from; i < len(data); {
		size := 0
		switch {
		case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
			size = 2
		case data[i] == '\r' || data[i] == '\n':
			size = 1
		case data[i] == 0xC2 && i+1 < len(data) && data[i+1] == 0x85:
			size = 2
		case data[i] == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9):
			size = 3
		}
		if size == 0 {
			i++
			continue
		}
		s.start, s.end = append(s.start, int32(from)), append(s.end, int32(i))
		i += size
		from = i
	}
	s.start, s.end = append(s.start, int32(from)), append(s.end, int32(len(data)))
	return s
}

// source is the file's text: Src, or File read the first time it is
// needed (nil when it cannot be).
func (d *Decoder) source() *source {
	if d.src != nil {
		return d.src
	}
	data := d.Src
	if data == nil {
		if d.srcTried || d.File == "" {
			return nil
		}
		d.srcTried = true
		var err error
		if data, err = ReadFile(d.File); err != nil {
			return nil
		}
	}
	if len(data) > MaxFileBytes {
		return nil
	}
	d.src = newSource(data)
	return d.src
}

// cursor is a place in the file's lines: a line (0-based) and a byte in it.
type cursor struct {
	src *source
	li  int
	bi  int
	cur string // line li
}

func newCursor(src *source, li int) *cursor {
	return &cursor{src: src, li: li, cur: src.line(li)}
}

func (c *cursor) line() string { return c.cur }

// col is the cursor's 1-based column in characters.
func (c *cursor) col() int { return utf8.RuneCountInString(c.cur[:c.bi]) + 1 }

// nextLine moves to the start of the next line; false at the file's end.
func (c *cursor) nextLine() bool {
	if c.li+1 >= c.src.lines() {
		return false
	}
	c.li++
	c.bi = 0
	c.cur = c.src.line(c.li)
	return true
}

// skipBlanks skips spaces and tabs.
func (c *cursor) skipBlanks() {
	l := c.line()
	for c.bi < len(l) && (l[c.bi] == ' ' || l[c.bi] == '\t') {
		c.bi++
	}
}

// scalarPos maps offset in n's value to a line and column of src.
func scalarPos(src *source, n *yaml.Node, offset int) (line, col int, ok bool) {
	if n.Line < 1 || n.Line > src.lines() || n.Column < 1 {
		return 0, 0, false
	}
	c := newCursor(src, n.Line-1)
	// The node's column, in characters, as a byte index.
	l := c.line()
	for k := 1; k < n.Column; k++ {
		if c.bi >= len(l) {
			return 0, 0, false
		}
		_, size := utf8.DecodeRuneInString(l[c.bi:])
		c.bi += size
	}
	if !skipProperties(c) {
		return 0, 0, false
	}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return blockPos(c, n.Value, offset)
	case n.Style&yaml.DoubleQuotedStyle != 0:
		return quotedPos(c, '"', n.Value, offset)
	case n.Style&yaml.SingleQuotedStyle != 0:
		return quotedPos(c, '\'', n.Value, offset)
	}
	return plainPos(c, n.Value, offset)
}

// skipProperties moves past an anchor (&a) and a tag (!!str) before a
// scalar, and the blanks and line breaks after them.
func skipProperties(c *cursor) bool {
	for k := 0; k < 2; k++ {
		l := c.line()
		if c.bi >= len(l) || l[c.bi] != '&' && l[c.bi] != '!' {
			return true
		}
		for c.bi < len(l) && l[c.bi] != ' ' && l[c.bi] != '\t' {
			c.bi++
		}
		c.skipBlanks()
		for c.bi >= len(c.line()) || strings.HasPrefix(c.line()[c.bi:], "#") {
			if !c.nextLine() {
				return false
			}
			c.skipBlanks()
		}
	}
	return true
}

// lineMatcher follows a value made of the file's lines' text joined by
// line breaks, spaces and indentation YAML folded or removed (plain and
// block scalars, which have no escapes).
type lineMatcher struct {
	value  string
	offset int
	at     int // how much of value is matched
}

// match matches the text of one line, text starting at c, in the value
// after blanks and line breaks it may have there. found: the offset is
// in text, or in the gap before it, and c is moved to it.
func (m *lineMatcher) match(c *cursor, text string) (found, ok bool) {
	if text == "" {
		return false, true
	}
	g := m.at
	for g < len(m.value) && commonPrefix(m.value[g:], text) == 0 {
		if b := m.value[g]; b != ' ' && b != '\t' && b != '\n' {
			return false, false
		}
		g++
	}
	if g == len(m.value) {
		return false, false
	}
	if m.offset < g {
		return true, true // in the gap: the text after it
	}
	k := commonPrefix(m.value[g:], text)
	if m.offset < g+k {
		c.bi += m.offset - g
		return true, true
	}
	m.at = g + k
	return false, true
}

func commonPrefix(a, b string) int {
	k := 0
	for k < len(a) && k < len(b) && a[k] == b[k] {
		k++
	}
	return k
}

// plainPos follows a plain scalar from its first character at c.
func plainPos(c *cursor, value string, offset int) (int, int, bool) {
	m := &lineMatcher{value: value, offset: offset}
	for first := true; ; first = false {
		if !first {
			if !c.nextLine() {
				return 0, 0, false
			}
			c.skipBlanks()
		}
		found, ok := m.match(c, c.line()[c.bi:])
		if !ok {
			return 0, 0, false
		}
		if found {
			return c.li + 1, c.col(), true
		}
	}
}

// blockPos follows a literal or folded block scalar whose header (| or >)
// is at c: its lines start on the next line, each indented.
func blockPos(c *cursor, value string, offset int) (int, int, bool) {
	if l := c.line(); c.bi >= len(l) || l[c.bi] != '|' && l[c.bi] != '>' {
		return 0, 0, false
	}
	m := &lineMatcher{value: value, offset: offset}
	for c.nextLine() {
		l := c.line()
		for c.bi < len(l) && l[c.bi] == ' ' {
			c.bi++
		}
		found, ok := m.match(c, l[c.bi:])
		if !ok {
			return 0, 0, false
		}
		if found {
			return c.li + 1, c.col(), true
		}
	}
	return 0, 0, false
}

// quotedPos follows a single- or double-quoted scalar whose opening quote
// is at c, through its escapes and line folding.
func quotedPos(c *cursor, q byte, value string, offset int) (int, int, bool) {
	if l := c.line(); c.bi >= len(l) || l[c.bi] != q {
		return 0, 0, false
	}
	c.bi++
	at := 0
	// emit matches s, written at c, against the value.
	emit := func(s string) (found, ok bool) {
		if offset < at+len(s) {
			return true, value[at:offset] == s[:offset-at]
		}
		if !strings.HasPrefix(value[at:], s) {
			return false, false
		}
		at += len(s)
		return false, true
	}
	for steps := 0; steps <= len(value)+2*c.src.lines()+4; steps++ {
		l := c.line()
		if c.bi >= len(l) {
			// A line break: folded to a space, or to a line break for
			// each empty line after it; the next line's indentation goes.
			empty := 0
			for {
				if !c.nextLine() {
					return 0, 0, false
				}
				c.skipBlanks()
				if c.bi < len(c.line()) {
					break
				}
				empty++
			}
			fold := " "
			if empty > 0 {
				fold = strings.Repeat("\n", empty)
			}
			found, ok := emit(fold)
			if !ok {
				return 0, 0, false
			}
			if found {
				return c.li + 1, c.col(), true
			}
			continue
		}
		var s string
		next := c.bi + 1
		switch b := l[c.bi]; {
		case b == q && q == '\'':
			if next >= len(l) || l[next] != '\'' {
				return 0, 0, false // the closing quote, before the offset
			}
			s, next = "'", next+1
		case b == q:
			return 0, 0, false
		case b == '\\' && q == '"':
			if next >= len(l) {
				// An escaped line break: the lines join, without a space.
				if !c.nextLine() {
					return 0, 0, false
				}
				c.skipBlanks()
				continue
			}
			r, size := unescape(l[next:])
			if size == 0 {
				return 0, 0, false
			}
			s, next = string(r), next+size
		case b == ' ' || b == '\t':
			j := c.bi
			for j < len(l) && (l[j] == ' ' || l[j] == '\t') {
				j++
			}
			if j == len(l) {
				c.bi = j // blanks before a line break go
				continue
			}
			s, next = l[c.bi:j], j
		default:
			_, size := utf8.DecodeRuneInString(l[c.bi:])
			s, next = l[c.bi:c.bi+size], c.bi+size
		}
		found, ok := emit(s)
		if !ok {
			return 0, 0, false
		}
		if found {
			if b := l[c.bi]; b == ' ' || b == '\t' {
				c.bi += offset - at // inside a run of blanks
			}
			return c.li + 1, c.col(), true
		}
		c.bi = next
	}
	return 0, 0, false
}

// unescape decodes the escape after a backslash in a double-quoted
// scalar: the character and the bytes it took (0: not an escape).
func unescape(s string) (rune, int) {
	if s == "" {
		return 0, 0
	}
	switch s[0] {
	case '0':
		return 0, 1
	case 'a':
		return '\a', 1
	case 'b':
		return '\b', 1
	case 't', '\t':
		return '\t', 1
	case 'n':
		return '\n', 1
	case 'v':
		return '\v', 1
	case 'f':
		return '\f', 1
	case 'r':
		return '\r', 1
	case 'e':
		return 0x1b, 1
	case ' ', '"', '/', '\\':
		return rune(s[0]), 1
	case 'N':
		return 0x85, 1
	case '_':
		return 0xa0, 1
	case 'L':
		return 0x2028, 1
	case 'P':
		return 0x2029, 1
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[0]]
	if digits == 0 || len(s) < 1+digits {
		return 0, 0
	}
	var r rune
	for _, h := range []byte(s[1 : 1+digits]) {
		var v byte
		switch {
		case h >= '0' && h <= '9':
			v = h - '0'
		case h >= 'a' && h <= 'f':
			v = h - 'a' + 10
		case h >= 'A' && h <= 'F':
			v = h - 'A' + 10
		default:
			return 0, 0
		}
		r = r<<4 | rune(v)
	}
	return r, 1 + digits
}
