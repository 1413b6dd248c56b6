package peertest

import (
	"os"
	"testing"
)

// Need fails t in CI (whose test command installs every server the tests
// use) and skips it elsewhere when the server what is missing (present
// false), saying which Debian package installs it.
func Need(t testing.TB, what, debianPackage string, present bool) {
	t.Helper()
	if present {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing; the test command installs it (Debian package %s)", what, debianPackage)
	}
	t.Skipf("%s not installed (apt-get install %s); CI installs it", what, debianPackage)
}
