package report

import (
	"regexp"
	"strconv"
	"strings"
)

// took matches the time an interaction took in its line: " (121 µs)",
// " (1.2 ms)", " (3s)".
var took = regexp.MustCompile(` \([0-9][0-9.]*\s?(?:µs|ms|s|m|ns)\)`)

// Cause is what a failure is grouped by, for people: its cause suspect
// (CauseSuspect) without its timing ("orders→inventory POST /reserve →
// 500 Internal Server Error"), or, when there is none, the failing
// assertion ("tests/a.yaml:12:9: status: got 502; want 201"). Failures
// with the same Cause failed the same way.
func Cause(f *Failure) string {
	if f == nil {
		return ""
	}
	if s := CauseSuspect(f); s != nil {
		line := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s.Line), suspiciousMark))
		line = took.ReplaceAllString(line, "")
		if op, result, ok := strings.Cut(line, " → "); ok {
			line = OpShape(op) + " → " + result
		}
		return s.Edge + " " + line
	}
	msg, _, _ := strings.Cut(f.Message, "\n")
	return f.Pos + ": " + msg
}

// CauseSuspect is the first of f's suspects that can be its cause: not
// made by a fault the test set (what it meant to happen, not what went
// wrong), and linked to the failing step (not Unlinked); nil when none is.
func CauseSuspect(f *Failure) *Suspect {
	if f == nil {
		return nil
	}
	for k, s := range f.Suspects {
		if !s.Injected && !s.Unlinked {
			return &f.Suspects[k]
		}
	}
	return nil
}

// Plural renders a count with its noun: "1 test", "2 tests".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
