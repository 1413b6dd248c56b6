package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// sequence is a SEQUENCE of the baseline. It is a table of one row that
// no trigger sees and a copy cannot restore, and SETVAL only moves it on:
// the reset sets it back with ALTER SEQUENCE … RESTART WITH, its
// definition with it. Its state is read by the query every reset makes
// (seqState): NEXTVAL moves next_not_cached_value on (by a whole cache,
// at the first after a RESTART), so a sequence no test used reads as the
// baseline's and costs nothing more.
type sequence struct {
	name   string
	create string   // SHOW CREATE SEQUENCE, to make it again when a test dropped it
	state  string   // seqState in the baseline
	fields []string // state's fields, for restart
	gone   bool     // dropped by a test, and not made again
}

// seqState is what tells a sequence moved or changed.
const seqState = "CONCAT_WS(',', next_not_cached_value, minimum_value, maximum_value, start_value, increment, cache_size, cycle_option)"

// takeSequence reads a sequence of the baseline. Its next value is its
// in-memory cache's, which the server shows nowhere: NEXTVAL takes it,
// RESTART WITH gives it back (and sets next_not_cached_value to it).
func (b *baseline) takeSequence(ctx context.Context, name string) (*sequence, error) {
	full := b.full(name)
	var next int64
	if err := b.root.QueryRowContext(ctx, "SELECT NEXTVAL("+full+")").Scan(&next); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) {
			// Run out (NOCYCLE at its end): no NEXTVAL moves it. Read as it
			// is, it is set back if a test changes it.
			return b.readSequence(ctx, name)
		}
		return nil, err
	}
	if _, err := b.root.ExecContext(ctx, fmt.Sprintf("ALTER SEQUENCE %s RESTART WITH %d", full, next)); err != nil {
		return nil, fmt.Errorf("sequence %s: %w", name, err)
	}
	return b.readSequence(ctx, name)
}

func (b *baseline) readSequence(ctx context.Context, name string) (*sequence, error) {
	s := &sequence{name: name}
	var n string
	if err := b.root.QueryRowContext(ctx, "SHOW CREATE SEQUENCE "+b.full(name)).Scan(&n, &s.create); err != nil {
		return nil, fmt.Errorf("sequence %s: %w", name, err)
	}
	if err := b.root.QueryRowContext(ctx, "SELECT "+seqState+" FROM "+b.full(name)).Scan(&s.state); err != nil {
		return nil, fmt.Errorf("sequence %s: %w", name, err)
	}
	s.fields = strings.Split(s.state, ",")
	if len(s.fields) != 7 {
		return nil, fmt.Errorf("sequence %s: unexpected state %q", name, s.state)
	}
	return s, nil
}

// restart is the statement that sets the sequence back: its definition
// and its next value.
func (s *sequence) restart(full string) string {
	f := s.fields // next, min, max, start, increment, cache, cycle
	cache := "CACHE " + f[5]
	if f[5] == "0" {
		cache = "NOCACHE"
	}
	cycle := "NOCYCLE"
	if f[6] == "1" {
		cycle = "CYCLE"
	}
	return fmt.Sprintf("ALTER SEQUENCE %s MINVALUE %s MAXVALUE %s START WITH %s INCREMENT BY %s %s %s RESTART WITH %s",
		full, f[1], f[2], f[3], f[4], cache, cycle, f[0])
}

// liveSequences are the sequences of the baseline that are still there,
// in name order.
func (b *baseline) liveSequences() []*sequence {
	var out []*sequence
	for _, name := range sortedKeys(b.seqs) {
		if s := b.seqs[name]; !s.gone {
			out = append(out, s)
		}
	}
	return out
}

// readStates reads the state of every sequence of the baseline still
// there.
func (b *baseline) readStates(ctx context.Context) ([]string, error) {
	live := b.liveSequences()
	if len(live) == 0 {
		return nil, nil
	}
	parts := make([]string, len(live))
	dest := make([]any, len(live))
	states := make([]sql.NullString, len(live))
	for i, s := range live {
		parts[i] = fmt.Sprintf("(SELECT %s FROM %s)", seqState, b.full(s.name))
		dest[i] = &states[i]
	}
	if err := b.root.QueryRowContext(ctx, "SELECT "+strings.Join(parts, ", ")).Scan(dest...); err != nil {
		return nil, err
	}
	out := make([]string, len(live))
	for i := range states {
		out[i] = states[i].String
	}
	return out, nil
}

// restartStmts are the statements that set back the sequences whose
// state (read by readStates, in liveSequences' order) is not the
// baseline's.
func (b *baseline) restartStmts(states []string) []string {
	var stmts []string
	for i, s := range b.liveSequences() {
		if i < len(states) && states[i] != s.state {
			stmts = append(stmts, s.restart(b.full(s.name)))
		}
	}
	return stmts
}

// remakeSequences makes again the baseline's sequences a test dropped (or
// renamed: the new name is dropped as the test's) and says once the ones
// it cannot make.
func (b *baseline) remakeSequences(ctx context.Context, objs map[string]object) error {
	for _, s := range b.liveSequences() {
		if o, ok := objs[s.name]; ok && o.typ == "SEQUENCE" {
			continue
		}
		if _, ok := objs[s.name]; ok {
			b.say(fmt.Sprintf("sequence %s of the baseline was replaced by a test: seam cannot make it again, and the tests after it run without it", s.name))
			s.gone = true
			continue
		}
		err := b.exec(ctx, []string{s.create, s.restart(b.full(s.name))})
		var me *mysql.MySQLError
		switch {
		case err == nil:
		case errors.As(err, &me) && me.Number != 1205:
			b.say(fmt.Sprintf("sequence %s of the baseline was dropped by a test: seam cannot make it again (%v), and the tests after it run without it", s.name, err))
			s.gone = true
		default:
			return err
		}
	}
	return nil
}

// routine is a stored procedure, function or package, or an event, of
// the baseline, and what makes it again.
type routine struct {
	kind      string // PROCEDURE, FUNCTION, PACKAGE, PACKAGE BODY, EVENT
	name      string
	sig       string // what defines it (its catalog row, but when it was made and ran)
	create    string // SHOW CREATE …
	sqlMode   string
	collation string
	timeZone  string // events'
}

// key names a routine: routines' names are not case sensitive.
func (r *routine) key() string { return r.kind + " " + strings.ToLower(r.name) }

func (r *routine) what() string { return strings.ToLower(r.kind) + " " + r.name }

// order is where a kind is made: a package before its body.
func (r *routine) order() int {
	switch r.kind {
	case "PACKAGE":
		return 0
	case "PACKAGE BODY":
		return 1
	}
	return 2
}

// routineSigs are the routines and events of the database and what
// defines each, from the server's catalog tables (one query each; seam's
// root may read them).
const routineSigs = `SELECT type, name, MD5(CONCAT_WS('|', param_list, returns, body, definer, sql_mode, security_type, is_deterministic,
		sql_data_access, comment, character_set_client, collation_connection, db_collation, aggregate))
	FROM mysql.proc WHERE db = ?
	UNION ALL
	SELECT 'EVENT', name, MD5(CONCAT_WS('|', body, definer, execute_at, interval_value, interval_field, starts, ends, status, on_completion,
		sql_mode, comment, time_zone, character_set_client, collation_connection, db_collation))
	FROM mysql.event WHERE db = ?`

// readRoutines lists the routines and events of the database, by key.
func (b *baseline) readRoutines(ctx context.Context) (map[string]*routine, error) {
	rows, err := b.root.QueryContext(ctx, routineSigs, b.db, b.db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*routine{}
	for rows.Next() {
		r := &routine{}
		if err := rows.Scan(&r.kind, &r.name, &r.sig); err != nil {
			return nil, err
		}
		out[r.key()] = r
	}
	return out, rows.Err()
}

// readCreate reads what makes a routine again.
func (b *baseline) readCreate(ctx context.Context, r *routine) error {
	q := fmt.Sprintf("SHOW CREATE %s %s", r.kind, b.full(r.name))
	if r.kind == "EVENT" {
		// Event, sql_mode, time_zone, Create Event, character_set_client,
		// collation_connection, Database Collation.
		var n, cs, dbColl string
		return b.root.QueryRowContext(ctx, q).Scan(&n, &r.sqlMode, &r.timeZone, &r.create, &cs, &r.collation, &dbColl)
	}
	// Name, sql_mode, Create …, character_set_client,
	// collation_connection, Database Collation.
	var n, cs, dbColl string
	var create sql.NullString
	if err := b.root.QueryRowContext(ctx, q).Scan(&n, &r.sqlMode, &create, &cs, &r.collation, &dbColl); err != nil {
		return err
	}
	r.create = create.String
	return nil
}

// takeRoutines reads the baseline's routines and events.
func (b *baseline) takeRoutines(ctx context.Context) error {
	now, err := b.readRoutines(ctx)
	if err != nil {
		return fmt.Errorf("reading the routines: %w", err)
	}
	for k, r := range now {
		if err := b.readCreate(ctx, r); err != nil {
			return fmt.Errorf("reading %s: %w", r.what(), err)
		}
		b.routines[k] = r
	}
	return nil
}

// drop is the statement that drops a routine.
func (r *routine) drop(db string) string {
	return fmt.Sprintf("DROP %s IF EXISTS %s.%s", r.kind, quoteIdent(db), quoteIdent(r.name))
}

// make are the statements that make a routine again, in the session it
// was made in; the statement is the server's own (SHOW CREATE), naming it
// without its database: the session's is the suite's.
func (r *routine) make() []string {
	set := fmt.Sprintf("SET SESSION sql_mode = %s, SESSION collation_connection = %s", quoteString(r.sqlMode), quoteString(r.collation))
	if r.kind == "EVENT" {
		set += ", SESSION time_zone = " + quoteString(r.timeZone)
	}
	return []string{set, r.create, unmode, "SET SESSION time_zone = DEFAULT"}
}

// checkRoutines drops the routines and events a test made and makes again
// those of the baseline it dropped or changed (CREATE OR REPLACE, ALTER);
// one that cannot be made again is said once.
func (b *baseline) checkRoutines(ctx context.Context) error {
	now, err := b.readRoutines(ctx)
	if err != nil {
		return err
	}
	var drops []string
	for _, k := range sortedKeys(now) {
		if _, ok := b.routines[k]; !ok {
			drops = append(drops, now[k].drop(b.db))
		}
	}
	var remake []*routine
	for _, k := range sortedKeys(b.routines) {
		if r := b.routines[k]; now[k] == nil || now[k].sig != r.sig {
			remake = append(remake, r)
		}
	}
	// A package's body goes before the package, and comes back after it.
	sort.SliceStable(drops, func(i, j int) bool {
		return strings.HasPrefix(drops[i], "DROP PACKAGE BODY") && !strings.HasPrefix(drops[j], "DROP PACKAGE BODY")
	})
	sort.SliceStable(remake, func(i, j int) bool { return remake[i].order() < remake[j].order() })
	for i := len(remake) - 1; i >= 0; i-- {
		drops = append(drops, remake[i].drop(b.db))
	}
	if len(drops) > 0 {
		if err := b.exec(ctx, drops); err != nil {
			return err
		}
	}
	if len(remake) == 0 {
		return nil
	}
	for _, r := range remake {
		err := b.exec(ctx, r.make())
		var me *mysql.MySQLError
		switch {
		case err == nil:
		case errors.As(err, &me) && me.Number != 1205:
			b.say(fmt.Sprintf("%s of the baseline was dropped or changed by a test: seam cannot make it again (%v), and the tests after it run without it", r.what(), err))
			delete(b.routines, r.key())
			// The batch stopped at the error: the session's time zone too.
			if err := b.exec(ctx, []string{"SET SESSION time_zone = DEFAULT"}); err != nil {
				return err
			}
		default:
			return err
		}
	}
	// Made again in seam's session, a routine may read differently (its
	// character set): what the catalog says now is the next look's.
	if now, err = b.readRoutines(ctx); err != nil {
		return err
	}
	for _, r := range remake {
		if n := now[r.key()]; n != nil && b.routines[r.key()] != nil {
			r.sig = n.sig
		}
	}
	return nil
}
