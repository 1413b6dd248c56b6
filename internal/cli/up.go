package cli

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/session"
)

// cmdUp starts a suite's environment and keeps it up until Ctrl-C or
// seam down.
func cmdUp(ctx context.Context, args []string, stdio IO) int {
	c := newSuiteCommand("up", stdio)
	c.servicesOnly = true
	defer c.close()
	quiet := c.fs.Bool("quiet", false, "do not print the services' output")
	if !c.parse(args, nil) {
		return ExitUsage
	}
	s, vars := c.suite, c.vars
	if s.System == nil || len(s.System.Services) == 0 {
		fmt.Fprintf(stdio.Stderr, "seam up: %s declares no services\n", s.File)
		return ExitUsage
	}
	sess, err := session.Open(ctx, s, session.Options{Command: "up", Vars: vars, Seed: seedNow(), Notices: stdio.Stderr})
	if err != nil {
		return envFailure(err, stdio)
	}
	defer func() {
		if err := sess.Close(); err != nil {
			fmt.Fprintf(stdio.Stderr, "seam: cleanup: %v\n", err)
		}
		fmt.Fprintln(stdio.Stdout, "seam up: stopped; nothing left running")
	}()
	var mu sync.Mutex
	var log func(svc, stream, line string, span ...time.Time)
	if !*quiet {
		log = func(svc, stream, line string, _ ...time.Time) {
			mu.Lock()
			fmt.Fprintf(stdio.Stdout, "%s | %s\n", svc, line)
			mu.Unlock()
		}
	}
	start := time.Now()
	env, err := sess.StartEnv(ctx, log)
	if err != nil {
		return envFailure(err, stdio)
	}
	mu.Lock()
	fmt.Fprintf(stdio.Stdout, "seam up: %d services ready in %s\n%s", len(s.System.Services), time.Since(start).Round(time.Millisecond), session.Addresses(s, env))
	fmt.Fprintln(stdio.Stdout, "stop with Ctrl-C or seam down")
	mu.Unlock()
	<-ctx.Done()
	return ExitPass
}

// cmdDown stops environments held up by seam up (or run --keep) and cleans
// up after runs that died.
func cmdDown(args []string, stdio IO) int {
	fs := newFlagSet("down", stdio.Stderr)
	if _, err := parseInterspersed(fs, args); err != nil {
		return ExitUsage
	}
	dir := reap.StateDir()
	recs, err := reap.Records(dir)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam down: %v\n", err)
		return ExitEnv
	}
	stopped := 0
	for _, rec := range recs {
		if rec.Command != "up" || !rec.Alive() {
			continue
		}
		if err := syscall.Kill(rec.PID, syscall.SIGTERM); err != nil {
			continue
		}
		deadline := time.Now().Add(60 * time.Second)
		for rec.Alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if rec.Alive() {
			fmt.Fprintf(stdio.Stderr, "seam down: seam up (pid %d) did not stop within 60s; killing it\n", rec.PID)
			_ = syscall.Kill(rec.PID, syscall.SIGKILL)
			time.Sleep(100 * time.Millisecond)
		}
		stopped++
		fmt.Fprintf(stdio.Stdout, "stopped the environment of %s (pid %d)\n", rec.Suite, rec.PID)
	}
	res, err := reap.Reap(dir)
	if len(res.Runs) > 0 {
		fmt.Fprintf(stdio.Stdout, "cleaned up after %d run(s): stopped %d process(es), removed %d folder(s)\n", len(res.Runs), len(res.Killed), len(res.Removed))
	}
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "seam down: %v\n", err)
		return ExitEnv
	}
	if stopped == 0 && len(res.Runs) == 0 {
		fmt.Fprintln(stdio.Stdout, "nothing to stop")
	}
	return ExitPass
}
