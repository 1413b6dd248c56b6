package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// controlChar finds a terminal control character in s (newline and tab
// are text).
func controlChar(s string) (rune, bool) {
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f {
			return r, true
		}
	}
	return 0, false
}

// TestConsoleEscapesTheSystemsControlSequences: what a step's command
// printed (colours, a window title, a clipboard write, BEL, BS, FF, VT)
// shows escaped on the console, live and when the log is rendered again
// or merged, and stays as it was in the event log.
func TestConsoleEscapesTheSystemsControlSequences(t *testing.T) {
	t.Setenv("SEAM_STATE_DIR", t.TempDir())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte(`name: esc
tests:
  - name: noisy
    steps:
      - exec: [sh, -c, 'printf "\033[31mred\033]0;title\007\033]52;c;Y2xpcA==\007\b\f\v\001"; printf "err\033[2J" >&2; exit 1']
        expect: {exit_code: 0}
`), 0o644)
	log := filepath.Join(dir, "e.jsonl")
	for _, args := range [][]string{
		{"run", dir, "-v", "--report", "json=" + log},
		{"report", log},
		{"report", "merge", log},
	} {
		r := seam(t, args...)
		if r.code != 1 {
			t.Fatalf("seam %s: exit %d\n%s%s", args[0], r.code, r.stdout, r.stderr)
		}
		if c, ok := controlChar(r.stdout); ok {
			t.Errorf("seam %s printed control character %q:\n%q", strings.Join(args[:1], " "), c, r.stdout)
		}
		for _, want := range []string{`\x1b[31mred\x1b]0;title\a\x1b]52;c;Y2xpcA==\a\b\f\v\x01`, `err\x1b[2J`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("seam %s: stdout lacks %q:\n%s", args[0], want, r.stdout)
			}
		}
	}
	if data, _ := os.ReadFile(log); !strings.Contains(string(data), `\u001b[31mred`) {
		t.Errorf("the event log does not keep the output as it was:\n%s", data)
	}
}
