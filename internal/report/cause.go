package report

import (
	"regexp"
	"strconv"
	"strings"
)

// took matches the time an interaction took in its line: " (121 µs)",
// " (1.2 ms)", " (3s)".
var took = regexp.MustCompile(` \([0-9][0-9.]*\s?(?:µs|ms|s|m|ns)\)`)

// Cause is what a failure is grouped by, for people: the first suspicious
// interaction without its timing ("orders→inventory POST /reserve → 500
// Internal Server Error"), or, when the wire saw nothing suspicious but
// what the test's own faults made, the failing assertion
// ("tests/a.yaml:12:9: status: got 502; want 201"). Failures with the same
// Cause failed the same way.
func Cause(f *Failure) string {
	if f == nil {
		return ""
	}
	for _, s := range f.Suspects {
		if s.Injected {
			continue // what the test meant to happen: not what went wrong
		}
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

// Plural renders a count with its noun: "1 test", "2 tests".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
