package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TermSafe makes text from the system under test (a step's output, a
// response body, a component's log line, an interaction) safe to print on
// a terminal: control characters are shown escaped instead of acting on
// the terminal. ESC (colours, cursor moves, OSC titles and clipboard
// writes) shows as \x1b, BEL as \a, BS as \b, FF as \f, VT as \v, a CR
// that ends no line as \r, other C0 characters and DEL as \xNN, C1
// characters (U+0080–U+009F, which some terminals obey as ESC sequences)
// as \u0080, the bidirectional overrides and isolates as \u202e, and bytes
// that are not UTF-8 as \xNN. Newlines and tabs stay,
// and a CR before a newline (CRLF line ends) is dropped. The JSON, JUnit
// and HTML reports escape in their own ways; TermSafe is the console's.
func TermSafe(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError && !isC1(r) {
				i += n
				continue
			}
		}
		break
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f || c == '\n' || c == '\t':
			b.WriteByte(c)
		case c == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// CRLF: the newline alone.
		case c < utf8.RuneSelf:
			b.WriteString(escapeControl(c))
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n <= 1:
				fmt.Fprintf(&b, `\x%02x`, c)
			case isC1(r):
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		i++
	}
	return b.String()
}

// isC1 reports the runes shown escaped among those above ASCII: the C1
// controls, and the bidirectional overrides and isolates (U+202A–U+202E,
// U+2066–U+2069), which reorder how the rest of a line reads (text that
// shows one thing and is another).
func isC1(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

func escapeControl(c byte) string {
	switch c {
	case 0x1b:
		return `\x1b`
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\v':
		return `\v`
	case '\r':
		return `\r`
	}
	return fmt.Sprintf(`\x%02x`, c)
}

// termSafeEvent is e with every text the console may print made
// TermSafe; e's own failure is not changed (other reporters share it).
func termSafeEvent(e Event) Event {
	e.Suite, e.Test, e.Service, e.Stream = TermSafe(e.Suite), TermSafe(e.Test), TermSafe(e.Service), TermSafe(e.Stream)
	e.Pos, e.Step, e.Message = TermSafe(e.Pos), TermSafe(e.Step), TermSafe(e.Message)
	e.Failure = termSafeFailure(e.Failure)
	if len(e.Services) > 0 {
		ss := make([]ServiceInfo, len(e.Services))
		for i, s := range e.Services {
			ss[i] = ServiceInfo{Name: TermSafe(s.Name), Kind: TermSafe(s.Kind), StandsIn: TermSafe(s.StandsIn)}
		}
		e.Services = ss
	}
	return e
}

func termSafeFailure(f *Failure) *Failure {
	if f == nil {
		return nil
	}
	g := *f
	g.Kind, g.Pos, g.Step, g.Message = TermSafe(f.Kind), TermSafe(f.Pos), TermSafe(f.Step), TermSafe(f.Message)
	g.Diff, g.Request, g.Response = TermSafe(f.Diff), TermSafe(f.Request), TermSafe(f.Response)
	if len(f.Suspects) > 0 {
		g.Suspects = make([]Suspect, len(f.Suspects))
		for i, s := range f.Suspects {
			s.Edge, s.Line, s.Reason = TermSafe(s.Edge), TermSafe(s.Line), TermSafe(s.Reason)
			g.Suspects[i] = s
		}
	}
	if len(f.Artifacts) > 0 {
		g.Artifacts = make([]Artifact, len(f.Artifacts))
		for i, a := range f.Artifacts {
			g.Artifacts[i] = Artifact{Name: TermSafe(a.Name), Path: TermSafe(a.Path)}
		}
	}
	return &g
}
