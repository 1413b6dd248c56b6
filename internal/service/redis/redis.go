// Package redis is the `redis` service kind: a real Redis server from the
// machine's redis-server, on a free loopback port, with init commands and
// the keyspace reset to that baseline between tests.
package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/datadir"
	"github.com/seamtest/seam/internal/service/process"
	"github.com/seamtest/seam/internal/token"
	"go.yaml.in/yaml/v4"
)

// Kind is the redis service kind.
type Kind struct{}

// Usage implements service.Kind.
func (Kind) Usage() service.Usage {
	return service.Usage{
		Name: "redis",
		Summary: "a Redis server (Debian package redis-server). Its info has url " +
			"(redis://…/0). Reset restores every database that has keys with DUMP and RESTORE",
		Inputs: []service.Input{
			{Name: "init", Doc: "commands run once (the baseline): each a list like [HSET, user:1, name, Ada] or a string split on spaces"},
			{Name: "reset", Doc: "per-test (default), per-suite or never: when the databases go back to the baseline, their keys once the environment has started (after init:, jobs and the services' start-up). " +
				"Function libraries (FUNCTION LOAD, Redis 7.0 on) go back to the baseline's too. The Lua script cache (SCRIPT LOAD, EVAL) is emptied when it was empty at the baseline; " +
				"when a service had loaded scripts by then it is left as is (Redis cannot list it, and emptying it would answer NOSCRIPT to the service's EVALSHA), so a script a test loads stays for the tests after it"},
			{Name: "bin", Doc: "the redis-server binary"},
			{Name: "password", Doc: "the default user's password (default: a random one per environment; the url carries it: redis://default:PASSWORD@host:port/0)"},
			{Name: "superuser", Doc: "true lets the system run administrative commands (CONFIG, DEBUG, SHUTDOWN, ACL, …; default false)"},
		},
		Example: "redis:\n  init:\n    - SET greeting hello\n    - [HSET, user:1, name, \"Ada Lovelace\"]",
	}
}

// adminUser is seam's own user in every server it starts: it runs init
// and resets the data. Only seam knows its password.
const adminUser = "seam_admin"

// Spec is a decoded redis service.
type Spec struct {
	Init  []command `yaml:"init"`
	Reset string    `yaml:"reset"`
	Bin   string    `yaml:"bin"`
	// Password is the default user's; "" gives each environment its own.
	Password  string `yaml:"password"`
	Superuser bool   `yaml:"superuser"`

	mu     sync.Mutex
	server string
}

// command is one Redis command: a list, or a string split on spaces.
type command []string

func (c *command) DecodeYAML(d *decode.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		*c = strings.Fields(n.Value)
	} else {
		var list []string
		d.Decode(n, &list, "redis.init")
		*c = list
	}
	if len(*c) == 0 {
		d.Errorf(n, "redis.init: empty command")
	}
}

// Decode implements service.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) service.Spec {
	s := &Spec{Reset: "per-test"}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return s
	}
	before := d.Errs.Len()
	d.Decode(n, s, "redis")
	datadir.CheckReset(d, n, "redis", s.Reset)
	if strings.ContainsAny(s.Password, " \t\r\n\"'") {
		d.Errorf(n, "redis.password: a password with spaces or quotes cannot be given to the server").WithHint("use letters, digits and punctuation other than quotes, or leave password: out for a random one")
	}
	if d.Errs.Len() > before {
		return nil
	}
	return s
}

// Describe implements service.Describer.
func (s *Spec) Describe(info map[string]any) {
	pw := s.Password
	if pw == "" {
		pw, _ = token.New()
	}
	info["url"] = (&url.URL{Scheme: "redis", User: url.UserPassword("default", pw), Host: info["addr"].(string), Path: "/0"}).String()
	info["password"] = pw
}

// DefaultProbe implements service.Prober: PING answers PONG.
func (s *Spec) DefaultProbe() service.Probe { return pingProbe{} }

// quiet silences go-redis, which logs every failed dial to stderr. The
// ready probe fails on purpose until the server listens, and seam reports
// what went wrong in its own words: the library's lines are noise on the
// user's terminal. Its logger is global, and services prepare at once.
var quiet sync.Once

type silent struct{}

func (silent) Printf(context.Context, string, ...any) {}

type pingProbe struct{}

func (pingProbe) String() string { return "redis PING" }

func (pingProbe) Check(ctx context.Context, t service.Target) error {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:" + strconv.Itoa(t.MainPort()), MaxRetries: -1, DialTimeout: time.Second,
		// One dial per check: the probe is the retry loop (go-redis would
		// otherwise wait 100 ms between five dials before saying no).
		DialerRetries: 1})
	defer c.Close()
	err := c.Ping(ctx).Err()
	if err != nil && strings.HasPrefix(err.Error(), "NOAUTH") {
		return nil // the server answers, and wants the password: ready
	}
	return err
}

// Prepare implements service.Spec: find redis-server.
func (s *Spec) Prepare(ctx context.Context, env *service.PrepareEnv) error {
	quiet.Do(func() { goredis.SetLogger(silent{}) })
	bin, err := datadir.Binary(s.Bin, "redis-server", "redis-server")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.server = bin
	s.mu.Unlock()
	return nil
}

// Start implements service.Spec.
func (s *Spec) Start(ctx context.Context, env *service.StartEnv) (service.Instance, error) {
	s.mu.Lock()
	bin := s.server
	s.mu.Unlock()
	port := env.Info["port"].(int)
	dir := filepath.Join(env.TempDir, "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The users and their passwords go in a file only seam's user may
	// read, not on the command line, which every user may see (ps).
	// The default user is the system's: every key and channel, every
	// command but the administrative ones unless the suite asks; seam's
	// own user resets the data.
	adminPW, err := token.New()
	if err != nil {
		return nil, err
	}
	pw, _ := env.Info["password"].(string)
	rights := "+@all -@admin"
	if s.Superuser {
		rights = "+@all"
	}
	conf := filepath.Join(env.TempDir, "redis.conf")
	text := fmt.Sprintf("user default on >%s ~* &* %s\nuser %s on >%s ~* &* +@all\n", pw, rights, adminUser, adminPW)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	args := []string{bin, conf, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"}
	inst, err := process.Launch(process.Child{
		Crash: crash.From(ctx),
		Path:  bin, Argv: args, Dir: dir, Env: append(os.Environ(), env.Env...),
		Grace: 5 * time.Second, Log: env.Log, Started: env.Started,
	})
	if err != nil {
		return nil, err
	}
	return &instance{Instance: inst, spec: s, addr: "127.0.0.1:" + strconv.Itoa(port), adminPW: adminPW}, nil
}

// instance is a running server with its baseline.
type instance struct {
	service.Instance
	spec    *Spec
	addr    string
	adminPW string // seam's own user's (adminUser)
	c       *goredis.Client
	// base is the baseline: the keys of each database that had any. A
	// reset empties every database (a test may write to any), then
	// restores these.
	base map[int][]entry
	// functions is the baseline's function libraries (FUNCTION DUMP), nil
	// on a server without functions (before Redis 7.0). FLUSHALL keeps
	// functions, so a reset puts these back in their place.
	functions *string
	// flushScripts: the baseline's script cache was empty, so a reset
	// empties it too (SCRIPT FLUSH). Otherwise a service loaded scripts
	// by the baseline; Redis cannot list them, so seam can neither put
	// them back nor remove only the tests', and leaves the cache as is
	// rather than answer NOSCRIPT to a service's EVALSHA of a script it
	// loaded at its start.
	flushScripts bool
}

type entry struct {
	key   string
	ttl   time.Duration
	value string
}

// Init implements service.Initializer: run init commands (the baseline
// is taken once the whole environment has started: Baseline).
func (i *instance) Init(ctx context.Context) error {
	i.c = goredis.NewClient(&goredis.Options{Addr: i.addr, MaxRetries: -1, Username: adminUser, Password: i.adminPW})
	for _, cmd := range i.spec.Init {
		args := make([]any, len(cmd))
		for j, a := range cmd {
			args[j] = a
		}
		if err := i.c.Do(ctx, args...).Err(); err != nil && !errors.Is(err, goredis.Nil) {
			return fmt.Errorf("init %s: %w", strings.Join(cmd, " "), err)
		}
	}
	return nil
}

// Baseline implements service.Baseliner: every database once the
// environment has started, with the keys jobs and services wrote, is the
// baseline.
func (i *instance) Baseline(ctx context.Context, notice func(string)) error {
	if i.spec.Reset != "per-test" {
		return nil
	}
	info, err := i.c.Info(ctx, "keyspace").Result()
	if err != nil {
		return fmt.Errorf("taking the baseline: %w", err)
	}
	i.base = map[int][]entry{}
	for _, db := range keyspaces(info) {
		entries, err := i.take(ctx, db)
		if err != nil {
			return err
		}
		i.base[db] = entries
	}
	server, err := i.c.Info(ctx, "server").Result()
	if err != nil {
		return fmt.Errorf("taking the baseline: %w", err)
	}
	// Functions came with Redis 7.0.
	major, _, _ := strings.Cut(infoField(server, "redis_version"), ".")
	if n, _ := strconv.Atoi(major); n >= 7 {
		dump, err := i.c.FunctionDump(ctx).Result()
		if err != nil {
			return fmt.Errorf("taking the baseline's functions: %w", err)
		}
		i.functions = &dump
	}
	memory, err := i.c.Info(ctx, "memory").Result()
	if err != nil {
		return fmt.Errorf("taking the baseline: %w", err)
	}
	i.flushScripts = infoField(memory, "number_of_cached_scripts") == "0"
	return nil
}

// infoField is a field of INFO's answer ("name:value" lines), "" when
// it has none.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// keyspaces lists the databases that hold keys, as INFO keyspace says
// ("db0:keys=1,expires=0,avg_ttl=0"), in order.
func keyspaces(info string) []int {
	var dbs []int
	for _, line := range strings.Split(info, "\n") {
		name, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if n, err := strconv.Atoi(strings.TrimPrefix(name, "db")); ok && err == nil && strings.HasPrefix(name, "db") {
			dbs = append(dbs, n)
		}
	}
	sort.Ints(dbs)
	return dbs
}

// take reads the keys of one database: a client of its own, as a pooled
// connection that SELECTed another database would stay there.
func (i *instance) take(ctx context.Context, db int) ([]entry, error) {
	c := goredis.NewClient(&goredis.Options{Addr: i.addr, MaxRetries: -1, Username: adminUser, Password: i.adminPW, DB: db})
	defer c.Close()
	var out []entry
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("taking the baseline of database %d: %w", db, err)
		}
		for _, k := range keys {
			v, err := c.Dump(ctx, k).Result()
			if errors.Is(err, goredis.Nil) {
				continue // expired meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("taking the baseline of %s in database %d: %w", k, db, err)
			}
			ttl, _ := c.PTTL(ctx, k).Result()
			if ttl < 0 {
				ttl = 0
			}
			out = append(out, entry{key: k, ttl: ttl, value: v})
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	return out, nil
}

// Reset implements service.Resetter: empty every database and restore the
// baseline's keys and function libraries, and empty the script cache when
// the baseline's was empty, in one transaction (MULTI/EXEC); clients stay
// connected. A database other than 0 costs a SELECT when the baseline
// has keys in it, nothing otherwise.
func (i *instance) Reset(ctx context.Context) error {
	if i.spec.Reset != "per-test" || i.c == nil {
		return nil
	}
	dbs := make([]int, 0, len(i.base))
	for db := range i.base {
		dbs = append(dbs, db)
	}
	sort.Ints(dbs)
	_, err := i.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.FlushAll(ctx)
		if i.functions != nil {
			p.Do(ctx, "FUNCTION", "RESTORE", *i.functions, "FLUSH")
		}
		if i.flushScripts {
			p.ScriptFlush(ctx)
		}
		at := 0
		for _, db := range dbs {
			if db != at {
				p.Select(ctx, db)
				at = db
			}
			for _, e := range i.base[db] {
				p.RestoreReplace(ctx, e.key, e.ttl, e.value)
			}
		}
		if at != 0 {
			p.Select(ctx, 0) // the connection goes back to the pool on database 0
		}
		return nil
	})
	return err
}

// Stop closes the client and stops the server.
func (i *instance) Stop(ctx context.Context) error {
	if i.c != nil {
		i.c.Close()
	}
	return i.Instance.Stop(ctx)
}
