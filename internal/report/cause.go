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
// wrong), linked to the failing step (not Unlinked), and not a call left
// unanswered because the step failed or the test ended (Consequence); nil
// when none is.
func CauseSuspect(f *Failure) *Suspect {
	if f == nil {
		return nil
	}
	for k, s := range f.Suspects {
		if !s.Injected && !s.Unlinked && !Consequence(s.Line) {
			return &f.Suspects[k]
		}
	}
	return nil
}

// consequence matches how a caller seam drives (the browser) records a
// call it was still waiting for when its step failed, its test ended or
// the run was interrupted: "no answer: still in flight when the step
// failed", "200 OK, then still in flight when the test ended (in the
// middle of its body)".
var consequence = regexp.MustCompile(`still in flight when (?:the step failed|the test ended|the run was interrupted)`)

// Consequence says whether an interaction's line is a call that was still
// in flight when its step failed (or its test ended): the failure's
// consequence, recorded then, not its cause; it is listed, but a failure
// is not grouped under it.
func Consequence(line string) bool { return consequence.MatchString(line) }

// Plural renders a count with its noun: "1 test", "2 tests".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
