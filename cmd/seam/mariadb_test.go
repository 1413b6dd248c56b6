package main_test

import (
	"os"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/peertest"
)

// needMariaDB fails in CI (which installs MariaDB) and skips elsewhere
// when the server is missing.
func needMariaDB(t *testing.T) {
	t.Helper()
	found := false
	for _, p := range []string{"/usr/sbin/mariadbd", "/usr/sbin/mysqld"} {
		if _, err := os.Stat(p); err == nil {
			found = true
		}
	}
	peertest.Need(t, "MariaDB", "mariadb-server", found)
}

func TestMariaDBBaselineAndReset(t *testing.T) {
	needMariaDB(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/mariadb", "--parallel", "2")
	if r.code != 0 || !strings.Contains(r.stdout, "4 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertClean(t, state)
}
