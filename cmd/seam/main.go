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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
