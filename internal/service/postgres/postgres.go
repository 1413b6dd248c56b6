// Package postgres is the `postgres` service kind: a real PostgreSQL
// server from the machine's own binaries, started on a free loopback port
// from a cached initdb, with a database, init SQL applied once, and the
// data reset to that baseline between tests without a restart.
package postgres

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service/datadir"

	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/token"
	"go.yaml.in/yaml/v4"
)

// Kind is the postgres service kind.
type Kind struct{}

// Usage implements service.Kind.
func (Kind) Usage() service.Usage {
	return service.Usage{
		Name: "postgres",
		Summary: "a PostgreSQL server (Debian package postgresql), its data folder built once and cached. " +
			"Its info (service(\"name\").…) has url (postgres://…), dsn, user, password, database",
		Inputs: []service.Input{
			{Name: "database", Doc: "the database to create (default: the service's name)"},
			{Name: "user, password", Doc: "the role the system uses and its password (default: user seam, a random password per environment, shown by seam up and in service(\"name\").password); not a superuser"},
			{Name: "superuser", Doc: "true makes the role a superuser (default false; seam resets the data with a superuser of its own)"},
			{Name: "init", Doc: "SQL files or folders applied in name order once"},
			{Name: "reset", Doc: "per-test (default), per-suite or never: when the data goes back to the baseline, the data once the environment has started (after init:, jobs and the services' start-up)"},
			{Name: "bin", Doc: "the folder of postgres and initdb (default: the newest installed)"},
			{Name: "settings", Doc: "extra server settings, a mapping (shared_buffers: 16MB)"},
		},
		Example: "postgres:\n  database: shop\n  init: [migrations/, seed.sql]",
	}
}

// adminRole is seam's own superuser in every server it starts: it takes
// the baseline and resets the data (event triggers need a superuser), and
// sets the suite's role's password at each start. Only seam knows its
// password. adminPWFile keeps that password beside the cached data.
const (
	adminRole   = "seam_admin"
	adminPWFile = "seam_admin.pw"
)

// Spec is a decoded postgres service.
type Spec struct {
	Database  string            `yaml:"database"`
	User      string            `yaml:"user"`
	Password  string            `yaml:"password"`
	Superuser bool              `yaml:"superuser"`
	Init      []string          `yaml:"init"`
	Reset     string            `yaml:"reset"`
	Bin       string            `yaml:"bin"`
	Settings  map[string]string `yaml:"settings"`

	name string
	mu   sync.Mutex
	srv  *server // binaries and cached data folder, once prepared
}

// Decode implements service.Kind.
func (Kind) Decode(d *decode.Decoder, n *yaml.Node) service.Spec {
	s := &Spec{User: "seam", Reset: "per-test"}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return s
	}
	before := d.Errs.Len()
	d.Decode(n, s, "postgres")
	datadir.CheckReset(d, n, "postgres", s.Reset)
	datadir.CheckInit(d, n, "postgres")
	if s.User == adminRole {
		d.Errorf(n, "postgres.user: %s is seam's own role for resetting the data", adminRole).WithHint("name the system's role otherwise (user: app)")
	}
	for i, f := range s.Init {
		if f == "" {
			d.Errorf(n, "postgres.init[%d]: empty path", i)
		}
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
	u := &url.URL{Scheme: "postgres", User: url.UserPassword(s.User, pw),
		Host: info["addr"].(string), Path: "/" + db, RawQuery: "sslmode=disable"}
	info["url"] = u.String()
	info["dsn"] = fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable", info["port"], s.User, pw, db)
	info["user"], info["password"], info["database"] = s.User, pw, db
}

// DefaultProbe implements service.Prober: the server's own "ready to
// accept connections" line. The port opens before the server accepts
// sessions, and a real login costs a password exchange per try; the log
// line comes at the moment it is ready. (Init then logs in for real.)
func (s *Spec) DefaultProbe() service.Probe { return readyProbe{} }

type readyProbe struct{}

func (readyProbe) AfterLine() time.Duration { return 0 }

func (readyProbe) String() string { return `postgres log "ready to accept connections"` }

func (readyProbe) Check(_ context.Context, t service.Target) error {
	if t.Lines != nil {
		for _, l := range t.Lines() {
			if strings.Contains(l, "database system is ready to accept connections") {
				return nil
			}
		}
	}
	return fmt.Errorf("the server has not said it is ready yet")
}

func connect(ctx context.Context, user, password string, port int, db string) (*pgx.Conn, error) {
	// This server only, without TLS. pgx's defaults (sslmode=prefer, the
	// hosts in PGHOST) would ask it for TLS first, which it refuses, and
	// then try the other hosts — localhost:5432 unless PGHOST says
	// otherwise, a server that is not seam's — with seam's credentials.
	cfg, err := pgx.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.Fallbacks = nil
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database = "127.0.0.1", uint16(port), user, password, db
	cfg.ConnectTimeout = 5 * time.Second
	cfg.RuntimeParams["application_name"] = "seam"
	return pgx.ConnectConfig(ctx, cfg)
}

func portOf(info map[string]any) int {
	switch p := info["port"].(type) {
	case int:
		return p
	case string:
		n, _ := strconv.Atoi(p)
		return n
	}
	return 0
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
