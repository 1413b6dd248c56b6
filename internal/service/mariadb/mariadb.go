// Package mariadb is the `mariadb` service kind: a real MariaDB (MySQL)
// server from the machine's own binaries, started on a free loopback port
// from a cached initialised data folder on tmpfs, with a database and
// user, init SQL applied once, and the data reset to that baseline between
// tests without a restart.
package mariadb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/seamtest/seam/internal/crash"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/runas"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/service/datadir"
	"github.com/seamtest/seam/internal/service/process"
	"github.com/seamtest/seam/internal/token"
	"go.yaml.in/yaml/v4"
)

// Kind is the mariadb service kind.
type Kind struct{}

// Usage implements service.Kind.
func (Kind) Usage() service.Usage {
	return service.Usage{
		Name: "mariadb",
		Summary: "a MariaDB server (Debian package mariadb-server). " +
			"Its info has url (mysql://…), dsn (for Go's MySQL driver), user, password, database",
		Inputs: []service.Input{
			{Name: "database", Doc: "the database to create (default: the service's name)"},
			{Name: "user, password", Doc: "the user the system uses and its password (default: user seam, a random password per environment, shown by seam up and in service(\"name\").password); it has every right on its database only"},
			{Name: "superuser", Doc: "true gives the user every right on the server, as root has (default false)"},
			{Name: "init", Doc: "SQL files or folders applied in name order once; the result is the baseline each test starts from"},
			{Name: "reset", Doc: "per-test (default), per-suite or never: when the data goes back to the baseline, the data once the environment has started (after init:, jobs and the services' start-up)"},
			{Name: "bin", Doc: "the folder of mariadbd and mariadb-install-db"},
		},
		Example: "mariadb:\n  database: shop\n  init: [schema.sql]",
	}
}

// Spec is a decoded mariadb service.
type Spec struct {
	Database  string   `yaml:"database"`
	User      string   `yaml:"user"`
	Password  string   `yaml:"password"`
	Superuser bool     `yaml:"superuser"`
	Init      []string `yaml:"init"`
	Reset     string   `yaml:"reset"`
	Bin       string   `yaml:"bin"`

	mu  sync.Mutex
	srv *server
}

type server struct {
	mariadbd string
	template string        // cached initialised data folder
	tree     *datadir.Tree // its listing, for each start's copy
	user     *runas.User
}

// serverArgs are the settings for tests: small, no durability.
var serverArgs = []string{"--no-defaults", "--skip-name-resolve", "--innodb-log-file-size=4M",
	"--innodb-data-file-path=ibdata1:4M:autoextend", "--innodb-flush-log-at-trx-commit=0",
	"--innodb-doublewrite=0", "--innodb-buffer-pool-size=32M", "--skip-log-bin", "--performance-schema=off",
	// The system tablespace grows by 1 MB, not 64: the cached folder, copied
	// at each start, stays small.
	"--innodb-autoextend-increment=1"}

// Decode implements service.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) service.Spec {
	s := &Spec{User: "seam", Reset: "per-test"}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return s
	}
	before := d.Errs.Len()
	d.Decode(n, s, "mariadb")
	datadir.CheckReset(d, n, "mariadb", s.Reset)
	datadir.CheckInit(d, n, "mariadb")
	if s.User == "root" {
		d.Errorf(n, "mariadb.user: root is seam's own; name another user")
	}
	if d.Errs.Len() > before {
		return nil
	}
	return s
}

func (s *Spec) database(info map[string]any) string {
	if s.Database != "" {
		return s.Database
	}
	return info["name"].(string)
}

// Describe implements service.Describer.
func (s *Spec) Describe(info map[string]any) {
	db := s.database(info)
	pw := s.Password
	if pw == "" {
		// Each environment's own: another user of the machine cannot
		// guess it.
		pw, _ = token.New()
	}
	u := &url.URL{Scheme: "mysql", User: url.UserPassword(s.User, pw), Host: info["addr"].(string), Path: "/" + db}
	info["url"] = u.String()
	info["dsn"] = fmt.Sprintf("%s:%s@tcp(%s)/%s", s.User, pw, info["addr"], db)
	info["user"], info["password"], info["database"] = s.User, pw, db
}

// DefaultProbe implements service.Prober: root logs in over the socket.
func (s *Spec) DefaultProbe() service.Probe { return pingProbe{} }

type pingProbe struct{}

func (pingProbe) String() string { return "mariadb ping" }

func (pingProbe) Check(ctx context.Context, t service.Target) error {
	// The TCP port opens before the server accepts logins; a ping by the
	// seam user would fail until Init made it, so ping on TCP as nobody
	// and take "access denied" as ready.
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Timeout = "tcp", "127.0.0.1:"+strconv.Itoa(t.MainPort()), "seam-probe", time.Second
	db, err := openConfig(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.PingContext(ctx)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1045 {
		return nil
	}
	return err
}

func openConfig(cfg *mysql.Config) (*sql.DB, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// find locates mariadbd and mariadb-install-db.
func find(bin string) (server, install string, err error) {
	if bin != "" {
		for _, n := range []string{"mariadbd", "mysqld"} {
			if _, err := os.Stat(filepath.Join(bin, n)); err == nil {
				server = filepath.Join(bin, n)
			}
		}
		if server == "" {
			return "", "", fmt.Errorf("mariadbd not found in %s (bin:)", bin)
		}
	}
	if server == "" {
		for _, p := range []string{"/usr/sbin/mariadbd", "/usr/sbin/mysqld"} {
			if _, err := os.Stat(p); err == nil {
				server = p
				break
			}
		}
	}
	if server == "" {
		if p, err := exec.LookPath("mariadbd"); err == nil {
			server = p
		}
	}
	for _, n := range []string{"mariadb-install-db", "mysql_install_db"} {
		if p, err := exec.LookPath(n); err == nil {
			install = p
			break
		}
		if bin != "" {
			if _, err := os.Stat(filepath.Join(bin, n)); err == nil {
				install = filepath.Join(bin, n)
				break
			}
		}
	}
	if server == "" || install == "" {
		return "", "", errors.New("MariaDB server not found: install the Debian package mariadb-server (apt-get install mariadb-server), or set bin: to the folder holding mariadbd")
	}
	return server, install, nil
}

// Prepare implements service.Spec: find the server and cache an
// initialised data folder for its version.
func (s *Spec) Prepare(ctx context.Context, env *service.PrepareEnv) error {
	mariadbd, install, err := find(s.Bin)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, mariadbd, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %v", mariadbd, err)
	}
	user, err := runas.Pick("mysql")
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(strings.Join(append([]string{"v1", strings.TrimSpace(string(out))}, serverArgs...), "\x00")))
	srv := &server{mariadbd: mariadbd, user: user, template: filepath.Join(env.CacheDir, "mariadb", hex.EncodeToString(h[:])[:20])}
	if _, err := os.Stat(filepath.Join(srv.template, "mysql")); err != nil {
		work, err := env.MkdirTemp(datadir.Scratch(), "seam-install-db-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		if err := user.Chown(work); err != nil {
			return err
		}
		data := filepath.Join(work, "data")
		// The install script wants --no-defaults first; the server settings
		// follow, so the files it makes fit the server that will use them.
		args := append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}, serverArgs[1:]...)
		cmd := exec.CommandContext(ctx, install, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: user.Credential()}
		if out, err := env.Run(ctx, "mariadb-install-db", cmd); err != nil {
			var stopped *service.Interrupted
			if errors.As(err, &stopped) {
				return err
			}
			return fmt.Errorf("mariadb-install-db failed: %v\n%s", err, datadir.LastLines(string(out), 20))
		}
		if err := datadir.Store(data, srv.template, env.AddTemp); err != nil {
			return fmt.Errorf("caching the initialised data folder: %w", err)
		}
	}
	if srv.tree, err = datadir.Scan(srv.template); err != nil {
		return fmt.Errorf("reading the cached data folder: %w", err)
	}
	_ = datadir.Use(srv.template) // pruning the cache is no reason to stop a run
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	return nil
}

// Start implements service.Spec.
func (s *Spec) Start(ctx context.Context, env *service.StartEnv) (service.Instance, error) {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil, errors.New("mariadb: not prepared")
	}
	dir, err := os.MkdirTemp(datadir.Scratch(), "seam-mariadb-"+env.Name+"-")
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
	data := filepath.Join(dir, "data")
	if err := srv.tree.MakeDirs(data, srv.user); err != nil {
		return fail(err)
	}
	if err := srv.tree.CopyFiles(data, srv.user, nil); err != nil {
		return fail(fmt.Errorf("copying the data folder: %w", err))
	}
	port := env.Info["port"].(int)
	sock := filepath.Join(dir, "sock")
	args := append([]string{srv.mariadbd}, serverArgs...)
	args = append(args, "--datadir="+data, "--port="+strconv.Itoa(port), "--bind-address=127.0.0.1",
		"--socket="+sock, "--pid-file="+filepath.Join(dir, "pid"), "--log-error=")
	inst, err := process.Launch(process.Child{
		Crash: crash.From(ctx),
		Path:  srv.mariadbd, Argv: args, Dir: dir, Env: append(os.Environ(), env.Env...),
		Cred: srv.user.Credential(), Grace: 10 * time.Second, Log: env.Log, Started: env.Started,
	})
	if err != nil {
		return fail(err)
	}
	pw, _ := env.Info["password"].(string)
	return &instance{Instance: inst, spec: s, dir: dir, sock: sock, port: port, db: s.database(env.Info), suiteDir: env.Dir, password: pw}, nil
}

// instance is a running server with its database.
type instance struct {
	service.Instance
	spec     *Spec
	dir      string
	sock     string
	port     int
	db       string
	suiteDir string
	root     *sql.DB   // root over the socket: init, baseline and reset
	password string    // the suite's user's, this environment's own
	base     *baseline // once taken (reset: per-test)
}

// Init implements service.Initializer: create the user and database, apply
// the init files, take the baseline.
func (i *instance) Init(ctx context.Context) error {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.MultiStatements = "unix", i.sock, "root", true
	root, err := openConfig(cfg)
	if err != nil {
		return err
	}
	root.SetMaxOpenConns(1)
	i.root = root
	// mariadb-install-db makes root (and maybe anonymous users) with no
	// password for TCP logins too (root@127.0.0.1, root@::1): anyone on
	// the machine could log in. Root stays on the socket, in a folder
	// only seam's user may enter.
	if err := dropOpenAccounts(ctx, root); err != nil {
		return err
	}
	db, user, pw := quoteIdent(i.db), quoteString(i.spec.User), quoteString(i.password)
	// The system's user may do anything to its database, and nothing
	// to the server (FILE, SUPER, other databases) unless the suite asks.
	grant := "GRANT ALL ON " + db + ".* TO " + user + "@'%'"
	if i.spec.Superuser {
		grant = "GRANT ALL ON *.* TO " + user + "@'%' WITH GRANT OPTION"
	}
	if _, err := root.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s; CREATE USER %s@'%%' IDENTIFIED BY %s; %s; USE %s",
		db, user, pw, grant, db)); err != nil {
		return fmt.Errorf("creating database %s and user %s: %w", i.db, i.spec.User, err)
	}
	files, err := datadir.InitFiles(i.suiteDir, i.spec.Init)
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if _, err := root.ExecContext(ctx, "USE "+db+";\n"+string(data)); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// dropOpenAccounts drops the accounts other than root@localhost (the
// socket) that mariadb-install-db made: root over TCP, anonymous users.
func dropOpenAccounts(ctx context.Context, root *sql.DB) error {
	rows, err := root.QueryContext(ctx, `SELECT user, host FROM mysql.user
		WHERE (user = 'root' AND host <> 'localhost') OR user = ''`)
	if err != nil {
		return fmt.Errorf("listing the server's accounts: %w", err)
	}
	var drops []string
	for rows.Next() {
		var u, h string
		if err := rows.Scan(&u, &h); err != nil {
			rows.Close()
			return err
		}
		drops = append(drops, "DROP USER "+quoteString(u)+"@"+quoteString(h))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(drops) > 0 {
		if _, err := root.ExecContext(ctx, strings.Join(drops, "; ")); err != nil {
			return fmt.Errorf("dropping the accounts open over TCP: %w", err)
		}
	}
	return nil
}

// Baseline implements service.Baseliner: the baseline is taken once the
// environment has started, so the tables a job or a service made after
// init are in it.
func (i *instance) Baseline(ctx context.Context, notice func(string)) error {
	if i.spec.Reset != "per-test" {
		return nil
	}
	b, err := takeBaseline(ctx, i.root, i.db, notice)
	if err != nil {
		return fmt.Errorf("taking the baseline: %w", err)
	}
	i.base = b
	var other sql.NullString
	if err := i.root.QueryRowContext(ctx, `SELECT GROUP_CONCAT(schema_name ORDER BY schema_name SEPARATOR ', ') FROM information_schema.schemata
		WHERE schema_name NOT IN (?, 'mysql', 'information_schema', 'performance_schema', 'sys', 'seam_baseline')`, i.db).Scan(&other); err != nil {
		return err
	}
	if other.Valid {
		b.say(fmt.Sprintf("database(s) %s were made after init (by a job or a service?): seam resets only database %s between tests; "+
			"give each its own mariadb service to have it reset", other.String, i.db))
	}
	return nil
}

// Reset implements service.Resetter: it restores the tables a test
// changed, drops what it made, and says once what it cannot undo (see
// baseline).
func (i *instance) Reset(ctx context.Context) error {
	if i.base == nil {
		return nil // reset: per-suite or never
	}
	err := i.base.reset(ctx)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1205 {
		return err
	}
	return service.EndHeld(i.base.lockWait, err,
		func() ([]service.Holder, error) { return i.base.endHolders(ctx) },
		func() error { return i.base.reset(ctx) })
}

// CheckTest implements service.Checker: a transaction that the test's own
// sql steps left open (their sessions hold a lock service.StepTxLock
// names) is the test's mistake, not the system's. Left open, it would
// hold its locks into the next reset, which would wait for them and blame
// the system: seam ends its session now (rolling it back) and fails the
// test.
func (i *instance) CheckTest(time.Time) error {
	if i.base == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	open, err := i.base.endSteps(ctx)
	if err != nil {
		return fmt.Errorf("looking for a transaction the test's sql steps left open: %w", err)
	}
	if open != nil {
		return open
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Stop closes seam's connection, stops the server, removes its data.
func (i *instance) Stop(ctx context.Context) error {
	if i.root != nil {
		i.root.Close()
	}
	err := i.Instance.Stop(ctx)
	if rmErr := os.RemoveAll(i.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// Sources implements service.Sourcer: the init files and folders.
func (s *Spec) Sources(_ context.Context, dir string, _ expr.Vars) ([]string, error) {
	out := make([]string, 0, len(s.Init))
	for _, f := range s.Init {
		if !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		out = append(out, filepath.Clean(f))
	}
	return out, nil
}
