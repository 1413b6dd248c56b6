package sqlstep

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
)

// sessions are the database sessions of one environment's sql steps: one
// per database URL, which a test's steps share (a transaction one step
// begins goes on in the next; what one sets, SET, a temporary table,
// LISTEN, a user variable, holds in the next), and which belongs to that
// test alone: the first step of the next test finds it clean
// (PostgreSQL: rolled back and DISCARD ALL; MariaDB, which has no such
// statement: a new connection). A transaction the test left open is
// ended at its end by the data service (its check after the test, and
// its reset), which tells the steps' sessions from the system's by
// service.StepApp (PostgreSQL) and service.StepTxLock (MariaDB).
type sessions struct {
	mu     sync.Mutex
	pg     map[string]*pgSession
	my     map[string]*mySession
	closed bool
}

func newSessions() *sessions {
	return &sessions{pg: map[string]*pgSession{}, my: map[string]*mySession{}}
}

// test names the test a step runs in: a test run again (a retry) is
// another.
func test(env *step.Env) string {
	return env.Test + "\x00" + env.Start.Format(time.RFC3339Nano)
}

var errClosed = errors.New("the environment is stopping")

// postgres returns the session for a postgres:// URL.
func (s *sessions) postgres(url string) (*pgSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if p, ok := s.pg[url]; ok {
		return p, nil
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnectTimeout = 5 * time.Second
	cfg.RuntimeParams["application_name"] = service.StepApp
	p := &pgSession{cfg: cfg}
	s.pg[url] = p
	return p, nil
}

// mysql returns the session for a mysql:// URL.
func (s *sessions) mysql(url string) (*mySession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if m, ok := s.my[url]; ok {
		return m, nil
	}
	db, err := openMySQL(url)
	if err != nil {
		return nil, err
	}
	m := &mySession{db: db}
	s.my[url] = m
	return m, nil
}

// Close ends every session.
func (s *sessions) Close() error {
	s.mu.Lock()
	pg, my := s.pg, s.my
	s.pg, s.my, s.closed = nil, nil, true
	s.mu.Unlock()
	for _, p := range pg {
		p.close()
	}
	for _, m := range my {
		m.close()
	}
	return nil
}

var _ io.Closer = (*sessions)(nil)

// pgSession is the connection of a test's steps to one PostgreSQL
// database.
type pgSession struct {
	mu   sync.Mutex // held by the step using it
	cfg  *pgx.ConnConfig
	conn *pgx.Conn
	test string
}

// use runs f on the session of test, made clean first when another
// test's.
func (p *pgSession) use(ctx context.Context, test string, f func(*pgx.Conn) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil && p.conn.IsClosed() {
		p.conn = nil
	}
	if p.conn != nil && p.test != test {
		if err := cleanPG(ctx, p.conn); err != nil {
			// Ended by the server (a transaction left open at the test's
			// end), or broken: a new one.
			p.conn.Close(ctx)
			p.conn = nil
		}
	}
	if p.conn == nil {
		c, err := pgx.ConnectConfig(ctx, p.cfg)
		if err != nil {
			return err
		}
		p.conn = c
	}
	p.test = test
	return f(p.conn)
}

// cleanPG brings a session back to how it began: its transaction rolled
// back, then DISCARD ALL (settings, temporary tables, LISTEN, prepared
// statements, advisory locks, SET ROLE), and pgx's statement caches
// emptied, as the server's prepared statements are gone.
func cleanPG(ctx context.Context, c *pgx.Conn) error {
	// A timeout the test set would apply to these statements too.
	if _, err := c.PgConn().Exec(ctx, "SET statement_timeout = 0").ReadAll(); err != nil {
		return err
	}
	if c.PgConn().TxStatus() != 'I' {
		if _, err := c.PgConn().Exec(ctx, "ROLLBACK").ReadAll(); err != nil {
			return err
		}
	}
	if _, err := c.PgConn().Exec(ctx, "DISCARD ALL").ReadAll(); err != nil {
		return err
	}
	return c.DeallocateAll(ctx)
}

func (p *pgSession) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		p.conn.Close(ctx)
		cancel()
		p.conn = nil
	}
}

// mySession is the connection of a test's steps to one MariaDB (MySQL)
// database. MariaDB has no statement that sets a session back (the
// protocol's COM_RESET_CONNECTION, which Go's driver does not send): each
// test has a connection of its own.
type mySession struct {
	mu   sync.Mutex
	db   *sql.DB
	conn *sql.Conn
	test string
}

// use runs f on the session of test, a new connection when another
// test's; one that broke is not used again.
func (m *mySession) use(ctx context.Context, test string, f func(*sql.Conn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil && m.test != test {
		m.drop()
	}
	if m.conn == nil {
		c, err := m.db.Conn(ctx)
		if err != nil {
			return err
		}
		m.conn = c
	}
	m.test = test
	err := f(m.conn)
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
		m.drop()
	}
	return err
}

// drop closes the session's connection (database/sql would keep it for
// another use).
func (m *mySession) drop() {
	_ = m.conn.Raw(func(any) error { return driver.ErrBadConn })
	m.conn.Close()
	m.conn = nil
}

func (m *mySession) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil {
		m.drop()
	}
	m.db.Close()
}
