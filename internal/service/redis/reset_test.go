package redis

import (
	"context"
	"errors"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/peertest"
	"github.com/seamtest/seam/internal/service"
)

// started is a redis service started as an environment starts it, with
// the suite's default user's client on each database the test asks for.
type started struct {
	inst *instance
	pw   string
}

// startRedis starts a redis service with init commands, runs job (as a
// job would, on the default user's connection to database jobDB) and
// takes the baseline.
func startRedis(t *testing.T, init []command, jobDB int, job [][]any) *started {
	t.Helper()
	_, err := exec.LookPath("redis-server")
	peertest.Need(t, "Redis", "redis-server", err == nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	spec := &Spec{Init: init, Reset: "per-test"}
	if err := spec.Prepare(ctx, &service.PrepareEnv{Name: "cache", Dir: t.TempDir(), CacheDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	port, release, err := freeport.One()
	if err != nil {
		t.Fatal(err)
	}
	info := map[string]any{"name": "cache", "addr": "127.0.0.1:" + strconv.Itoa(port), "port": port}
	spec.Describe(info)
	var mu sync.Mutex
	var logged []string
	si, err := spec.Start(ctx, &service.StartEnv{Name: "cache", Dir: t.TempDir(), TempDir: t.TempDir(), Info: info, Log: func(_, line string) {
		mu.Lock()
		logged = append(logged, line)
		mu.Unlock()
	}})
	release()
	if err != nil {
		t.Fatal(err)
	}
	inst := si.(*instance)
	t.Cleanup(func() { inst.Stop(context.Background()) })
	target := service.Target{Name: "cache", Host: "127.0.0.1", Ports: map[string]int{"main": port}, Main: "main"}
	for spec.DefaultProbe().Check(ctx, target) != nil {
		select {
		case <-inst.Done():
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("redis-server exited: %v\n%s", inst.ExitErr(), strings.Join(logged, "\n"))
		case <-ctx.Done():
			t.Fatal("redis-server did not become ready")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := inst.Init(ctx); err != nil {
		t.Fatal(err)
	}
	s := &started{inst: inst, pw: info["password"].(string)}
	for _, cmd := range job {
		s.do(t, jobDB, cmd...)
	}
	if err := inst.Baseline(ctx, func(text string) { t.Errorf("notice: %s", text) }); err != nil {
		t.Fatal(err)
	}
	return s
}

// do runs one command as the system would, on database db.
func (s *started) do(t *testing.T, db int, args ...any) string {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.inst.addr, Password: s.pw, DB: db})
	defer c.Close()
	v, err := c.Do(context.Background(), args...).Text()
	if errors.Is(err, goredis.Nil) {
		return "(nil)"
	}
	if err != nil {
		t.Fatalf("db %d: %v: %v", db, args, err)
	}
	return v
}

// state is every database's keys and values (strings), as KEYS and GET
// give them.
func (s *started) state(t *testing.T) string {
	t.Helper()
	var parts []string
	for db := 0; db < 16; db++ {
		c := goredis.NewClient(&goredis.Options{Addr: s.inst.addr, Password: s.pw, DB: db})
		keys, err := c.Keys(context.Background(), "*").Result()
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		for _, k := range keys {
			v, _ := c.Get(context.Background(), k).Result()
			parts = append(parts, strconv.Itoa(db)+":"+k+"="+v)
		}
		c.Close()
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// A test's writes to any database are reset, not only to database 0: the
// keys a job wrote to another database are the baseline's too.
func TestResetRestoresEveryDatabase(t *testing.T) {
	s := startRedis(t, []command{{"SET", "seeded", "yes"}}, 2, [][]any{{"SET", "job", "two"}})
	const want = "0:seeded=yes 2:job=two"
	if got := s.state(t); got != want {
		t.Fatalf("the baseline: %s; want %s", got, want)
	}
	for round := 0; round < 2; round++ {
		s.do(t, 1, "SET", "leaked", "yes")
		s.do(t, 0, "SET", "db0key", "yes")
		s.do(t, 2, "SET", "job", "changed")
		s.do(t, 15, "SET", "last", "yes")
		s.do(t, 0, "SWAPDB", "0", "5")
		if err := s.inst.Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := s.state(t); got != want {
			t.Fatalf("round %d, after reset: %s; want %s", round, got, want)
		}
	}
	// seam's own connections are on database 0 after a reset.
	if err := s.inst.c.Set(context.Background(), "probe", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := s.do(t, 0, "GET", "probe"); got != "x" {
		t.Errorf("seam's client wrote to another database than 0 after a reset")
	}
}

// A reset puts back the baseline's function libraries (FLUSHALL keeps
// functions): one a test loads is gone, one it deleted or replaced is
// back.
func TestResetRestoresFunctions(t *testing.T) {
	const baseLib = "#!lua name=baselib\nredis.register_function('basef', function(keys, args) return 'base' end)"
	probe := startRedis(t, nil, 0, nil)
	if err := probe.inst.c.FunctionList(context.Background(), goredis.FunctionListQuery{}).Err(); err != nil {
		t.Skipf("this redis-server has no functions (before Redis 7.0): %v", err)
	}
	s := startRedis(t, nil, 0, [][]any{{"FUNCTION", "LOAD", baseLib}})
	libs := func() string {
		t.Helper()
		c := goredis.NewClient(&goredis.Options{Addr: s.inst.addr, Password: s.pw})
		defer c.Close()
		list, err := c.FunctionList(context.Background(), goredis.FunctionListQuery{}).Result()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range list {
			names = append(names, l.Name)
		}
		sort.Strings(names)
		return strings.Join(names, " ")
	}
	for round := 0; round < 2; round++ {
		s.do(t, 0, "FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myf', function(keys, args) return 1 end)")
		s.do(t, 0, "FUNCTION", "LOAD", "REPLACE", "#!lua name=baselib\nredis.register_function('basef', function(keys, args) return 'changed' end)")
		if err := s.inst.Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := libs(); got != "baselib" {
			t.Errorf("round %d: libraries after the reset: %q; want baselib", round, got)
		}
		if got := s.do(t, 0, "FCALL", "basef", "0"); got != "base" {
			t.Errorf("round %d: basef after the reset answers %q; want base, the baseline's", round, got)
		}
		s.do(t, 0, "FUNCTION", "DELETE", "baselib")
		if err := s.inst.Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := libs(); got != "baselib" {
			t.Errorf("round %d: libraries after a reset of their deletion: %q; want baselib", round, got)
		}
	}
}

// With no script loaded at the baseline, a reset empties the script cache:
// EVALSHA of a script a test loaded answers NOSCRIPT in the next test,
// whatever ran before; a client that falls back to EVAL (go-redis's
// Script) still works.
func TestResetFlushesScripts(t *testing.T) {
	s := startRedis(t, nil, 0, nil)
	c := goredis.NewClient(&goredis.Options{Addr: s.inst.addr, Password: s.pw})
	defer c.Close()
	ctx := context.Background()
	script := goredis.NewScript("return 'ran'")
	for round := 0; round < 2; round++ {
		if err := script.Load(ctx, c).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.inst.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		if exists, err := script.Exists(ctx, c).Result(); err != nil || exists[0] {
			t.Errorf("round %d: the script a test loaded exists after the reset: %v (error %v); want false", round, exists, err)
		}
		if got, err := script.Run(ctx, c, nil).Text(); got != "ran" || err != nil {
			t.Errorf("round %d: go-redis Script.Run after the reset: %q, %v; want ran", round, got, err)
		}
	}
}

// A script a service loaded by the baseline stays: Redis cannot list the
// cache, so seam leaves it rather than answer NOSCRIPT to the service's
// EVALSHA.
func TestResetKeepsBaselineScripts(t *testing.T) {
	s := startRedis(t, nil, 0, [][]any{{"SCRIPT", "LOAD", "return 'base'"}})
	sha := s.do(t, 0, "SCRIPT", "LOAD", "return 'base'")
	for round := 0; round < 2; round++ {
		if err := s.inst.Reset(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := s.do(t, 0, "EVALSHA", sha, "0"); got != "base" {
			t.Errorf("round %d: EVALSHA of the baseline's script after the reset: %q; want base", round, got)
		}
	}
}
