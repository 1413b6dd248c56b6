// Package peertest runs a peer tool (WireMock's jar, toxiproxy-server)
// for seam's differential tests: in a process group of its own that dies
// with the test binary and is stopped when the test ends; and says what a
// test needs that is not installed (Need). Tests only.
package peertest

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/crash"
)

// Start starts cmd, stops its group when t ends (SIGTERM, then SIGKILL
// after 5 s), and waits until a GET of health answers 200, at most within.
// It fails t, with the peer's output, when the peer exits first or is not
// ready in time; name says which peer.
func Start(t testing.TB, name string, cmd *exec.Cmd, health string, within time.Duration) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	crash.Go(context.Background(), func() { cmd.Wait(); close(exited) }) // no handler: a panic ends the test binary
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(within)
	for {
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before it was ready:\n%s", name, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not ready within %s:\n%s", name, within, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
