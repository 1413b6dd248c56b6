// Command seam runs integration test suites. See the README.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/seamtest/seam/internal/cli"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/service/process"
)

func main() {
	// Ctrl-C, seam down (SIGTERM) and a closed terminal (SIGHUP) all stop
	// seam the same way: it stops what it started before it exits. A stop
	// that waits long says so on stderr; a second signal (or one while a
	// stop says it waits) kills what is left at once.
	ctx, cancel := context.WithCancelCause(context.Background())
	stops := process.Default
	stops.Notify(func(line string) { fmt.Fprintln(os.Stderr, "seam: "+line) })
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	crash.Go(ctx, func() {
		for sig := range sigs {
			stops.Interrupt()
			// The cause signal.NotifyContext gives: "interrupt signal received".
			cancel(errors.New(sig.String() + " signal received"))
		}
	})
	// Without this, a write to a closed output pipe (seam up | head) kills
	// seam at once and leaves its services running; with it, the write
	// fails with EPIPE and seam stops cleanly (see cli's pipeWriter).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Exit: os.Exit})
	signal.Stop(sigs)
	close(sigs) // no signal is sent on it after Stop: the loop above ends
	cancel(context.Canceled)
	if stops.Hurried() && code != cli.ExitCrash {
		// Whatever the run had come to, the user stopped it.
		code = cli.ExitInterrupted
	}
	os.Exit(code)
}
