package redisstep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// startRedis starts the machine's redis-server on a free loopback port and
// returns its URL; the server stops when the test ends.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is missing; the test command installs it (Debian package redis-server)")
		}
		t.Skip("redis-server not installed (apt-get install redis-server); CI installs it")
	}
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning")
	cmd.Args = append(cmd.Args, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	release() // the server binds it next
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	url := "redis://127.0.0.1:" + strconv.Itoa(port)
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := c.Ping(ctx).Err()
		var answer goredis.Error
		if err == nil || errors.As(err, &answer) { // NOAUTH: it answers
			return url
		}
		select {
		case <-done:
			t.Fatalf("redis-server exited: %s", out.String())
		case <-ctx.Done():
			t.Fatalf("redis-server is not answering on %s: %v\n%s", url, err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// run decodes a redis step and runs it.
func run(t *testing.T, k *Kind, src string) any {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	a := k.Decode(decode.New("t.yaml", &errs), n.Content[0])
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(context.Background(), &step.Env{})
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return res.Fields["reply"]
}

// What a step's command does to its connection (the database it
// selected, a transaction it began, its name) is gone by the next step.
func TestConnectionStateEndsWithTheStep(t *testing.T) {
	url := startRedis(t)
	k := New()
	defer k.Close()
	do := func(cmd string) any { return run(t, k, `{url: "`+url+`", command: `+cmd+`}`) }
	do(`[SET, k, zero]`)
	do(`[SELECT, "1"]`)
	if got := do(`[GET, k]`); got != "zero" {
		t.Errorf("GET after SELECT 1 in an earlier step: %v, want zero (database 0's)", got)
	}
	if got := do(`[DBSIZE]`); fmt.Sprint(got) != "1" {
		t.Errorf("DBSIZE after SELECT 1 in an earlier step: %v, want 1 (database 0's)", got)
	}
	do(`[MULTI]`)
	if got := do(`[GET, k]`); got != "zero" {
		t.Errorf("GET after MULTI in an earlier step: %v, want zero", got)
	}
	do(`[CLIENT, SETNAME, leaked]`)
	if got := do(`[CLIENT, GETNAME]`); got != nil {
		t.Errorf("CLIENT GETNAME after a SETNAME in an earlier step: %v, want null", got)
	}
}

// Steps leave no connections open behind them, however many run.
func TestStepsLeaveNoConnectionsOpen(t *testing.T) {
	url := startRedis(t)
	k := New()
	defer k.Close()
	for i := 0; i < 200; i++ {
		run(t, k, `{url: "`+url+`", command: [INCR, n]}`)
	}
	if got := run(t, k, `{url: "`+url+`", command: [GET, n]}`); got != "200" {
		t.Errorf("n = %v, want 200", got)
	}
	info := run(t, k, `{url: "`+url+`", command: [INFO, clients]}`).(string)
	// The INFO step's own connection is the only one.
	if !strings.Contains(info, "connected_clients:1\r\n") {
		t.Errorf("connections left open:\n%s", info)
	}
}

// Connecting first (to keep dialling out of duration_ms) does not stand in
// the way of a step that authenticates on its own.
func TestAuthInAStep(t *testing.T) {
	url := startRedis(t, "--requirepass", "s3cret")
	k := New()
	defer k.Close()
	if got := run(t, k, `{url: "`+url+`", command: [AUTH, s3cret]}`); got != "OK" {
		t.Errorf("AUTH: %v", got)
	}
	// and what it authenticated ends with it, like the rest
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(`{url: "`+url+`", command: [GET, k]}`), &n); err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	a := k.Decode(decode.New("t.yaml", &errs), n.Content[0])
	if _, err := a.Run(context.Background(), &step.Env{}); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("GET with no password, after an earlier step's AUTH: %v, want NOAUTH", err)
	}
}
