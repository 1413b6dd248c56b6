// Command seam runs integration test suites. See the README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/seamtest/seam/internal/cli"
)

func main() {
	// Ctrl-C, seam down (SIGTERM) and a closed terminal (SIGHUP) all stop
	// seam the same way: it stops what it started before it exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// Without this, a write to a closed output pipe (seam up | head) kills
	// seam at once and leaves its services running; with it, the write
	// fails with EPIPE and seam stops cleanly (see cli's pipeWriter).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Exit: os.Exit})
	stop()
	os.Exit(code)
}
