// Command jobs measures a system whose data comes from a migration that
// runs after the database starts: PostgreSQL, a migration binary that makes
// 20 tables with foreign keys and seeds 1,000 rows, and a service that uses
// them. It prints how long seam takes to have it all ready (warm: the
// cache filled, the binaries built) against doing the same by hand
// (initdb, pg_ctl start, CREATE DATABASE, the migration, the service), and
// the per-test reset of the migration's tables against TRUNCATE of those
// tables and loading the seed again.
//
//	go run ./bench/jobs [-quick]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/bench/internal/databench"
	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/session"
)

const tables, rowsPer = 20, 50

// migration is what the migration binary applies: customers, then 19
// tables that refer to them, each seeded.
func migration() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE t0 (id serial PRIMARY KEY, name text NOT NULL UNIQUE, n integer);\n")
	for i := 1; i < tables; i++ {
		fmt.Fprintf(&b, "CREATE TABLE t%d (id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES t0, name text NOT NULL, n integer);\n", i)
	}
	return b.String() + seed()
}

func seed() string {
	var b strings.Builder
	for i := 0; i < tables; i++ {
		if i == 0 {
			b.WriteString("INSERT INTO t0 (name, n) VALUES ")
		} else {
			fmt.Fprintf(&b, "INSERT INTO t%d (customer_id, name, n) VALUES ", i)
		}
		for r := 1; r <= rowsPer; r++ {
			if r > 1 {
				b.WriteString(", ")
			}
			if i == 0 {
				fmt.Fprintf(&b, "('customer %d', %d)", r, r)
			} else {
				fmt.Fprintf(&b, "(%d, 'row %d', %d)", r, r, r)
			}
		}
		b.WriteString(";\n")
	}
	return b.String()
}

// dirty is what a typical test does: registers a customer, writes to
// another table.
const dirty = "INSERT INTO t0 (name, n) VALUES ('new', 1); INSERT INTO t1 (customer_id, name, n) VALUES (51, 'x', 1); UPDATE t2 SET n = n + 1 WHERE id < 10"

// The migration is a job: it runs to its end before api starts, and the
// baseline is taken after it.
const suiteText = `name: jobs
services:
  db:
    postgres: {database: app, superuser: true} # the by-hand way creates a database
  migrate:
    job: [%s, ((service("db").url)), migrate.sql]
    depends_on: [{name: db, wire: false}]
  api:
    process: [%s, -listen, ((addr)), -db, ((service("db").url))]
    depends_on: [{name: db, wire: false}, migrate]
    ready: {http: /healthz}
`

func main() {
	quick := flag.Bool("quick", false, "fewer rounds (under 40 s)")
	flag.Parse()
	upRounds, resetRounds := 10, 60
	if *quick {
		upRounds, resetRounds = 3, 15
	}
	ctx := context.Background()
	defer measure.Done()
	root := measure.RepoRoot()
	tmp, err := os.MkdirTemp("", "seam-bench-jobs-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	os.Setenv("SEAM_STATE_DIR", filepath.Join(tmp, "state"))

	fmt.Println("building the migration binary and the service …")
	bin := filepath.Join(tmp, "bin")
	migrate, svc := filepath.Join(bin, "migrate"), filepath.Join(bin, "svc")
	measure.Run(filepath.Join(root, "cmd", "seam"), "go", "build", "-o", migrate, "./testdata/migrate")
	measure.Run(filepath.Join(root, "cmd", "seam"), "go", "build", "-o", svc, "./testdata/svc")
	// The by-hand side reads the file as the postgres user may not.
	sqlFile := filepath.Join(tmp, "migrate.sql")
	measure.Check(os.WriteFile(sqlFile, []byte(migration()), 0o644))
	measure.Check(os.WriteFile(filepath.Join(tmp, "seam.yaml"), []byte(fmt.Sprintf(suiteText, migrate, svc)), 0o644))

	reg := builtin.New()
	measure.OnExit(reg.Close)
	sess, err := session.Open(ctx, databench.Load(reg, tmp), session.Options{Command: "bench", Seed: 1, Notices: os.Stderr})
	measure.Check(err)
	measure.OnExit(func() { sess.Close() })
	// Warm-up: the first start fills nothing more (Open made the cache),
	// but pages in the binaries.
	databench.Stop(startSeam(ctx, sess))

	pgBin := databench.PGBin()
	var seamUp, handUp []time.Duration
	for i := 0; i < upRounds; i++ {
		handUp = append(handUp, byHand(ctx, pgBin, migrate, svc, sqlFile, i))
		start := time.Now()
		env := startSeam(ctx, sess)
		seamUp = append(seamUp, time.Since(start))
		databench.Stop(env)
	}

	env := startSeam(ctx, sess)
	defer databench.Stop(env)
	pgURL := databench.URL(env, "db")
	pg := databench.Connect(ctx, pgURL)
	admin := databench.Connect(ctx, databench.Sibling(pgURL, "postgres"))
	byhand := databench.CreateDB(ctx, admin, pgURL, "byhand", migration())
	truncateReload := "TRUNCATE " + databench.Tables(tables) + " RESTART IDENTITY CASCADE;\n" + seed()

	var seamReset, handReset []time.Duration
	for i := 0; i < resetRounds; i++ {
		seamReset = append(seamReset, measure.Timed(func() { databench.Exec(ctx, pg, dirty) }, func() error { return env.ResetOne(ctx, "db") }))
		handReset = append(handReset, measure.Timed(func() { databench.Exec(ctx, byhand, dirty) }, func() error { _, err := byhand.Exec(ctx, truncateReload); return err }))
	}
	check(ctx, pg, env)

	up, hand := measure.Median(seamUp), measure.Median(handUp)
	r, tr := measure.Median(seamReset), measure.Median(handReset)
	ratio := float64(tr) / float64(r)
	fmt.Printf("\nPostgreSQL + a migration (%d tables with foreign keys, %d rows) + a service using them\n", tables, tables*rowsPer)
	fmt.Printf("%-66s %10s\n", fmt.Sprintf("median of %d interleaved rounds", upRounds), "ready")
	fmt.Printf("%-66s %10s\n", "seam: database from its cache, migration, service, baseline taken", measure.Ms(up))
	fmt.Printf("%-66s %10s\n", "by hand: initdb, pg_ctl start -w, CREATE DATABASE, migration, service", measure.Ms(hand))
	fmt.Printf("\n%-66s %10s\n", fmt.Sprintf("median of %d interleaved rounds (a test writes 3 of the tables)", resetRounds), "reset")
	fmt.Printf("%-66s %10s\n", "seam: the changed tables back to the data after the migration", measure.Ms(r))
	fmt.Printf("%-66s %10s\n", "by hand: TRUNCATE the 20 tables, load the seed again", measure.Ms(tr))
	fmt.Printf("%-66s %10.2f\n", "ratio = by hand / seam, reset (larger: seam faster)", ratio)
	verdict := "ok"
	if ratio < 5 || r > 3*time.Millisecond {
		verdict = "short"
	}
	fmt.Printf("RESULT jobs up_ms=%.1f by_hand_ms=%.1f reset_ms=%.2f truncate_reload_ms=%.2f ratio=%.2f target=5 %s\n",
		measure.Msf(up), measure.Msf(hand), measure.Msf(r), measure.Msf(tr), ratio, verdict)
}

func startSeam(ctx context.Context, sess *session.Session) *environment.Environment {
	env, err := sess.StartEnv(ctx, nil)
	measure.Check(err)
	return env
}

// byHand does what people script: initdb, pg_ctl start -w, CREATE
// DATABASE, the migration, then the service until /healthz answers;
// stopping is not timed.
func byHand(ctx context.Context, pgBin, migrate, svc, sqlFile string, i int) time.Duration {
	dir := filepath.Join("/dev/shm", fmt.Sprintf("seam-bench-jobs-%d-%d", os.Getpid(), i))
	measure.Check(os.MkdirAll(dir, 0o700))
	defer os.RemoveAll(dir)
	cred := databench.AsPostgres(dir)
	port, apiPort := freePort(), freePort()
	db := fmt.Sprintf("postgres://seam@127.0.0.1:%d/app?sslmode=disable", port)
	start := time.Now()
	stopPG := databench.StartByHand(cred, pgBin, dir, port)
	defer stopPG()
	admin, err := pgx.Connect(ctx, fmt.Sprintf("postgres://seam@127.0.0.1:%d/postgres?sslmode=disable", port))
	measure.Check(err)
	_, err = admin.Exec(ctx, "CREATE DATABASE app")
	admin.Close(ctx)
	measure.Check(err)
	databench.RunAs(nil, migrate, db, sqlFile)
	cmd := exec.Command(svc, "-listen", fmt.Sprintf("127.0.0.1:%d", apiPort), "-db", db)
	measure.Check(cmd.Start())
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	health := fmt.Sprintf("http://127.0.0.1:%d/healthz", apiPort)
	for tries := 0; ; tries++ {
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if tries > 2000 {
			measure.Check(fmt.Errorf("the service did not answer %s", health))
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	measure.Check(err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// check makes sure seam's reset really brought back the data after the
// migration: the customer a test registered is gone, and can register
// again with the same id.
func check(ctx context.Context, pg *pgx.Conn, env *environment.Environment) {
	databench.Exec(ctx, pg, dirty)
	measure.Check(env.ResetOne(ctx, "db"))
	var n0, sum2, next int
	measure.Check(pg.QueryRow(ctx, "SELECT (SELECT count(*) FROM t0), (SELECT sum(n) FROM t2), nextval('t0_id_seq')").Scan(&n0, &sum2, &next))
	if n0 != rowsPer || sum2 != rowsPer*(rowsPer+1)/2 || next != rowsPer+1 {
		measure.Check(fmt.Errorf("reset did not restore the baseline: t0=%d rows, sum(t2.n)=%d, next id %d", n0, sum2, next))
	}
}
