// Command datastart measures how fast seam has a data service ready, from
// its cache: PostgreSQL against initdb plus pg_ctl start -w by hand (both
// until a query is answered), plus seam's start times for MariaDB, Redis
// and NATS. PostgreSQL is timed twice: a start after earlier ones in the
// same run (the headline: its data folder was copied ahead while the
// previous instance stopped) and the first start of a run (which copies).
//
//	go run ./bench/datastart [-quick]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/bench/internal/databench"
	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/session"
)

func main() {
	quick := flag.Bool("quick", false, "fewer rounds (under 40 s)")
	flag.Parse()
	rounds := 15 // the machine drifts and single rounds vary by ±20%: enough rounds for a steady median
	if *quick {
		rounds = 3
	}
	ctx := context.Background()
	defer measure.Done()
	tmp, err := os.MkdirTemp("", "seam-bench-datastart-")
	measure.Check(err)
	measure.OnExit(func() { os.RemoveAll(tmp) })
	os.Setenv("SEAM_STATE_DIR", filepath.Join(tmp, "state"))
	reg := builtin.New()
	measure.OnExit(reg.Close)

	kinds := []struct{ name, yaml string }{
		{"postgres", "postgres: {database: app}"},
		{"mariadb", "mariadb: {database: app}"},
		{"redis", "redis: {}"},
		{"nats", "nats: {}"},
	}
	sessions := map[string]*session.Session{}
	for _, k := range kinds {
		dir := filepath.Join(tmp, k.name)
		measure.Check(os.MkdirAll(dir, 0o755))
		measure.Check(os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte("name: "+k.name+"\nservices:\n  db:\n    "+k.yaml+"\n"), 0o644))
		// Open prepares (fills the cache) once; that is not what is timed.
		sess, err := session.Open(ctx, databench.Load(reg, dir), session.Options{Command: "bench", Seed: 1})
		measure.Check(err)
		measure.OnExit(func() { sess.Close() })
		sessions[k.name] = sess
	}
	// As by hand, PostgreSQL is ready when a new connection of the user's
	// has answered a query.
	seamStart := func(kind string) time.Duration {
		start := time.Now()
		env, err := sessions[kind].StartEnv(ctx, nil)
		measure.Check(err)
		defer databench.Stop(env)
		if kind == "postgres" {
			conn := selectOne(ctx, databench.URL(env, "db"))
			defer conn.Close(ctx)
		}
		return time.Since(start)
	}
	// The first start of a run copies the cached data folder on its way;
	// later starts in the same run (fresh tests) find it copied ahead. A
	// session opened per round (not timed) gives the first start.
	firstStart := func() time.Duration {
		sess, err := session.Open(ctx, databench.Load(reg, filepath.Join(tmp, "postgres")), session.Options{Command: "bench", Seed: 1})
		measure.Check(err)
		defer sess.Close()
		start := time.Now()
		env, err := sess.StartEnv(ctx, nil)
		measure.Check(err)
		defer databench.Stop(env)
		conn := selectOne(ctx, databench.URL(env, "db"))
		defer conn.Close(ctx)
		return time.Since(start)
	}
	pgBin := databench.PGBin()
	times := map[string][]time.Duration{}
	for i := 0; i < rounds; i++ {
		times["hand"] = append(times["hand"], byHand(ctx, tmp, pgBin, i))
		for _, k := range kinds {
			times[k.name] = append(times[k.name], seamStart(k.name))
		}
		times["first"] = append(times["first"], firstStart())
	}
	hand, pg, first := measure.Median(times["hand"]), measure.Median(times["postgres"]), measure.Median(times["first"])
	ratio := float64(hand) / float64(pg)
	fmt.Printf("\n%-58s %10s\n", fmt.Sprintf("median of %d interleaved rounds", rounds), "ready")
	fmt.Printf("%-58s %10s\n", "PostgreSQL by hand: initdb, pg_ctl start -w, SELECT 1", measure.Ms(hand))
	fmt.Printf("%-58s %10s\n", "PostgreSQL by seam from its cache: start, SELECT 1", measure.Ms(pg))
	fmt.Printf("%-58s %10s\n", "  the same, first start of a run (copies on its way)", measure.Ms(first))
	fmt.Printf("%-58s %10s\n", "MariaDB by seam from its cache (user and database made)", measure.Ms(measure.Median(times["mariadb"])))
	fmt.Printf("%-58s %10s\n", "Redis by seam", measure.Ms(measure.Median(times["redis"])))
	fmt.Printf("%-58s %10s\n", "NATS (JetStream) by seam", measure.Ms(measure.Median(times["nats"])))
	fmt.Printf("%-58s %10.2f\n", "ratio = by hand / seam, PostgreSQL (larger: seam faster)", ratio)
	verdict := "ok"
	if ratio < 10 {
		verdict = "short"
	}
	fmt.Printf("%-58s %10.2f\n", "  by hand / seam's first start of a run", float64(hand)/float64(first))
	fmt.Printf("RESULT datastart postgres_ms=%.1f first_start_ms=%.1f ratio_first=%.2f by_hand_ms=%.1f mariadb_ms=%.1f redis_ms=%.1f nats_ms=%.1f ratio=%.2f target=10 %s\n",
		measure.Msf(pg), measure.Msf(first), float64(hand)/float64(first), measure.Msf(hand), measure.Msf(measure.Median(times["mariadb"])),
		measure.Msf(measure.Median(times["redis"])), measure.Msf(measure.Median(times["nats"])), ratio, verdict)
}

// selectOne connects to url and has a query answered: when PostgreSQL is
// ready for a user, by hand or through seam. The caller closes the
// connection once it has taken the time.
func selectOne(ctx context.Context, url string) *pgx.Conn {
	conn, err := pgx.Connect(ctx, url)
	measure.Check(err)
	_, err = conn.Exec(ctx, "SELECT 1")
	measure.Check(err)
	return conn
}

// byHand does what people script: initdb, then pg_ctl start -w, then a
// query; stopping is not timed.
func byHand(ctx context.Context, tmp, bin string, i int) time.Duration {
	dir := filepath.Join("/dev/shm", fmt.Sprintf("seam-bench-byhand-%d-%d", os.Getpid(), i))
	measure.Check(os.MkdirAll(dir, 0o700))
	defer os.RemoveAll(dir)
	cred := databench.AsPostgres(dir)
	port := 20000 + os.Getpid()%20000 + i
	start := time.Now()
	stopPG := databench.StartByHand(cred, bin, dir, port)
	defer stopPG()
	conn := selectOne(ctx, fmt.Sprintf("postgres://seam@127.0.0.1:%d/postgres?sslmode=disable", port))
	d := time.Since(start)
	conn.Close(ctx)
	return d
}
