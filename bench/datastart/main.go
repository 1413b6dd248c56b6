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
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/bench/internal/measure"
	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/environment"
	"github.com/seamtest/seam/internal/session"
	"github.com/seamtest/seam/internal/suite"
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
		s, err := suite.Load(dir, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, ServicesOnly: true})
		measure.Check(err)
		// Open prepares (fills the cache) once; that is not what is timed.
		sess, err := session.Open(ctx, s, session.Options{Command: "bench", Seed: 1})
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
		defer stop(env)
		if kind == "postgres" {
			url, err := env.URL("db")
			measure.Check(err)
			conn, err := pgx.Connect(ctx, url)
			measure.Check(err)
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "SELECT 1")
			measure.Check(err)
		}
		return time.Since(start)
	}
	// The first start of a run copies the cached data folder on its way;
	// later starts in the same run (fresh tests) find it copied ahead. A
	// session opened per round (not timed) gives the first start.
	firstStart := func() time.Duration {
		s, err := suite.Load(filepath.Join(tmp, "postgres"), suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes, ServicesOnly: true})
		measure.Check(err)
		sess, err := session.Open(ctx, s, session.Options{Command: "bench", Seed: 1})
		measure.Check(err)
		defer sess.Close()
		start := time.Now()
		env, err := sess.StartEnv(ctx, nil)
		measure.Check(err)
		defer stop(env)
		url, err := env.URL("db")
		measure.Check(err)
		conn, err := pgx.Connect(ctx, url)
		measure.Check(err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "SELECT 1")
		measure.Check(err)
		return time.Since(start)
	}
	pgBin := pgBinDir()
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

func stop(env *environment.Environment) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	measure.Check(env.Stop(ctx))
}

func pgBinDir() string {
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(m) == 0 {
		measure.Check(fmt.Errorf("PostgreSQL not found: apt-get install postgresql"))
	}
	return filepath.Dir(m[len(m)-1])
}

// byHand does what people script: initdb, then pg_ctl start -w, then a
// query; stopping is not timed.
func byHand(ctx context.Context, tmp, bin string, i int) time.Duration {
	dir := filepath.Join("/dev/shm", fmt.Sprintf("seam-bench-byhand-%d-%d", os.Getpid(), i))
	measure.Check(os.MkdirAll(dir, 0o700))
	defer os.RemoveAll(dir)
	cred := asPostgres(dir)
	port := 20000 + os.Getpid()%20000 + i
	data := filepath.Join(dir, "data")
	start := time.Now()
	run(cred, filepath.Join(bin, "initdb"), "-D", data, "-U", "seam", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C")
	run(cred, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-o",
		"-p "+strconv.Itoa(port)+" -c listen_addresses=127.0.0.1 -k '' -c fsync=off", "start")
	defer run(cred, filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://seam@127.0.0.1:%d/postgres?sslmode=disable", port))
	measure.Check(err)
	_, err = conn.Exec(ctx, "SELECT 1")
	measure.Check(err)
	d := time.Since(start)
	conn.Close(ctx)
	return d
}

// asPostgres returns the credential for the postgres user when root.
func asPostgres(dir string) *syscall.Credential {
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

func run(cred *syscall.Credential, name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		measure.Check(fmt.Errorf("%s: %v\n%s", name, err, out))
	}
}
