package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// baseline is the data right after init, and how to go back to it.
//
// Reset keeps every connection of the services under test open, and
// touches only the tables a test changed: a statement-level trigger on each
// table notes it in seam_baseline.dirty when it is written to; reset then,
// in one call of seam_baseline.reset(), deletes the rows of each noted
// table and copies its baseline rows back from the seam_baseline schema
// (triggers and foreign-key checks off), and sets every sequence back.
// Dropping the database and cloning it from a template is an order of
// magnitude slower (it checkpoints) and would end the services'
// connections (bench/pgreset measures both).
type baseline struct {
	ready chan struct{} // closed once conn or err is set
	conn  *pgx.Conn     // kept open: resets need no new connection
	err   error
}

// Init implements service.Initializer. The database, the init files and
// the baseline are in the cached data folder already; a reset needs only
// a connection of its own, which is opened in the background: the services
// that depend on this one start meanwhile, and the first reset waits for
// it.
func (i *instance) Init(ctx context.Context) error {
	if i.spec.Reset != "per-test" {
		return nil
	}
	b := &baseline{ready: make(chan struct{})}
	i.base = b
	go func() {
		defer close(b.ready)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		b.conn, b.err = connect(cctx, i.spec.User, i.spec.Password, i.port, i.db)
	}()
	return nil
}

// wait waits for the baseline connection.
func (b *baseline) wait(ctx context.Context) (*pgx.Conn, error) {
	select {
	case <-b.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.err != nil {
		return nil, fmt.Errorf("connecting for resets: %w", b.err)
	}
	return b.conn, nil
}

// close closes the baseline connection once it is made.
func (b *baseline) close() {
	<-b.ready
	if b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		b.conn.Close(ctx)
		cancel()
	}
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

func takeBaseline(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `
		SELECT c.oid::regclass::text, c.oid
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r'
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'seam_baseline')
		  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
		ORDER BY 1`)
	if err != nil {
		return err
	}
	type table struct {
		name string
		oid  uint32
	}
	var tables []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.name, &t.oid); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := conn.PgConn().Exec(ctx, baselineSchema).ReadAll(); err != nil {
		return err
	}
	for i, t := range tables {
		var cols string
		if err := conn.QueryRow(ctx, `SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
			WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = ''`, t.oid).Scan(&cols); err != nil {
			return err
		}
		copyName := fmt.Sprintf("seam_baseline.t%d", i)
		tag, err := conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT %s FROM %s", copyName, cols, t.name))
		if err != nil {
			return err
		}
		var ins *string
		if tag.RowsAffected() > 0 {
			x := fmt.Sprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s", t.name, cols, cols, copyName)
			ins = &x
		}
		if _, err := conn.Exec(ctx, "INSERT INTO seam_baseline.restore (name, del, ins) VALUES ($1, $2, $3)",
			t.name, "DELETE FROM "+t.name, ins); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE TRIGGER seam_dirty AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s
			FOR EACH STATEMENT EXECUTE FUNCTION seam_baseline.mark()`, t.name)); err != nil {
			return err
		}
	}
	seqs, err := conn.Query(ctx, `SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'seam_baseline') ORDER BY 1`)
	if err != nil {
		return err
	}
	var seqNames []string
	for seqs.Next() {
		var n string
		if err := seqs.Scan(&n); err != nil {
			seqs.Close()
			return err
		}
		seqNames = append(seqNames, n)
	}
	seqs.Close()
	var setvals []string
	for _, n := range seqNames {
		var last int64
		var called bool
		if err := conn.QueryRow(ctx, "SELECT last_value, is_called FROM "+n).Scan(&last, &called); err != nil {
			return err
		}
		setvals = append(setvals, fmt.Sprintf("setval('%s', %d, %t)", strings.ReplaceAll(n, "'", "''"), last, called))
	}
	if len(setvals) > 0 {
		if _, err := conn.Exec(ctx, "INSERT INTO seam_baseline.restore (name, del) VALUES ('*sequences*', $1)",
			"SELECT "+strings.Join(setvals, ", ")); err != nil {
			return err
		}
	}
	return nil
}

// baselineSchema holds the baseline copies, the dirty-table notes, the
// restore statements and the functions that use them.
const baselineSchema = `
DROP SCHEMA IF EXISTS seam_baseline CASCADE;
CREATE SCHEMA seam_baseline;
CREATE UNLOGGED TABLE seam_baseline.dirty (name text PRIMARY KEY);
CREATE TABLE seam_baseline.restore (name text PRIMARY KEY, del text NOT NULL, ins text);
CREATE FUNCTION seam_baseline.mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO seam_baseline.dirty VALUES (TG_RELID::regclass::text) ON CONFLICT DO NOTHING;
	RETURN NULL;
END $$;
CREATE FUNCTION seam_baseline.reset() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	PERFORM set_config('session_replication_role', 'replica', true);
	PERFORM set_config('lock_timeout', '10s', true);
	FOR r IN SELECT s.del, s.ins FROM seam_baseline.dirty d JOIN seam_baseline.restore s USING (name) LOOP
		EXECUTE r.del;
		IF r.ins IS NOT NULL THEN
			EXECUTE r.ins;
		END IF;
		n := n + 1;
	END LOOP;
	FOR r IN SELECT del FROM seam_baseline.restore WHERE name = '*sequences*' LOOP
		EXECUTE r.del;
	END LOOP;
	DELETE FROM seam_baseline.dirty;
	RETURN n;
END $$;
`

// Reset implements service.Resetter.
func (i *instance) Reset(ctx context.Context) error {
	if i.base == nil {
		return nil // reset: per-suite or never
	}
	conn, err := i.base.wait(ctx)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "SELECT seam_baseline.reset()")
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" {
			return fmt.Errorf("a connection holds a lock on a table for more than 10s (a transaction left open by the system under test?): %w", err)
		}
		return err
	}
	return nil
}
