// Package databench holds what the data-service benchmarks (datastart,
// datareset, jobs) share: seam's side (loading a services-only suite,
// addresses, stopping an environment), PostgreSQL through pgx, and
// PostgreSQL started by hand the way people script it. Every failure ends
// the benchmark through measure.Check, after its cleanups.
package databench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/suite"
)

// Load loads the suite in dir for its services only (no tests).
func Load(reg *builtin.Registry, dir string) *suite.Suite {
	s, err := suite.Load(dir, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, ServicesOnly: true})
	measure.Check(err)
	return s
}

// URL is the url address of the service name in env.
func URL(env *environment.Environment, name string) string {
	u, err := env.URL(name)
	measure.Check(err)
	return u
}

// Stop stops env, giving it 30 s.
func Stop(env *environment.Environment) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	measure.Check(env.Stop(ctx))
}

// Tables lists the benchmarks' tables t0 … t(n-1), comma-separated, as
// TRUNCATE takes them.
func Tables(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("t%d", i)
	}
	return strings.Join(names, ", ")
}

// Connect opens a connection to url, closed at the benchmark's end.
func Connect(ctx context.Context, url string) *pgx.Conn {
	c, err := pgx.Connect(ctx, url)
	measure.Check(err)
	measure.OnExit(func() { c.Close(context.Background()) })
	return c
}

// Exec runs q (one or more statements) on c.
func Exec(ctx context.Context, c *pgx.Conn, q string) {
	_, err := c.Exec(ctx, q)
	measure.Check(err)
}

// Sibling is url (a database named app) with the database name instead.
func Sibling(url, name string) string { return strings.Replace(url, "/app?", "/"+name+"?", 1) }

// CreateDB creates the database name on admin's server, connects to it
// (url names app's database on that server) and runs schema there.
func CreateDB(ctx context.Context, admin *pgx.Conn, url, name, schema string) *pgx.Conn {
	Exec(ctx, admin, "CREATE DATABASE "+name)
	c := Connect(ctx, Sibling(url, name))
	Exec(ctx, c, schema)
	return c
}

// PGBin is the folder of the newest installed PostgreSQL's programs.
func PGBin() string {
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(m) == 0 {
		measure.Check(fmt.Errorf("PostgreSQL not found: apt-get install postgresql"))
	}
	return filepath.Dir(m[len(m)-1])
}

// AsPostgres returns the credential for the postgres user when root (nil
// otherwise), and gives dir to that user.
func AsPostgres(dir string) *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	measure.Check(err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	measure.Check(os.Chown(dir, uid, gid))
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// RunAs runs a command to its end as cred (nil: as this process's user).
func RunAs(cred *syscall.Credential, name string, args ...string) {
	cmd := exec.Command(name, args...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		measure.Check(fmt.Errorf("%s: %v\n%s", name, err, out))
	}
}

// StartByHand does what people script: initdb into dir/data (user seam,
// trust, no fsync), then pg_ctl start -w on 127.0.0.1:port, both as cred.
// The stop it returns is pg_ctl stop -m immediate.
func StartByHand(cred *syscall.Credential, bin, dir string, port int) (stop func()) {
	data := filepath.Join(dir, "data")
	RunAs(cred, filepath.Join(bin, "initdb"), "-D", data, "-U", "seam", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C")
	RunAs(cred, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-o",
		"-p "+strconv.Itoa(port)+" -c listen_addresses=127.0.0.1 -k '' -c fsync=off", "start")
	return func() { RunAs(cred, filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop") }
}
