package main_test

import (
	"os"
	"strings"
	"testing"
)

func needMariaDB(t *testing.T) {
	t.Helper()
	for _, p := range []string{"/usr/sbin/mariadbd", "/usr/sbin/mysqld"} {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("MariaDB is missing; the test command installs it (Debian package mariadb-server)")
	}
	t.Skip("MariaDB not installed (apt-get install mariadb-server); CI installs it")
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
