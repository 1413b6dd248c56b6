// Command pgreset measures ways to bring a PostgreSQL database back to its
// baseline between tests, on a server seam starts: seam's reset (truncate
// the tables and copy the baseline rows back, connections kept) against
// dropping the database and cloning it from a template, with STRATEGY
// FILE_COPY and with WAL_LOG (PostgreSQL 15's default).
//
//	go run ./bench/pgreset [-quick]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/session"
	"github.com/seamtest/seam/internal/suite"
)

const tables = 10

func schema() string {
	var b strings.Builder
	for i := 0; i < tables; i++ {
		fmt.Fprintf(&b, "CREATE TABLE t%d (id serial PRIMARY KEY, name text NOT NULL, n integer);\n", i)
		fmt.Fprintf(&b, "INSERT INTO t%d (name, n) SELECT 'row ' || g, g FROM generate_series(1, 100) g;\n", i)
	}
	return b.String()
}

// dirty is what a typical test does: a few writes to a few tables.
const dirty = `INSERT INTO t0 (name, n) SELECT 'new', g FROM generate_series(1, 10) g;
UPDATE t1 SET n = n + 1 WHERE id < 20; DELETE FROM t2 WHERE id > 90;`

func main() {
	quick := flag.Bool("quick", false, "fewer rounds (under 40 s)")
	flag.Parse()
	rounds := 60
	if *quick {
		rounds = 15
	}
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "seam-bench-pgreset-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	defer measure.Done()
	measure.Check(os.MkdirAll(filepath.Join(tmp, "init"), 0o755))
	measure.Check(os.WriteFile(filepath.Join(tmp, "init", "schema.sql"), []byte(schema()), 0o644))
	measure.Check(os.WriteFile(filepath.Join(tmp, "seam.yaml"), []byte("name: pgreset\nservices:\n  db:\n    postgres: {database: app, init: [init/]}\n"), 0o644))
	os.Setenv("SEAM_STATE_DIR", filepath.Join(tmp, "state"))

	reg := builtin.New()
	measure.OnExit(reg.Close)
	s, err := suite.Load(tmp, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, ServicesOnly: true})
	measure.Check(err)
	sess, err := session.Open(ctx, s, session.Options{Command: "bench", Seed: 1})
	measure.Check(err)
	measure.OnExit(func() { sess.Close() })
	env, err := sess.StartEnv(ctx, nil)
	measure.Check(err)
	info, _ := env.Info("db")
	url := info["url"].(string)
	admin, err := pgx.Connect(ctx, strings.Replace(url, "/app?", "/postgres?", 1))
	measure.Check(err)
	measure.OnExit(func() { admin.Close(ctx) })
	// A template holding the same baseline, for the clone strategies (app
	// itself cannot be the template: seam's reset keeps a session on it).
	_, err = admin.Exec(ctx, "CREATE DATABASE app_tpl")
	measure.Check(err)
	tpl, err := pgx.Connect(ctx, strings.Replace(url, "/app?", "/app_tpl?", 1))
	measure.Check(err)
	_, err = tpl.Exec(ctx, schema())
	measure.Check(err)
	tpl.Close(ctx)

	seamReset := func() time.Duration {
		work(ctx, url)
		start := time.Now()
		measure.Check(env.Reset(ctx))
		return time.Since(start)
	}
	clone := func(strategy string) func() time.Duration {
		return func() time.Duration {
			work(ctx, strings.Replace(url, "/app?", "/app_clone?", 1))
			start := time.Now()
			_, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS app_clone WITH (FORCE)")
			measure.Check(err)
			_, err = admin.Exec(ctx, "CREATE DATABASE app_clone TEMPLATE app_tpl STRATEGY "+strategy)
			measure.Check(err)
			return time.Since(start)
		}
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE app_clone TEMPLATE app_tpl STRATEGY FILE_COPY")
	measure.Check(err)
	check(ctx, env, url)

	var seamT, fileT, walT []time.Duration
	for i := 0; i < rounds; i++ {
		seamT = append(seamT, seamReset())
		fileT = append(fileT, clone("FILE_COPY")())
		walT = append(walT, clone("WAL_LOG")())
	}
	check(ctx, env, url)
	sm, fm, wm := measure.Median(seamT), measure.Median(fileT), measure.Median(walT)
	ratio := float64(fm) / float64(sm)
	fmt.Printf("\n%d tables of 100 rows; each round a test writes to 3 of them, then the data is reset\n", tables)
	fmt.Printf("%-60s %10s\n", fmt.Sprintf("median of %d interleaved rounds", rounds), "reset")
	fmt.Printf("%-60s %10s\n", "seam: truncate + copy baseline rows back (connections kept)", measure.Ms(sm))
	fmt.Printf("%-60s %10s\n", "drop + CREATE DATABASE … TEMPLATE STRATEGY FILE_COPY", measure.Ms(fm))
	fmt.Printf("%-60s %10s\n", "drop + CREATE DATABASE … TEMPLATE STRATEGY WAL_LOG", measure.Ms(wm))
	fmt.Printf("%-60s %10.2f\n", "ratio = FILE_COPY clone / seam (larger: seam faster)", ratio)
	verdict := "ok"
	if ratio < 1 {
		verdict = "short"
	}
	fmt.Printf("RESULT pgreset seam_ms=%.2f file_copy_ms=%.2f wal_log_ms=%.2f ratio=%.2f target=1.0 %s\n",
		measure.Msf(sm), measure.Msf(fm), measure.Msf(wm), ratio, verdict)
}

func work(ctx context.Context, url string) {
	c, err := pgx.Connect(ctx, url)
	measure.Check(err)
	defer c.Close(ctx)
	_, err = c.Exec(ctx, dirty)
	measure.Check(err)
}

// check makes sure seam's reset really restored the baseline.
func check(ctx context.Context, env *environment.Environment, url string) {
	work(ctx, url)
	measure.Check(env.Reset(ctx))
	c, err := pgx.Connect(ctx, url)
	measure.Check(err)
	defer c.Close(ctx)
	var n0, sum1, n2 int
	measure.Check(c.QueryRow(ctx, "SELECT (SELECT count(*) FROM t0), (SELECT sum(n) FROM t1), (SELECT count(*) FROM t2)").Scan(&n0, &sum1, &n2))
	if n0 != 100 || sum1 != 5050 || n2 != 100 {
		measure.Check(fmt.Errorf("reset did not restore the baseline: t0=%d rows, sum(t1.n)=%d, t2=%d rows", n0, sum1, n2))
	}
}
