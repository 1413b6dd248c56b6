package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// TestUpLogKeepsTheTableReadable: before the address table the terminal
// gets no service output; after it, the services' output but not the
// wire's; the log file gets everything; -v prints all; --quiet none.
func TestUpLogKeepsTheTableReadable(t *testing.T) {
	for _, tc := range []struct {
		name           string
		verbose, quiet bool
		want, notWant  []string
	}{
		{"default", false, false, []string{"TABLE", "api | listening after"}, []string{"banner", "api→db"}},
		{"verbose", true, false, []string{"api | banner", "TABLE", "api | listening after", "api→db | SQL select 1"}, nil},
		{"quiet", false, true, []string{"TABLE"}, []string{"banner", "listening after", "api→db"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var term strings.Builder
			l := &upLog{term: &term, verbose: tc.verbose, quiet: tc.quiet}
			path := filepath.Join(t.TempDir(), "logs", "up.log")
			if err := l.open(path); err != nil {
				t.Fatal(err)
			}
			var attached []string
			l.line("api", "stdout", "banner", nil)
			l.table("TABLE\n")
			l.line("api", "stdout", "listening after", nil)
			l.attach(func(svc, stream, line string, _ *report.Span) { attached = append(attached, svc+"|"+stream+"|"+line) })
			now := time.Now()
			l.line("api→db", "wire", "SQL select 1", &report.Span{Start: now, End: now})
			l.attach(nil)
			l.line("api", "stderr", "after the run", nil)
			l.close()
			got := term.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("terminal lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("terminal has %q:\n%s", w, got)
				}
			}
			if strings.Index(got, "TABLE") < strings.Index(got, "banner") {
				t.Errorf("a banner came after the table:\n%s", got)
			}
			data, _ := os.ReadFile(path)
			for _, w := range []string{"api | banner", "api | listening after", "api→db | SQL select 1", "api | after the run"} {
				if !strings.Contains(string(data), w) {
					t.Errorf("log file lacks %q:\n%s", w, data)
				}
			}
			if len(attached) != 1 || attached[0] != "api→db|wire|SQL select 1" {
				t.Errorf("the attached run saw %q, want only the line while it ran", attached)
			}
		})
	}
}
