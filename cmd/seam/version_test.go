package main_test

import (
	"runtime"
	"strings"
	"testing"
)

// TestVersionFromBuildInfo: seam version prints the build information's
// module version and the Go version, not a placeholder. (A binary built in
// a git clone also names its revision; internal/cli's TestVersionLine
// checks that rendering.)
func TestVersionFromBuildInfo(t *testing.T) {
	r := seam(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "seam ") || !strings.Contains(r.stdout, runtime.Version()+")") ||
		strings.TrimSpace(r.stdout) == "seam dev" {
		t.Errorf("exit %d: %q", r.code, r.stdout)
	}
}

func TestHelpSuiteAndCommands(t *testing.T) {
	r := seam(t, "help", "suite")
	if r.code != 0 || !strings.Contains(r.stdout, "`test_timeout`") || !strings.Contains(r.stdout, "`setup`") {
		t.Errorf("help suite: exit %d\n%s", r.code, r.stdout)
	}
	r = seam(t, "help", "commands")
	if r.code != 0 || !strings.Contains(r.stdout, "## seam stub record") || !strings.Contains(r.stdout, "-seed") {
		t.Errorf("help commands: exit %d\n%s", r.code, r.stdout)
	}
}
