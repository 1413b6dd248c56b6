package expect

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/seamtest/seam/internal/expr"
)

// A long single-line value (a 1 MB body, a 3 MB stdout) has no diff to
// carry it; it was rendered whole into the console and every report.
// Every rendered got and want is bounded, whatever built the failure.
func TestFailureBoundsLongValues(t *testing.T) {
	big := strings.Repeat("y", 1<<20)
	f := equalFailure("short", Got{Value: big, Found: true})
	msg := f.Error()
	if len(msg) > 2*MaxShown+100 || !strings.Contains(msg, "bytes more)") {
		t.Errorf("message of %d bytes: %.400s", len(msg), msg)
	}
	// Built by hand, as other checks and steps do.
	f = &Failure{Path: "stdout", Got: big, Want: big}
	if msg := f.Error(); len(msg) > 2*MaxShown+100 {
		t.Errorf("hand-built failure: %d bytes", len(msg))
	}
	f = &Failure{Msg: "first\n" + big}
	if msg := f.Error(); len(msg) > MaxLine+100 || !strings.HasPrefix(msg, "first\n") {
		t.Errorf("Msg: %d bytes", len(msg))
	}
}

// truncate cuts at a character's start: a cut inside a UTF-8 sequence
// wrote invalid text into the reports.
func TestTruncateKeepsUTF8Whole(t *testing.T) {
	s := strings.Repeat("é", 300) // 2 bytes each
	for n := 195; n <= 205; n++ {
		got := truncate(s, n)
		if !utf8.ValidString(got) {
			t.Fatalf("truncate(%d) split a character: %q", n, got[len(got)-30:])
		}
		if !strings.HasSuffix(got, " bytes more)") {
			t.Fatalf("truncate(%d) = …%q: does not say what it left out", n, got[len(got)-30:])
		}
	}
	if got := truncate("short", 10); got != "short" {
		t.Errorf("short text changed: %q", got)
	}
	show := expr.Show(map[string]any{"a": s})
	if f := equalFailure(map[string]any{"a": "b"}, Got{Value: map[string]any{"a": s}, Found: true}); !utf8.ValidString(f.Error()) || len(show) < 300 {
		t.Errorf("failure with a diff: invalid UTF-8 in %q", f.Error())
	}
}
