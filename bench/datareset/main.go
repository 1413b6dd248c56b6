// Command datareset measures how fast seam brings data services back to
// their baseline between tests, on servers seam starts: PostgreSQL against
// what people do by hand (TRUNCATE every table and load the seed again) and
// against cloning a template database, plus seam's figures for MariaDB,
// Redis and NATS.
//
//	go run ./bench/datareset [-quick]
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"github.com/seamtest/seam/bench/internal/databench"
	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/session"
)

const tables, rowsPer = 20, 50 // 1,000 rows

func schema(mysqlDialect bool) string {
	var b strings.Builder
	for i := 0; i < tables; i++ {
		if mysqlDialect {
			fmt.Fprintf(&b, "CREATE TABLE t%d (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, n INT);\n", i)
		} else {
			fmt.Fprintf(&b, "CREATE TABLE t%d (id serial PRIMARY KEY, name text NOT NULL, n integer);\n", i)
		}
	}
	return b.String() + seed()
}

func seed() string {
	var b strings.Builder
	for i := 0; i < tables; i++ {
		fmt.Fprintf(&b, "INSERT INTO t%d (name, n) VALUES ", i)
		for r := 1; r <= rowsPer; r++ {
			if r > 1 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "('row %d', %d)", r, r)
		}
		b.WriteString(";\n")
	}
	return b.String()
}

// dirty is what a typical test does: writes to two tables.
const dirty = "INSERT INTO t0 (name, n) VALUES ('new', 1), ('new', 2); UPDATE t1 SET n = n + 1 WHERE id < 10"

const suiteText = `name: datareset
services:
  pg:
    postgres: {database: app, init: [pg.sql], superuser: true} # the by-hand ways create databases
  my:
    mariadb: {database: app, init: [my.sql]}
  cache:
    redis: {init: [SET seeded yes, %s]}
  bus:
    nats: {streams: [{name: EVENTS, subjects: [events.>]}]}
`

func main() {
	quick := flag.Bool("quick", false, "fewer rounds (under 40 s)")
	flag.Parse()
	rounds := 60
	if *quick {
		rounds = 15
	}
	ctx := context.Background()
	defer measure.Done()
	tmp, err := os.MkdirTemp("", "seam-bench-datareset-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	measure.Check(os.WriteFile(filepath.Join(tmp, "pg.sql"), []byte(schema(false)), 0o644))
	measure.Check(os.WriteFile(filepath.Join(tmp, "my.sql"), []byte(schema(true)), 0o644))
	measure.Check(os.WriteFile(filepath.Join(tmp, "seam.yaml"), []byte(fmt.Sprintf(suiteText, redisSeed())), 0o644))
	os.Setenv("SEAM_STATE_DIR", filepath.Join(tmp, "state"))

	reg := builtin.New()
	measure.OnExit(reg.Close)
	sess, err := session.Open(ctx, databench.Load(reg, tmp), session.Options{Command: "bench", Seed: 1})
	measure.Check(err)
	measure.OnExit(func() { sess.Close() })
	env, err := sess.StartEnv(ctx, nil)
	measure.Check(err)

	pgURL := databench.URL(env, "pg")
	pg := databench.Connect(ctx, pgURL)
	admin := databench.Connect(ctx, databench.Sibling(pgURL, "postgres"))
	// The by-hand way works on a database of its own with the same data.
	byhand := databench.CreateDB(ctx, admin, pgURL, "byhand", schema(false))
	truncateAll := "TRUNCATE " + databench.Tables(tables) + " RESTART IDENTITY;\n" + seed()
	tpl := databench.CreateDB(ctx, admin, pgURL, "tpl", schema(false))
	// A template with a connection to it cannot be copied.
	tpl.Close(ctx)
	databench.Exec(ctx, admin, "CREATE DATABASE clone TEMPLATE tpl STRATEGY FILE_COPY")

	my := connectMy(databench.URL(env, "my"))
	ropts, err := redis.ParseURL(databench.URL(env, "cache")) // with the environment's password
	measure.Check(err)
	rdb := redis.NewClient(ropts)
	measure.OnExit(func() { rdb.Close() })
	nc, err := nats.Connect(databench.URL(env, "bus"))
	measure.Check(err)
	measure.OnExit(nc.Close)

	var seamPG, handPG, clonePG, seamMy, seamRedis, seamNATS []time.Duration
	for i := 0; i < rounds; i++ {
		seamPG = append(seamPG, measure.Timed(func() { databench.Exec(ctx, pg, dirty) }, func() error { return env.ResetOne(ctx, "pg") }))
		handPG = append(handPG, measure.Timed(func() { databench.Exec(ctx, byhand, dirty) }, func() error { _, err := byhand.Exec(ctx, truncateAll); return err }))
		clonePG = append(clonePG, measure.Timed(func() {}, func() error {
			if _, err := admin.Exec(ctx, "DROP DATABASE clone WITH (FORCE)"); err != nil {
				return err
			}
			_, err := admin.Exec(ctx, "CREATE DATABASE clone TEMPLATE tpl STRATEGY FILE_COPY")
			return err
		}))
		seamMy = append(seamMy, measure.Timed(func() {
			_, err := my.ExecContext(ctx, dirty)
			measure.Check(err)
		}, func() error { return env.ResetOne(ctx, "my") }))
		seamRedis = append(seamRedis, measure.Timed(func() {
			measure.Check(rdb.Set(ctx, "key:1", "changed", 0).Err())
			measure.Check(rdb.Del(ctx, "seeded").Err())
		}, func() error { return env.ResetOne(ctx, "cache") }))
		seamNATS = append(seamNATS, measure.Timed(func() {
			for j := 0; j < 20; j++ {
				measure.Check(nc.Publish("events.x", []byte("x")))
			}
			measure.Check(nc.Flush())
		}, func() error { return env.ResetOne(ctx, "bus") }))
	}
	check(ctx, pg, env)
	checkMy(ctx, my, env)
	s1, h, c := measure.Median(seamPG), measure.Median(handPG), measure.Median(clonePG)
	ratio := float64(h) / float64(s1)
	fmt.Printf("\nPostgreSQL: %d tables, %d rows in all; each round a test writes to 2 tables, then the data is reset\n", tables, tables*rowsPer)
	fmt.Printf("%-62s %10s\n", fmt.Sprintf("median of %d interleaved rounds", rounds), "reset")
	fmt.Printf("%-62s %10s\n", "seam (only the changed tables; connections kept)", measure.Ms(s1))
	fmt.Printf("%-62s %10s\n", "by hand: TRUNCATE all tables, load the seed again", measure.Ms(h))
	fmt.Printf("%-62s %10s\n", "drop + CREATE DATABASE … TEMPLATE STRATEGY FILE_COPY", measure.Ms(c))
	fmt.Printf("%-62s %10s\n", "seam, MariaDB (same schema; only the changed tables)", measure.Ms(measure.Median(seamMy)))
	fmt.Printf("%-62s %10s\n", "seam, Redis (1,000 keys restored by DUMP/RESTORE)", measure.Ms(measure.Median(seamRedis)))
	fmt.Printf("%-62s %10s\n", "seam, NATS (stream purged, consumers recreated)", measure.Ms(measure.Median(seamNATS)))
	fmt.Printf("%-62s %10.2f\n", "ratio = by hand / seam, PostgreSQL (larger: seam faster)", ratio)
	verdict := "ok"
	if ratio < 5 || s1 > 5*time.Millisecond {
		verdict = "short"
	}
	fmt.Printf("RESULT datareset seam_pg_ms=%.2f truncate_reload_ms=%.2f clone_ms=%.2f mariadb_ms=%.2f redis_ms=%.2f nats_ms=%.2f ratio=%.2f target=5 %s\n",
		measure.Msf(s1), measure.Msf(h), measure.Msf(c), measure.Msf(measure.Median(seamMy)),
		measure.Msf(measure.Median(seamRedis)), measure.Msf(measure.Median(seamNATS)), ratio, verdict)
}

// redisSeed is one MSET of 1,000 keys, as a flow list for init:.
func redisSeed() string {
	parts := []string{"MSET"}
	for i := 0; i < 1000; i++ {
		parts = append(parts, fmt.Sprintf("key:%d", i), fmt.Sprint(i))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func connectMy(raw string) *sql.DB {
	rest := strings.TrimPrefix(raw, "mysql://")
	cred, hostDB, _ := strings.Cut(rest, "@")
	user, pw, _ := strings.Cut(cred, ":")
	host, db, _ := strings.Cut(hostDB, "/")
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName, cfg.MultiStatements = user, pw, "tcp", host, db, true
	conn, err := mysql.NewConnector(cfg)
	measure.Check(err)
	d := sql.OpenDB(conn)
	measure.OnExit(func() { d.Close() })
	return d
}

// check makes sure seam's reset really restored the PostgreSQL baseline.
func check(ctx context.Context, pg *pgx.Conn, env *environment.Environment) {
	databench.Exec(ctx, pg, dirty)
	measure.Check(env.ResetOne(ctx, "pg"))
	var n0, sum1 int
	measure.Check(pg.QueryRow(ctx, "SELECT (SELECT count(*) FROM t0), (SELECT sum(n) FROM t1)").Scan(&n0, &sum1))
	if n0 != rowsPer || sum1 != rowsPer*(rowsPer+1)/2 {
		measure.Check(fmt.Errorf("reset did not restore the baseline: t0=%d rows, sum(t1.n)=%d", n0, sum1))
	}
}

// checkMy makes sure seam's reset really restored the MariaDB baseline,
// AUTO_INCREMENT included.
func checkMy(ctx context.Context, my *sql.DB, env *environment.Environment) {
	_, err := my.ExecContext(ctx, dirty)
	measure.Check(err)
	measure.Check(env.ResetOne(ctx, "my"))
	var n0, sum1, ai int
	measure.Check(my.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM t0), (SELECT SUM(n) FROM t1),
		(SELECT auto_increment FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 't0')`).Scan(&n0, &sum1, &ai))
	if n0 != rowsPer || sum1 != rowsPer*(rowsPer+1)/2 || ai != rowsPer+1 {
		measure.Check(fmt.Errorf("reset did not restore the MariaDB baseline: t0=%d rows, sum(t1.n)=%d, t0's auto_increment %d", n0, sum1, ai))
	}
}
