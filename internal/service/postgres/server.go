package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/freeport"
	"github.com/seamtest/seam/internal/reap"
	"github.com/seamtest/seam/internal/runas"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/datadir"
	"github.com/seamtest/seam/internal/service/process"
	"github.com/seamtest/seam/internal/token"
)

// server is what Prepare finds and builds once per run.
type server struct {
	crash    *crash.Handler // the run's: panics of the copies made ahead
	postgres string         // path of the postgres binary
	version  string
	template string        // cached initdb data folder
	adminPW  string        // the password of seam's own superuser (adminRole) in it
	tree     *datadir.Tree // its listing, for each start's copy
	user     *runas.User

	mu     sync.Mutex
	starts int    // how many instances were started from it
	spare  *spare // a copy made ahead for the next start, or nil
	closed bool
	copies sync.WaitGroup // copies ahead still running
}

// spare is a data folder copied ahead of a start, whole: it is handed to
// exactly one instance, which owns and removes it like a folder it copied
// itself, so instances never share a file.
type spare struct {
	dir  string        // holds data/, owned by the server's user
	done chan struct{} // closed when the copy ended
	err  error         // set before done is closed
}

// find locates postgres and initdb: bin:, then the Debian layout, then PATH.
func find(bin string) (postgres, initdb string, err error) {
	if bin != "" {
		postgres, initdb = filepath.Join(bin, "postgres"), filepath.Join(bin, "initdb")
		if _, err := os.Stat(postgres); err != nil {
			return "", "", fmt.Errorf("postgres not found in %s (bin:): %w", bin, unwrap(err))
		}
		return postgres, initdb, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return filepath.Join(d, "postgres"), filepath.Join(d, "initdb"), nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if i, err := exec.LookPath("initdb"); err == nil {
			return p, i, nil
		}
	}
	return "", "", errors.New("PostgreSQL server not found: install the Debian package postgresql (apt-get install postgresql), or set bin: to the folder holding postgres and initdb")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Prepare implements service.Spec: find the server and make sure the
// cache holds a data folder for this server version, these settings and
// these init files, with the database made, the init files applied and the
// baseline taken. A start then only copies it and starts the server:
// initdb, CREATE DATABASE and the init files cost nothing after the first
// run.
func (s *Spec) Prepare(ctx context.Context, env *service.PrepareEnv) error {
	pg, initdb, err := find(s.Bin)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, pg, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %v", pg, err)
	}
	user, err := runas.Pick("postgres")
	if err != nil {
		return err
	}
	db := s.Database
	if db == "" {
		db = env.Name
	}
	files, err := datadir.InitFiles(env.Dir, s.Init)
	if err != nil {
		return err
	}
	srv := &server{crash: crash.From(ctx), postgres: pg, version: strings.TrimSpace(string(out)), user: user}
	h := sha256.New()
	// The password is not part of the key: each environment sets its own.
	// seam's baseline schema is in the folder: a folder made by another
	// version of it is not this one's.
	fmt.Fprintf(h, "v9\x00%s\x00%s\x00%v\x00%s\x00%s\x00%s\x00", srv.version, s.User, s.Superuser, db, s.Reset, baselineSchema)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(data))
		h.Write(data)
	}
	srv.template = filepath.Join(env.CacheDir, "postgres", hex.EncodeToString(h.Sum(nil))[:24])
	if _, err := os.Stat(filepath.Join(srv.template, "PG_VERSION")); err != nil {
		if err := s.build(ctx, env, initdb, srv, db, files); err != nil {
			return err
		}
	}
	tree, err := datadir.Scan(srv.template)
	if err != nil {
		return fmt.Errorf("reading the cached data folder: %w", err)
	}
	pw, err := os.ReadFile(filepath.Join(srv.template, adminPWFile))
	if err != nil {
		return fmt.Errorf("reading the cached data folder: %w", err)
	}
	srv.adminPW = strings.TrimSpace(string(pw))
	// The relation cache's init files are removed by postgres at every
	// start: copying them is wasted.
	// The free space and visibility maps are hints that PostgreSQL makes
	// again when it first needs them: a missing one reads as "no free
	// space known" and "no page known all-visible", never as an error.
	// A quarter of the folder's files, and every start copied them.
	srv.tree = tree.Without(func(rel string) bool {
		return path.Base(rel) == "pg_internal.init" || hintFork(rel) || rel == adminPWFile
	})
	_ = datadir.Use(srv.template) // pruning the cache is no reason to stop a run
	s.mu.Lock()
	old := s.srv
	s.srv = srv
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// hintFork tells a relation's free space map or visibility map file
// (12345_fsm, 12345_vm) by its path relative to the data folder.
func hintFork(rel string) bool {
	name := path.Base(rel)
	num, fork, ok := strings.Cut(name, "_")
	if !ok || num == "" || (fork != "fsm" && fork != "vm") {
		return false
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Close implements service.Closer: the data folder copied ahead for a
// start that will not come is removed (a copy still running is stopped
// first).
func (s *Spec) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.close()
}

func (srv *server) close() error {
	srv.mu.Lock()
	srv.closed = true
	sp := srv.spare
	srv.spare = nil
	srv.mu.Unlock()
	srv.copies.Wait()
	if sp == nil || sp.dir == "" {
		return nil
	}
	return os.RemoveAll(sp.dir)
}

// copyAhead starts copying the cached data folder for the next start,
// unless a copy is ready or under way. It is called when an instance
// stops after an earlier start: a run that starts PostgreSQL again and
// again (an environment per test from Go, seam up after seam down in one
// process, retries) finds its next data folder made while it did other
// work, and its start is the server's own start alone. A run that starts
// once never pays for a copy it does not use.
func (srv *server) copyAhead(addTemp func(string)) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed || srv.spare != nil || srv.starts < 2 {
		return
	}
	sp := &spare{done: make(chan struct{})}
	srv.spare = sp
	srv.copies.Add(1)
	srv.crash.Go(func() {
		defer srv.copies.Done()
		defer close(sp.done)
		sp.dir, sp.err = srv.copyInto("seam-pg-ahead-", addTemp, func(string) bool {
			srv.mu.Lock()
			defer srv.mu.Unlock()
			return !srv.closed // a closed server stops copying at the next file
		})
		if sp.err == nil && !srv.isOpen() {
			// Closed midway: the copy is partial.
			os.RemoveAll(sp.dir)
			sp.dir, sp.err = "", errors.New("closed")
		}
	})
}

func (srv *server) isOpen() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return !srv.closed
}

// copyInto makes a folder on tmpfs and copies the whole cached data
// folder into its data/.
func (srv *server) copyInto(prefix string, addTemp func(string), keep func(string) bool) (string, error) {
	dir, err := os.MkdirTemp(datadir.Scratch(), prefix)
	if err != nil {
		return "", err
	}
	if addTemp != nil {
		addTemp(dir)
	}
	data := filepath.Join(dir, "data")
	err = srv.user.Chown(dir)
	if err == nil {
		err = srv.tree.MakeDirs(data, srv.user)
	}
	if err == nil {
		err = srv.tree.CopyFiles(data, srv.user, keep)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("copying the data folder: %w", err)
	}
	return dir, nil
}

// takeSpare returns the folder copied ahead, waiting for a copy under
// way, or "" when there is none (or it failed): the caller copies.
func (srv *server) takeSpare(ctx context.Context) (string, error) {
	srv.mu.Lock()
	srv.starts++
	sp := srv.spare
	srv.spare = nil
	srv.mu.Unlock()
	if sp == nil {
		return "", nil
	}
	select {
	case <-sp.done:
	case <-ctx.Done():
		// The copy ends on its own; its folder is removed then.
		crash.Go(ctx, func() {
			<-sp.done
			if sp.err == nil {
				os.RemoveAll(sp.dir)
			}
		})
		return "", ctx.Err()
	}
	if sp.err != nil {
		return "", nil
	}
	return sp.dir, nil
}

// build makes the cached data folder: initdb, then a server started once to
// create the database, apply the init files and take the baseline.
func (s *Spec) build(ctx context.Context, env *service.PrepareEnv, initdb string, srv *server, db string, files []string) error {
	work, err := env.MkdirTemp(datadir.Scratch(), "seam-initdb-")
	if err != nil {
		return err
	}
	data := filepath.Join(work, "data")
	defer func() {
		// initdb or the server killed midway left their shared memory,
		// named in the folder's postmaster.pid.
		reap.RemovePostmasterShm(data)
		os.RemoveAll(work)
	}()
	if err := srv.user.Chown(work); err != nil {
		return err
	}
	// seam's own superuser, for the baseline and resets, with a password
	// only seam knows (kept beside the cached data, the user's alone);
	// the suite's role is made below, not a superuser unless asked.
	adminPW, err := token.New()
	if err != nil {
		return err
	}
	appPW, err := token.New() // replaced at each start
	if err != nil {
		return err
	}
	pw := filepath.Join(work, "pw")
	if err := os.WriteFile(pw, []byte(adminPW+"\n"), 0o600); err != nil {
		return err
	}
	if err := srv.user.Chown(pw); err != nil {
		return err
	}
	// 1 MB WAL segments instead of 16: a smaller folder to copy per start.
	// --no-clean: the work folder is seam's to remove, and a data folder
	// left by an initdb killed midway names the shared memory it leaked
	// (its postmaster.pid), which the deferred sweep and the reaping read.
	cmd := exec.CommandContext(ctx, initdb, "-D", data, "-U", adminRole, "--pwfile="+pw, "-A", "scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync", "--wal-segsize=1", "--no-clean")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: srv.user.Credential()}
	if out, err := env.Run(ctx, "initdb", cmd); err != nil {
		var stopped *service.Interrupted
		if errors.As(err, &stopped) {
			return err
		}
		return fmt.Errorf("initdb failed: %v\n%s", err, datadir.LastLines(string(out), 20))
	}
	port, release, err := freeport.One()
	if err != nil {
		return err
	}
	defer release()
	var mu sync.Mutex
	var lines []string
	inst, err := process.Launch(process.Child{
		Crash: crash.From(ctx),
		Path:  srv.postgres, Argv: serverArgs(srv.postgres, data, port, nil), Dir: work,
		Env: append(os.Environ(), env.EnvAs(srv.user.Credential())...), Cred: srv.user.Credential(), Grace: 30 * time.Second, Signal: syscall.SIGINT,
		Started: env.Started,
		Log: func(_, line string) {
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
		},
	})
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = inst.Stop(context.Background())
		}
	}()
	admin, err := waitConnect(ctx, inst, adminRole, adminPW, port)
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("the server for the cache did not start: %v\n%s", err, datadir.LastLines(strings.Join(lines, "\n"), 20))
	}
	role := pgx.Identifier{s.User}.Sanitize()
	super := "NOSUPERUSER"
	if s.Superuser {
		super = "SUPERUSER"
	}
	_, err = admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN %s PASSWORD '%s'", role, super, appPW))
	if err == nil {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER "+role)
	}
	admin.Close(ctx)
	if err != nil {
		return fmt.Errorf("creating role %s and database %s: %w", s.User, db, err)
	}
	// init: runs as the suite's role, so what it makes is that role's,
	// as the system under test expects.
	conn, err := connect(ctx, s.User, appPW, port, db)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := applyFile(ctx, conn, f); err != nil {
			conn.Close(ctx)
			return err
		}
	}
	conn.Close(ctx)
	if s.Reset == "per-test" {
		conn, err := connect(ctx, adminRole, adminPW, port, db)
		if err != nil {
			return err
		}
		if err := takeBaseline(ctx, conn); err != nil {
			conn.Close(ctx)
			return fmt.Errorf("taking the baseline: %w", err)
		}
		conn.Close(ctx)
	}
	if err := os.WriteFile(filepath.Join(data, adminPWFile), []byte(adminPW+"\n"), 0o600); err != nil {
		return err
	}
	// A fast shutdown writes a clean checkpoint: every copy starts without
	// recovery.
	stopped = true
	if err := inst.Stop(ctx); err != nil {
		return err
	}
	if err := trimWAL(ctx, srv, data); err != nil {
		return err
	}
	if err := datadir.Store(data, srv.template, env.AddTemp); err != nil {
		return fmt.Errorf("caching the data folder: %w", err)
	}
	return nil
}

// trimWAL removes the WAL segments a cleanly shut down server does not need
// (those it recycled for later use): only the segment of the last
// checkpoint is read at start, and the rest is megabytes to copy per start.
func trimWAL(ctx context.Context, srv *server, data string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(srv.postgres), "pg_controldata"), "-D", data)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: srv.user.Credential(), Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("pg_controldata: %v", err)
	}
	var keep string
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch {
		case k == "Latest checkpoint's REDO WAL file":
			keep = v
		case k == "Database cluster state" && v != "shut down":
			return fmt.Errorf("the cache's server did not shut down cleanly (%s)", v)
		}
	}
	if len(keep) != 24 {
		return fmt.Errorf("pg_controldata did not name the checkpoint's WAL file:\n%s", out)
	}
	segs, err := filepath.Glob(filepath.Join(data, "pg_wal", strings.Repeat("[0-9A-F]", 24)))
	if err != nil {
		return err
	}
	for _, seg := range segs {
		if filepath.Base(seg) != keep {
			if err := os.Remove(seg); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitConnect connects once the server accepts sessions, or says why not.
func waitConnect(ctx context.Context, inst service.Instance, user, password string, port int) (*pgx.Conn, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := connect(ctx, user, password, port, "postgres")
		if err == nil {
			return c, nil
		}
		select {
		case <-inst.Done():
			return nil, fmt.Errorf("postgres exited: %v", inst.ExitErr())
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, err
		}
	}
}

// serverArgs are postgres's settings for tests: durability off, small
// memory, no files in /dev/shm that a killed server would leave.
func serverArgs(postgres, data string, port int, extra map[string]string) []string {
	args := []string{postgres, "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB", "-c", "dynamic_shared_memory_type=mmap", "-c", "huge_pages=off",
		"-c", "wal_level=minimal", "-c", "max_wal_senders=0", "-c", "max_worker_processes=2",
		// log_min_messages stays at its default: the probe reads the
		// "ready to accept connections" line.
		"-c", "max_connections=100",
		"-c", "logging_collector=off", "-c", "log_line_prefix=",
	}
	for _, k := range sortedKeys(extra) {
		args = append(args, "-c", k+"="+extra[k])
	}
	return args
}

// Start implements service.Spec: copy the cached data folder to tmpfs and
// start postgres on the service's port, as an unprivileged user when seam
// is root.
func (s *Spec) Start(ctx context.Context, env *service.StartEnv) (service.Instance, error) {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil, errors.New("postgres: not prepared")
	}
	ahead, err := srv.takeSpare(ctx)
	if err != nil {
		return nil, err
	}
	if ahead != "" {
		return s.launch(ctx, env, srv, ahead, nil)
	}
	dir, err := os.MkdirTemp(datadir.Scratch(), "seam-pg-"+env.Name+"-")
	if err != nil {
		return nil, err
	}
	if env.AddTemp != nil {
		env.AddTemp(dir)
	}
	fail := func(err error) (service.Instance, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := srv.user.Chown(dir); err != nil {
		return fail(err)
	}
	// The databases' files (base/, most of the folder) are copied while
	// the server starts: a server shut down cleanly reads only the control
	// file, the checkpoint's WAL and the transaction status at start, and a
	// database's files are opened when someone connects to it, which no one
	// does before Start returns.
	data := filepath.Join(dir, "data")
	isBase := func(rel string) bool { return strings.HasPrefix(rel, "base/") }
	if err := srv.tree.MakeDirs(data, srv.user); err != nil {
		return fail(err)
	}
	if err := srv.tree.CopyFiles(data, srv.user, func(rel string) bool { return !isBase(rel) }); err != nil {
		return fail(fmt.Errorf("copying the data folder: %w", err))
	}
	return s.launch(ctx, env, srv, dir, func() error { return srv.tree.CopyFiles(data, srv.user, isBase) })
}

// launch starts postgres on the data folder in dir; rest, when given,
// copies the rest of the folder while the server starts.
func (s *Spec) launch(ctx context.Context, env *service.StartEnv, srv *server, dir string, rest func() error) (service.Instance, error) {
	port := portOf(env.Info)
	args := serverArgs(srv.postgres, filepath.Join(dir, "data"), port, s.Settings)
	inst, err := process.Launch(process.Child{
		Crash: crash.From(ctx),
		Path:  srv.postgres, Argv: args, Dir: dir,
		Env:  append(os.Environ(), env.Env...),
		Cred: srv.user.Credential(), Grace: 10 * time.Second,
		Signal: syscall.SIGINT, // "fast" shutdown: do not wait for clients to leave
		Log:    env.Log, Started: env.Started,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if rest != nil {
		if err := rest(); err != nil {
			_ = inst.Stop(context.WithoutCancel(ctx))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("copying the data folder: %w", err)
		}
	}
	pw, _ := env.Info["password"].(string)
	return &instance{Instance: inst, spec: s, srv: srv, addTemp: env.AddTemp, dir: dir, port: port, db: s.database(env.Info), suiteDir: env.Dir, password: pw}, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// instance is a running server with its database.
type instance struct {
	service.Instance
	spec     *Spec
	srv      *server
	addTemp  func(string)
	dir      string
	port     int
	db       string
	suiteDir string
	password string // the suite's role's, this environment's own
	base     *baseline
}

// Stop stops the server and removes its data folder.
func (i *instance) Stop(ctx context.Context) error {
	err := i.Instance.Stop(ctx)
	if i.base != nil {
		i.base.close() // the server has stopped: the connection is made or failed
	}
	// A server killed after its grace period left its segment.
	reap.RemovePostmasterShm(filepath.Join(i.dir, "data"))
	if rmErr := os.RemoveAll(i.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	// Copied after the server stopped: the copy never competes with the
	// tests for the machine.
	i.srv.copyAhead(i.addTemp)
	return err
}
