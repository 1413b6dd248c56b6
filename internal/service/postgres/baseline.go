package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/seamtest/seam/internal/service/datadir"
)

// baseline is the data right after init, and the SQL that restores it.
//
// Reset keeps every connection of the services under test open: it
// truncates the user's tables and copies the baseline rows back from the
// seam_baseline schema in one transaction (with triggers and foreign-key
// checks off), then sets every sequence back. Dropping and re-cloning the
// database from a template would be as fast for small data, but it
// terminates the services' connections, and their next query would fail.
type baseline struct {
	conn    *pgx.Conn // kept open: resets need no new connection
	restore string
	tables  int
}

// Init implements service.Initializer: create the database, apply the
// init files, and take the baseline.
func (i *instance) Init(ctx context.Context) error {
	s := i.spec
	i.recordShm()
	admin, err := connect(ctx, s.User, s.Password, i.port, "postgres")
	if err != nil {
		return err
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{i.db}.Sanitize())
	admin.Close(ctx)
	if err != nil {
		return fmt.Errorf("creating database %s: %w", i.db, err)
	}
	conn, err := connect(ctx, s.User, s.Password, i.port, i.db)
	if err != nil {
		return err
	}
	files, err := datadir.InitFiles(i.suiteDir, s.Init)
	if err != nil {
		conn.Close(ctx)
		return err
	}
	for _, f := range files {
		if err := applyFile(ctx, conn, f); err != nil {
			conn.Close(ctx)
			return err
		}
	}
	if s.Reset != "per-test" {
		conn.Close(ctx)
		return nil
	}
	b, err := takeBaseline(ctx, conn)
	if err != nil {
		conn.Close(ctx)
		return fmt.Errorf("taking the baseline: %w", err)
	}
	i.base = b
	return nil
}

// applyFile runs one SQL file with the simple protocol (several statements
// allowed) and places an error at its line and column in the file.
func applyFile(ctx context.Context, conn *pgx.Conn, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	_, err = conn.PgConn().Exec(ctx, string(data)).ReadAll()
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Position > 0 {
		line, col := lineCol(string(data), int(pe.Position))
		return fmt.Errorf("%s:%d:%d: %s (SQLSTATE %s)", file, line, col, pe.Message, pe.Code)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// lineCol turns PostgreSQL's 1-based character position into line:col.
func lineCol(s string, pos int) (int, int) {
	line, col, n := 1, 1, 1
	for _, r := range s {
		if n == pos {
			break
		}
		n++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func takeBaseline(ctx context.Context, conn *pgx.Conn) (*baseline, error) {
	rows, err := conn.Query(ctx, `
		SELECT c.oid::regclass::text, c.oid
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r'
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'seam_baseline')
		  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
		ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	type table struct {
		name string
		oid  uint32
		cols []string
	}
	var tables []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.name, &t.oid); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var restore strings.Builder
	restore.WriteString("BEGIN;\nSET LOCAL session_replication_role = replica;\nSET LOCAL lock_timeout = '10s';\n")
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS seam_baseline CASCADE; CREATE SCHEMA seam_baseline"); err != nil {
		return nil, err
	}
	if len(tables) > 0 {
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = t.name
		}
		restore.WriteString("TRUNCATE " + strings.Join(names, ", ") + ";\n")
	}
	for i, t := range tables {
		crow, err := conn.Query(ctx, `SELECT quote_ident(attname) FROM pg_attribute
			WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`, t.oid)
		if err != nil {
			return nil, err
		}
		for crow.Next() {
			var c string
			if err := crow.Scan(&c); err != nil {
				crow.Close()
				return nil, err
			}
			t.cols = append(t.cols, c)
		}
		crow.Close()
		cols := strings.Join(t.cols, ", ")
		copyName := fmt.Sprintf("seam_baseline.t%d", i)
		tag, err := conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT %s FROM %s", copyName, cols, t.name))
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() > 0 {
			fmt.Fprintf(&restore, "INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s;\n", t.name, cols, cols, copyName)
		}
	}
	seqs, err := conn.Query(ctx, `SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'seam_baseline') ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	var seqNames []string
	for seqs.Next() {
		var n string
		if err := seqs.Scan(&n); err != nil {
			seqs.Close()
			return nil, err
		}
		seqNames = append(seqNames, n)
	}
	seqs.Close()
	for _, n := range seqNames {
		var last int64
		var called bool
		if err := conn.QueryRow(ctx, "SELECT last_value, is_called FROM "+n).Scan(&last, &called); err != nil {
			return nil, err
		}
		fmt.Fprintf(&restore, "SELECT setval('%s', %d, %t);\n", strings.ReplaceAll(n, "'", "''"), last, called)
	}
	restore.WriteString("COMMIT;\n")
	return &baseline{conn: conn, restore: restore.String(), tables: len(tables)}, nil
}

// Reset implements service.Resetter.
func (i *instance) Reset(ctx context.Context) error {
	if i.base == nil {
		return nil // reset: per-suite or never
	}
	_, err := i.base.conn.PgConn().Exec(ctx, i.base.restore).ReadAll()
	if err != nil {
		// Leave no half-open transaction behind for the next reset.
		_, _ = i.base.conn.PgConn().Exec(ctx, "ROLLBACK").ReadAll()
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" {
			return fmt.Errorf("a connection holds a lock on a table for more than 10s (a transaction left open by the system under test?): %w", err)
		}
		return err
	}
	return nil
}
