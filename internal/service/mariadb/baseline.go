package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/seamtest/seam/internal/mask"
	"github.com/seamtest/seam/internal/service"
)

// baseline is the data of the suite's database once the environment has
// started (after init, jobs and the services' start-up), and how to go
// back to it.
//
// Every table of the baseline is copied into the database seam_baseline
// (seam's own: the suite's user has no right on it, and sees nothing of it
// in its database but seam's triggers). A reset touches only what a test
// changed, found out as follows:
//
//   - rows: each table has three triggers of seam's, seam_dirty_<n>_ins,
//     _upd and _del, BEFORE each row written (MariaDB allows several
//     triggers per event, so the user's own stay), that advance the
//     table's sequence seam_baseline.w<n> (DO NEXTVAL). A reset reads every
//     sequence with NEXTVAL in the query below: one that moved on more than
//     the reset's own read since the last reset was written. A sequence is
//     not transactional and takes no lock a writer waits for (a MEMORY
//     table of notes does: a long statement writing one table held up the
//     writes to all the others, and an InnoDB one lost its notes with a
//     rollback and held up the writers of the same table until a commit),
//     so writes rolled back, left uncommitted or that failed (an INSERT
//     refused for a duplicate key still takes an AUTO_INCREMENT value) are
//     seen too. BEFORE, not AFTER: a failed row fires the first only. The
//     triggers see INSERT, UPDATE, DELETE, REPLACE, INSERT … ON DUPLICATE
//     KEY UPDATE, LOAD DATA, writes through a view, by a stored routine or
//     by a trigger of the user's to another table; they cost some 3 µs a
//     row written. Foreign-key actions fire no trigger: a table written is
//     restored with the tables its ON DELETE/ON UPDATE CASCADE, SET NULL or
//     SET DEFAULT keys reach.
//   - what no trigger sees (TRUNCATE, ALTER TABLE, DROP, RENAME, CREATE and
//     DROP TRIGGER or VIEW…): the server counts every statement by kind,
//     also within routines and prepared statements (Com_truncate,
//     Com_alter_table…); the counts of these kinds by the connections
//     other than seam's (global minus seam's session, ~0.3 ms, in the same
//     query) tell whether one ran. A TRUNCATE alone changes no definition:
//     then the tables left empty, or whose AUTO_INCREMENT moved, are
//     restored (~1 ms more). After other DDL the reset looks at everything
//     (~7 ms for 20 tables, most of it reading the triggers): the tables,
//     views, sequences and triggers a test made are dropped; a baseline
//     table a test dropped is said once; one whose definition changed
//     only in its indexes gets the baseline's back, silently: the indexes
//     a test made are dropped, those it dropped or changed made again
//     (after the rows are restored: a unique one may need them); one whose
//     definition changed otherwise (SHOW CREATE TABLE) is said once and
//     its rows restored with the columns both have; one whose triggers
//     changed (seam's dropped, a user's made or dropped by a test, the
//     table made again or swapped by RENAME) gets the baseline's triggers
//     back and its rows restored;
//     so is one emptied, whose AUTO_INCREMENT moved (ALTER TABLE …
//     AUTO_INCREMENT) or that is partitioned (ALTER TABLE … TRUNCATE
//     PARTITION); a baseline view a test dropped or replaced is made
//     again, or said once when it cannot be.
//
// A restore deletes the rows (TRUNCATE when the table holds more than
// truncateRows rows), copies the baseline's back, and sets AUTO_INCREMENT
// back when it moved, with foreign-key checks off and seam's triggers
// silent (the session variable @seam_reset). MariaDB cannot silence the
// user's triggers: those on INSERT or DELETE are dropped while the table's
// rows are restored and made again as they were, at their place in the
// firing order; otherwise a trigger that stamps, counts or audits rows
// would do so for the restored rows too (every reset did before). A
// statement waits at most lockWait for a lock (a transaction left open),
// then the reset fails saying so.
//
// Before, every table was restored at every reset: 24-31 ms for 20 small
// tables in bench/datareset on a busy machine. Now a reset that finds
// nothing costs the one query (~0.6 ms), two small tables written ~2 ms,
// a table with a trigger of the user's ~1 ms more.
type baseline struct {
	root     *sql.DB // seam's connection, as root (one at a time)
	db       string
	tables   []*table // by number: its copy is seam_baseline.t<n>
	byName   map[string]*table
	views    map[string]*view     // the baseline's views
	kept     map[string]bool      // the baseline's system-versioned tables: kept, not reset, as before
	seqs     map[string]*sequence // the baseline's sequences, set back by ALTER SEQUENCE
	routines map[string]*routine  // the baseline's procedures, functions, packages and events, by key
	indexes  []indexFix           // while resetting: the baseline's indexes to make again (remakeIndexes)
	others   counts               // DDL statements of the other connections, at the last look (ddl -1: look at everything)
	pending  map[*table]bool      // tables to restore: written, or not restored by a reset that failed
	lockWait time.Duration

	notice func(string)
	mu     sync.Mutex
	said   map[string]bool
}

// table is one table of the baseline.
type table struct {
	n        int
	name     string
	copyCols []string  // the copy's columns
	cols     string    // the columns restored, quoted (the copy's, or those both have after ALTER TABLE)
	ai       int64     // AUTO_INCREMENT of the baseline (0: none)
	loadAI   int64     // AUTO_INCREMENT after TRUNCATE and the copy back
	rows     int64     // in the baseline
	def      string    // SHOW CREATE TABLE without AUTO_INCREMENT=
	triggers []trigger // the baseline's, seam's included, in the order they fire
	guarded  bool      // the user has INSERT or DELETE triggers on it (setTriggers)
	cascade  []*table  // the tables a write to this one may change by a foreign-key action
	gone     bool      // dropped by a test
	altered  bool      // its definition changed (said)
	next     int64     // what NEXTVAL of its sequence gives if no trigger fired since the last look

	current []string // while resetting: the triggers it has now, when they differ from triggers
}

// trigger is a trigger as information_schema.TRIGGERS has it.
type trigger struct {
	name, timing, event, stmt, definer, sqlMode, collation string
	order                                                  int
}

// view is a view of the baseline, and what makes it again.
type view struct {
	sig       string
	create    string // CREATE OR REPLACE … VIEW
	collation string
}

// truncateRows is the size from which a table is emptied by TRUNCATE, not
// DELETE: DELETE is twice as fast on 50 rows, TRUNCATE four times on 10,000.
const truncateRows = 1000

// ddlCounters are the server's counters of the statements that change
// tables without firing triggers, or that change what the reset keeps.
const ddlCounters = `'COM_ALTER_TABLE', 'COM_ALTER_SEQUENCE', 'COM_CREATE_TABLE', 'COM_DROP_TABLE', 'COM_RENAME_TABLE',
	'COM_TRUNCATE', 'COM_CREATE_INDEX', 'COM_DROP_INDEX', 'COM_CREATE_TRIGGER', 'COM_DROP_TRIGGER', 'COM_CREATE_VIEW',
	'COM_DROP_VIEW', 'COM_CREATE_SEQUENCE', 'COM_DROP_SEQUENCE', 'COM_CREATE_DB', 'COM_DROP_DB', 'COM_ALTER_DB',
	'COM_CREATE_PROCEDURE', 'COM_ALTER_PROCEDURE', 'COM_DROP_PROCEDURE', 'COM_CREATE_FUNCTION', 'COM_ALTER_FUNCTION', 'COM_DROP_FUNCTION',
	'COM_CREATE_PACKAGE', 'COM_DROP_PACKAGE', 'COM_CREATE_PACKAGE_BODY', 'COM_DROP_PACKAGE_BODY',
	'COM_CREATE_EVENT', 'COM_ALTER_EVENT', 'COM_DROP_EVENT'`

// pollQuery is what every reset asks first: how many TRUNCATE and other
// DDL statements the other connections ran, and the sessions of seam's
// sql steps with a transaction open (stepTx); then more, each table's
// sequence and the state of the baseline's sequences.
func pollQuery(more string) string {
	return `SELECT s.truncates, s.ddl, ` + stepTx() + more + ` FROM (SELECT SUM(IF(n = 'COM_TRUNCATE', v, 0)) AS truncates, SUM(IF(n = 'COM_TRUNCATE', 0, v)) AS ddl FROM (
	SELECT VARIABLE_NAME AS n, CAST(VARIABLE_VALUE AS SIGNED) AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN (` + ddlCounters + `)
	UNION ALL
	SELECT VARIABLE_NAME, -CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME IN (` + ddlCounters + `)) c) s`
}

// stepTx is the sessions of seam's own sql steps with a transaction open
// (those holding a lock service.StepTxLock names), as a list of ids. A
// reset ends them: their test has ended (and was told, CheckTest), and
// their locks would hold the restore up.
func stepTx() string {
	ids := make([]string, service.StepTxSlots)
	for i := range ids {
		ids[i] = "IS_USED_LOCK(" + quoteString(service.StepTxLock(i)) + ")"
	}
	return "CONCAT_WS(','," + strings.Join(ids, ", ") + ")"
}

// counts are the DDL statements the other connections ran.
type counts struct{ truncates, ddl int64 }

// takeBaseline copies every table of db into seam_baseline and installs
// seam's triggers.
func takeBaseline(ctx context.Context, root *sql.DB, db string, notice func(string)) (*baseline, error) {
	b := &baseline{root: root, db: db, byName: map[string]*table{}, views: map[string]*view{}, kept: map[string]bool{},
		seqs: map[string]*sequence{}, routines: map[string]*routine{}, pending: map[*table]bool{}, lockWait: 10 * time.Second, notice: notice}
	// The init files ran on this session: what they set (SET NAMES,
	// sql_mode) is set back, or SHOW CREATE TABLE would not read the same
	// at the resets.
	if _, err := root.ExecContext(ctx, b.session()+`;
		DROP DATABASE IF EXISTS seam_baseline; CREATE DATABASE seam_baseline`); err != nil {
		return nil, err
	}
	objs, err := b.objects(ctx)
	if err != nil {
		return nil, err
	}
	cols, err := b.columns(ctx, "")
	if err != nil {
		return nil, err
	}
	sigs, err := b.viewSigs(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(objs) {
		o := objs[name]
		switch o.typ {
		case "VIEW":
			v, err := b.view(ctx, name)
			if err != nil {
				return nil, err
			}
			v.sig = sigs[name]
			b.views[name] = v
			continue
		case "SEQUENCE":
			sq, err := b.takeSequence(ctx, name)
			if err != nil {
				return nil, err
			}
			b.seqs[name] = sq
			continue
		case "SYSTEM VERSIONED":
			b.kept[name] = true
			continue
		}
		t := &table{n: len(b.tables), name: name, copyCols: cols[name].names, ai: o.ai.Int64}
		t.cols = quoteList(t.copyCols)
		full := b.full(name)
		copyName := t.copyName()
		if _, err := root.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT %s FROM %s", copyName, t.cols, full)); err != nil {
			return nil, fmt.Errorf("copying table %s: %w", name, err)
		}
		load := "1"
		if c := cols[name].ai; c != "" {
			load = fmt.Sprintf("COALESCE(MAX(%s), 0) + 1", quoteIdent(c))
		}
		if err := root.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*), %s FROM %s", load, copyName)).Scan(&t.rows, &t.loadAI); err != nil {
			return nil, err
		}
		if t.def, err = b.definition(ctx, name); err != nil {
			return nil, err
		}
		b.tables = append(b.tables, t)
		b.byName[name] = t
	}
	// seam's sequences and triggers, then the list of all triggers, in
	// their order.
	var stmts []string
	for _, t := range b.tables {
		stmts = append(stmts, "CREATE SEQUENCE "+t.written()+" ENGINE=Aria")
		for _, ev := range []string{"INSERT", "UPDATE", "DELETE"} {
			stmts = append(stmts, fmt.Sprintf("CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW "+
				"IF @seam_reset IS NULL THEN DO NEXTVAL(%s); END IF",
				b.full(seamTrigger(t.n, ev)), ev, b.full(t.name), t.written()))
		}
	}
	if len(stmts) > 0 {
		if _, err := root.ExecContext(ctx, strings.Join(stmts, ";\n")); err != nil {
			return nil, fmt.Errorf("making seam's triggers: %w", err)
		}
	}
	trig, err := b.readTriggers(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range b.tables {
		t.setTriggers(trig[t.name])
	}
	if err := b.links(ctx); err != nil {
		return nil, err
	}
	if err := b.takeRoutines(ctx); err != nil {
		return nil, err
	}
	if b.others, _, _, _, err = b.poll(ctx, true); err != nil {
		return nil, err
	}
	return b, nil
}

func (t *table) copyName() string { return fmt.Sprintf("seam_baseline.t%d", t.n) }

// written is the sequence that seam's triggers on the table advance.
func (t *table) written() string { return fmt.Sprintf("seam_baseline.w%d", t.n) }

// seamTrigger names seam's trigger on table n for an event.
func seamTrigger(n int, event string) string {
	return fmt.Sprintf("seam_dirty_%d_%s", n, strings.ToLower(event[:3]))
}

var seamTriggerName = regexp.MustCompile(`^seam_dirty_[0-9]+_(ins|upd|del)$`)

func isSeams(name string) bool { return seamTriggerName.MatchString(name) }

func (b *baseline) full(name string) string { return quoteIdent(b.db) + "." + quoteIdent(name) }

// say tells the run's output something about the data, once per text.
func (b *baseline) say(text string) {
	b.mu.Lock()
	if b.said == nil {
		b.said = map[string]bool{}
	}
	first := !b.said[text]
	b.said[text] = true
	b.mu.Unlock()
	if first && b.notice != nil {
		b.notice(text)
	}
}

// poll returns the counts of DDL statements the other connections ran,
// the tables whose triggers fired since the last look, the sessions of
// seam's sql steps with a transaction open and, withSeqs, the state of
// the baseline's sequences (readStates; nil when one is gone: then the
// DDL counts have moved, and the check after DDL looks).
func (b *baseline) poll(ctx context.Context, withSeqs bool) (counts, map[*table]bool, []int64, []string, error) {
	var seqs strings.Builder
	var live []*table
	for _, t := range b.tables {
		if !t.gone {
			live = append(live, t)
			seqs.WriteString(", NEXTVAL(" + t.written() + ")")
		}
	}
	var sqs []*sequence
	if withSeqs {
		sqs = b.liveSequences()
	}
	for _, sq := range sqs {
		fmt.Fprintf(&seqs, ", (SELECT %s FROM %s)", seqState, b.full(sq.name))
	}
	var c counts
	var steps sql.NullString
	vals := make([]int64, len(live))
	states := make([]sql.NullString, len(sqs))
	dest := []any{&c.truncates, &c.ddl, &steps}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for i := range states {
		dest = append(dest, &states[i])
	}
	if err := b.root.QueryRowContext(ctx, pollQuery(seqs.String())).Scan(dest...); err != nil {
		var me *mysql.MySQLError
		if len(sqs) > 0 && errors.As(err, &me) {
			return b.poll(ctx, false) // a sequence gone, or replaced
		}
		return counts{}, nil, nil, nil, err
	}
	written := map[*table]bool{}
	for i, t := range live {
		if vals[i] != t.next {
			written[t] = true
		}
		t.next = vals[i] + 1
	}
	ids := idList(steps.String)
	var st []string
	if len(sqs) > 0 {
		st = make([]string, len(sqs))
		for i := range states {
			st[i] = states[i].String
		}
	}
	return c, written, ids, st, nil
}

// object is a table, view or sequence of the database.
type object struct {
	typ         string
	ai          sql.NullInt64
	partitioned bool
}

// objects lists the tables, views and sequences of the database.
func (b *baseline) objects(ctx context.Context) (map[string]object, error) {
	rows, err := b.root.QueryContext(ctx, `SELECT table_name, table_type, auto_increment, COALESCE(create_options LIKE '%partitioned%', FALSE)
		FROM information_schema.tables WHERE table_schema = ?`, b.db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]object{}
	for rows.Next() {
		var name string
		var o object
		if err := rows.Scan(&name, &o.typ, &o.ai, &o.partitioned); err != nil {
			return nil, err
		}
		out[name] = o
	}
	return out, rows.Err()
}

// tableColumns are a table's columns that take values (not generated) and
// its AUTO_INCREMENT column.
type tableColumns struct {
	names []string
	ai    string
}

// columns lists the columns of one table, or of every table when name is
// empty.
func (b *baseline) columns(ctx context.Context, name string) (map[string]tableColumns, error) {
	q := `SELECT table_name, column_name, extra LIKE '%auto_increment%' FROM information_schema.columns
		WHERE table_schema = ? AND is_generated = 'NEVER'`
	args := []any{b.db}
	if name != "" {
		q += " AND table_name = ?"
		args = append(args, name)
	}
	rows, err := b.root.QueryContext(ctx, q+" ORDER BY table_name, ordinal_position", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]tableColumns{}
	for rows.Next() {
		var t, c string
		var ai bool
		if err := rows.Scan(&t, &c, &ai); err != nil {
			return nil, err
		}
		tc := out[t]
		tc.names = append(tc.names, c)
		if ai {
			tc.ai = c
		}
		out[t] = tc
	}
	return out, rows.Err()
}

var autoIncrementOption = regexp.MustCompile(` AUTO_INCREMENT=[0-9]+`)

// definition is what SHOW CREATE TABLE says, but the AUTO_INCREMENT
// counter: what DDL alone changes.
func (b *baseline) definition(ctx context.Context, name string) (string, error) {
	var n, def string
	if err := b.root.QueryRowContext(ctx, "SHOW CREATE TABLE "+b.full(name)).Scan(&n, &def); err != nil {
		return "", err
	}
	return autoIncrementOption.ReplaceAllString(def, ""), nil
}

// view reads the statement that makes a view again.
func (b *baseline) view(ctx context.Context, name string) (*view, error) {
	var n, create, charset, coll string
	if err := b.root.QueryRowContext(ctx, "SHOW CREATE VIEW "+b.full(name)).Scan(&n, &create, &charset, &coll); err != nil {
		return nil, err
	}
	return &view{create: "CREATE OR REPLACE " + strings.TrimPrefix(create, "CREATE "), collation: coll}, nil
}

// viewSigs returns what defines each view of the database.
func (b *baseline) viewSigs(ctx context.Context) (map[string]string, error) {
	rows, err := b.root.QueryContext(ctx, `SELECT table_name, CONCAT_WS('|', view_definition, check_option, definer, security_type, algorithm)
		FROM information_schema.views WHERE table_schema = ?`, b.db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, sig string
		if err := rows.Scan(&name, &sig); err != nil {
			return nil, err
		}
		out[name] = sig
	}
	return out, rows.Err()
}

// readTriggers lists the triggers of the database by table, in the order
// they fire.
func (b *baseline) readTriggers(ctx context.Context) (map[string][]trigger, error) {
	rows, err := b.root.QueryContext(ctx, `SELECT event_object_table, trigger_name, action_timing, event_manipulation, action_order,
		action_statement, definer, sql_mode, collation_connection
		FROM information_schema.triggers WHERE trigger_schema = ?
		ORDER BY event_object_table, action_timing, event_manipulation, action_order`, b.db)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]trigger{}
	for rows.Next() {
		var t string
		var g trigger
		if err := rows.Scan(&t, &g.name, &g.timing, &g.event, &g.order, &g.stmt, &g.definer, &g.sqlMode, &g.collation); err != nil {
			return nil, err
		}
		out[t] = append(out[t], g)
	}
	return out, rows.Err()
}

// fires tells whether a trigger is the user's and fires when seam restores
// rows (seam's are silent then).
func (g trigger) fires() bool {
	return !isSeams(g.name) && g.event != "UPDATE"
}

// remade is a trigger to make again, before another (precedes) or last
// among the table's triggers of its timing and event.
type remade struct {
	g        trigger
	precedes string
}

// create is the statement that makes the trigger again, as it was, on
// table.
func (r remade) create(db, table string) string {
	g, order := r.g, ""
	if r.precedes != "" {
		order = "PRECEDES " + quoteIdent(r.precedes) + " "
	}
	definer := quoteString(g.definer)
	if i := strings.LastIndexByte(g.definer, '@'); i >= 0 {
		definer = quoteString(g.definer[:i]) + "@" + quoteString(g.definer[i+1:])
	}
	// MariaDB 12 has triggers of several events, listed as "INSERT,UPDATE".
	event := strings.ReplaceAll(g.event, ",", " OR ")
	return fmt.Sprintf("CREATE DEFINER = %s TRIGGER %s.%s %s %s ON %s.%s FOR EACH ROW %s%s",
		definer, quoteIdent(db), quoteIdent(g.name), g.timing, event, quoteIdent(db), quoteIdent(table), order, g.stmt)
}

// links finds, for each table, the tables a write to it may change by a
// foreign-key action (transitively).
func (b *baseline) links(ctx context.Context) error {
	rows, err := b.root.QueryContext(ctx, `SELECT referenced_table_name, table_name FROM information_schema.referential_constraints
		WHERE constraint_schema = ? AND unique_constraint_schema = ?
		  AND (delete_rule NOT IN ('RESTRICT', 'NO ACTION') OR update_rule NOT IN ('RESTRICT', 'NO ACTION'))`, b.db, b.db)
	if err != nil {
		return err
	}
	defer rows.Close()
	children := map[*table][]*table{}
	for rows.Next() {
		var parent, child string
		if err := rows.Scan(&parent, &child); err != nil {
			return err
		}
		p, c := b.byName[parent], b.byName[child]
		if p != nil && c != nil && p != c && !p.gone && !c.gone {
			children[p] = append(children[p], c)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range b.tables {
		t.cascade = nil
		seen := map[*table]bool{t: true}
		next := children[t]
		for len(next) > 0 {
			c := next[0]
			next = next[1:]
			if !seen[c] {
				seen[c] = true
				t.cascade = append(t.cascade, c)
				next = append(next, children[c]...)
			}
		}
	}
	return nil
}

// session is what starts each batch of statements of seam's: its
// triggers silent, foreign keys not checked, zero kept as a value of an
// AUTO_INCREMENT column, a lock waited for lockWait at most.
func (b *baseline) session() string {
	wait := max(1, int(b.lockWait/time.Second))
	return fmt.Sprintf("SET NAMES utf8mb4;\nSET @seam_reset = 1, SESSION foreign_key_checks = 0, SESSION sql_mode = %s, "+
		"SESSION lock_wait_timeout = %d, SESSION innodb_lock_wait_timeout = %d;\nUSE %s",
		restoreMode, wait, wait, quoteIdent(b.db))
}

// restoreMode is the sql_mode of the restores: not strict (a column a test
// added takes its implicit default), and an AUTO_INCREMENT column given 0
// keeps it.
const restoreMode = "'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'"

// exec runs statements after session().
func (b *baseline) exec(ctx context.Context, stmts []string) error {
	q := b.session()
	if len(stmts) > 0 {
		q += ";\n" + strings.Join(stmts, ";\n")
	}
	_, err := b.root.ExecContext(ctx, q)
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1205 {
		return fmt.Errorf("a connection holds a lock on a table for more than %v (a transaction left open by the system under test?): %w", b.lockWait, err)
	}
	return err
}

// endHolders ends the connections, other than seam's, with a transaction
// open (the system's: nobody else logs in to seam's server), and returns
// them, oldest first. Rolled back, their locks are gone. A transaction
// that only read holds the tables' metadata locks too (which a TRUNCATE or
// a trigger's DROP waits for): InnoDB lists it once it has read. Their
// statements are masked as the wire masks SQL.
func (b *baseline) endHolders(ctx context.Context) ([]service.Holder, error) {
	rows, err := b.root.QueryContext(ctx, `SELECT p.ID, p.HOST, p.COMMAND, coalesce(p.STATE, ''),
		TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)), coalesce(t.trx_query, p.INFO, '')
		FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
		WHERE p.ID <> CONNECTION_ID() ORDER BY t.trx_started`)
	if err != nil {
		return nil, err
	}
	var out []service.Holder
	var ids []int64
	for rows.Next() {
		var id, micros int64
		var h service.Holder
		var command, state string
		if err := rows.Scan(&id, &h.Addr, &command, &state, &micros, &h.Query); err != nil {
			rows.Close()
			return nil, err
		}
		h.State = strings.ToLower(command)
		if command == "Sleep" {
			h.State = "idle in transaction"
		} else if state != "" {
			h.State += ": " + state
		}
		// trx_started is to the second: the transaction began within
		// the second after it, taken as its end (a test that began in
		// that second is told as the one it began in).
		h.Open = time.Duration(micros) * time.Microsecond
		h.Began = time.Now().Add(min(time.Second-h.Open, 0))
		h.Query, _, _ = mask.MySQL(h.Query)
		out, ids = append(out, h), append(ids, id)
	}
	rows.Close() // seam's one connection is needed for the KILLs
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, b.kill(ctx, ids)
}

// endSteps ends the sessions of seam's own sql steps with a transaction
// open (stepTx), and says so (nil: none). Their last statement is the
// step's own note of its lock.
func (b *baseline) endSteps(ctx context.Context) (*service.StepTxError, error) {
	var list sql.NullString
	if err := b.root.QueryRowContext(ctx, "SELECT "+stepTx()).Scan(&list); err != nil {
		return nil, err
	}
	ids := idList(list.String)
	if len(ids) == 0 {
		return nil, nil
	}
	return &service.StepTxError{}, b.kill(ctx, ids)
}

// idList reads a list of connection ids ("12,15").
func idList(s string) []int64 {
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// kill ends connections (rolling their transactions back), and waits
// until they are gone: KILL only marks a connection, which lets go of its
// locks and rows as its thread notices, a moment later.
func (b *baseline) kill(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		// Gone already is as good.
		if _, err := b.root.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err != nil && !isUnknownThread(err) {
			return err
		}
		list[i] = strconv.FormatInt(id, 10)
	}
	q := "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN (" + strings.Join(list, ",") + ")"
	deadline := time.Now().Add(killWait)
	for {
		var n int
		if err := b.root.QueryRowContext(ctx, q).Scan(&n); err != nil || n == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d connection(s) seam ended (KILL CONNECTION) still there after %s", n, killWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// killWait bounds the wait for killed connections to end.
const killWait = 5 * time.Second

// isUnknownThread: KILL of a connection that has ended.
func isUnknownThread(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1094
}

// reset brings the database back to the baseline.
func (b *baseline) reset(ctx context.Context) error {
	others, written, steps, states, err := b.poll(ctx, true)
	if err != nil {
		return err
	}
	if err := b.kill(ctx, steps); err != nil {
		return err
	}
	// Written tables stay pending until a reset restored them: the
	// sequences have moved on.
	for t := range written {
		b.pending[t] = true
	}
	set := map[*table]bool{}
	for t := range b.pending {
		if !t.gone {
			set[t] = true
		}
	}
	full := false
	b.indexes = nil
	if others != b.others {
		// TRUNCATE alone changes no definition, trigger or view.
		full = others.ddl != b.others.ddl
		if err := b.check(ctx, set, full); err != nil {
			b.others.ddl = -1 // look again next time
			for t := range set {
				b.pending[t] = true
			}
			return err
		}
	}
	if full || states == nil {
		// The sequences as the check left them (made again), or not read.
		if states, err = b.readStates(ctx); err != nil {
			b.others.ddl = -1
			return err
		}
	}
	restarts := b.restartStmts(states)
	for t := range set {
		for _, c := range t.cascade {
			if !c.gone {
				set[c] = true
			}
		}
	}
	if len(set) == 0 && len(restarts) == 0 {
		b.others = others
		return b.fixIndexes(ctx, b.indexes)
	}
	restore := make([]*table, 0, len(set))
	for t := range set {
		restore = append(restore, t)
	}
	sort.Slice(restore, func(i, j int) bool { return restore[i].n < restore[j].n })
	// Triggers are dropped first and made last: a test may have given the
	// name of one to a trigger on another table.
	var drops, data []string
	remake := map[*table][]remade{}
	for _, t := range restore {
		d, r, m := b.restore(t)
		drops, data = append(drops, d...), append(data, r...)
		if t.current != nil || len(m) > 0 {
			remake[t] = m
		}
	}
	err = b.exec(ctx, append(append(drops, data...), restarts...))
	if err == nil {
		err = b.makeTriggers(ctx, remake)
	}
	if err != nil {
		// What was not restored is restored at the next reset, which
		// looks at everything again.
		b.others.ddl = -1
		for _, t := range restore {
			b.pending[t] = true
		}
		return err
	}
	for _, t := range restore {
		t.current = nil
	}
	clear(b.pending)
	b.others = others
	return b.fixIndexes(ctx, b.indexes)
}

// makeTriggers makes triggers of the baseline again, on their tables. A
// trigger of the user's on a column a test dropped or renamed cannot be:
// it is said once, and the tests after it run without it.
func (b *baseline) makeTriggers(ctx context.Context, remake map[*table][]remade) error {
	if len(remake) == 0 {
		return nil
	}
	ts := make([]*table, 0, len(remake))
	for t := range remake {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].n < ts[j].n })
	var stmts []string
	for _, t := range ts {
		for _, r := range remake[t] {
			stmts = append(stmts, r.g.mode(), r.create(b.db, t.name))
		}
	}
	if len(stmts) == 0 {
		return nil
	}
	if err := b.exec(ctx, append(stmts, unmode)); err == nil {
		return nil
	}
	// One at a time, to find those that cannot be made.
	for _, t := range ts {
		var drops []string
		for _, r := range remake[t] {
			drops = append(drops, "DROP TRIGGER IF EXISTS "+b.full(r.g.name))
		}
		if err := b.exec(ctx, drops); err != nil {
			return err
		}
		for _, r := range remake[t] {
			err := b.exec(ctx, []string{r.g.mode(), r.create(b.db, t.name), unmode})
			var me *mysql.MySQLError
			if err != nil && (isSeams(r.g.name) || !errors.As(err, &me) || me.Number == 1205) {
				return err
			}
			if err != nil {
				b.say(fmt.Sprintf("trigger %s on table %s of the baseline cannot be made again (%v): the tests after it run without it", r.g.name, t.name, err))
			}
		}
	}
	// The order numbers of those made may have changed.
	trig, err := b.readTriggers(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		t.setTriggers(trig[t.name])
	}
	return nil
}

// setTriggers makes ts the table's triggers of the baseline. The user's on
// INSERT or DELETE would fire when its rows are restored: they are
// dropped meanwhile.
func (t *table) setTriggers(ts []trigger) {
	t.triggers, t.guarded = ts, false
	for _, g := range ts {
		t.guarded = t.guarded || g.fires()
	}
}

// mode sets the session as it was when the trigger was made.
func (g trigger) mode() string {
	return fmt.Sprintf("SET SESSION sql_mode = %s, SESSION collation_connection = %s", quoteString(g.sqlMode), quoteString(g.collation))
}

// unmode sets seam's session back after mode.
const unmode = "SET NAMES utf8mb4;\nSET SESSION sql_mode = " + restoreMode

// restore returns the statements that restore one table: those that drop
// triggers while its rows are restored, the triggers makeTriggers makes
// again after, and those that restore its rows. Whether to empty it by
// TRUNCATE or DELETE, and to set AUTO_INCREMENT back, the server decides
// from the table's size and counter: that saves a query.
func (b *baseline) restore(t *table) (drops, data []string, remake []remade) {
	full := b.full(t.name)
	switch {
	case t.current != nil:
		// A test changed its triggers: all go, the baseline's come back.
		for _, name := range t.current {
			drops = append(drops, "DROP TRIGGER IF EXISTS "+b.full(name))
		}
		for _, g := range t.triggers {
			remake = append(remake, remade{g: g})
		}
	case t.guarded:
		// The user's that would fire go, and come back at their place:
		// before the first trigger of their timing and event that stayed.
		for i, g := range t.triggers {
			if !g.fires() {
				continue
			}
			drops = append(drops, "DROP TRIGGER IF EXISTS "+b.full(g.name))
			r := remade{g: g}
			for _, h := range t.triggers[i+1:] {
				if h.timing == g.timing && h.event == g.event && !h.fires() {
					r.precedes = h.name
					break
				}
			}
			remake = append(remake, r)
		}
	}
	// A system-versioned table refuses TRUNCATE. DELETE keeps
	// AUTO_INCREMENT; TRUNCATE and the copy back leave it at loadAI.
	data = append(data, "SET @seam_big = FALSE, @seam_ai = NULL",
		fmt.Sprintf(`SELECT table_rows > %d AND table_type = 'BASE TABLE', auto_increment INTO @seam_big, @seam_ai
			FROM information_schema.tables WHERE table_schema = %s AND table_name = %s`, truncateRows, quoteString(b.db), quoteString(t.name)),
		fmt.Sprintf("EXECUTE IMMEDIATE IF(@seam_big, %s, %s)", quoteString("TRUNCATE TABLE "+full), quoteString("DELETE FROM "+full)))
	if t.cols != "" {
		data = append(data, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", full, t.cols, t.cols, t.copyName()))
	}
	if t.ai > 0 {
		moved := fmt.Sprintf("IF(@seam_big, %d, @seam_ai) <> %d", t.loadAI, t.ai)
		if t.altered {
			moved = "TRUE"
		}
		data = append(data, fmt.Sprintf("EXECUTE IMMEDIATE IF(@seam_ai IS NOT NULL AND %s, %s, 'DO 0')",
			moved, quoteString(fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %d", full, t.ai))))
	}
	return drops, data, remake
}

// present tells whether a table of the database is one that holds rows.
func present(o object, ok bool) bool {
	return ok && (o.typ == "BASE TABLE" || o.typ == "SYSTEM VERSIONED")
}

// check looks at the database after a test ran DDL: it adds to set the
// tables to restore (emptied by TRUNCATE, AUTO_INCREMENT moved) and, when
// full, also drops the tables, views and sequences the test made, makes
// the baseline's views again and says what it cannot undo.
func (b *baseline) check(ctx context.Context, set map[*table]bool, full bool) error {
	// SHOW CREATE TABLE reads as the session's sql_mode says.
	if err := b.exec(ctx, nil); err != nil {
		return err
	}
	objs, err := b.objects(ctx)
	if err != nil {
		return err
	}
	var trig map[string][]trigger
	if full {
		if trig, err = b.readTriggers(ctx); err != nil {
			return err
		}
	}
	var maybeEmpty []*table
	for _, t := range b.tables {
		if t.gone {
			continue
		}
		o, ok := objs[t.name]
		if !present(o, ok) {
			b.say(fmt.Sprintf("table %s of the baseline was dropped by a test: seam cannot bring it back, and the tests after it run without it", t.name))
			t.gone = true
			delete(set, t)
			continue
		}
		if full {
			if err := b.checkTable(ctx, t, trig[t.name], set); err != nil {
				return err
			}
			if o.partitioned {
				set[t] = true
			}
		}
		if t.ai > 0 && o.ai.Valid && o.ai.Int64 != t.ai {
			set[t] = true
		}
		if !set[t] && t.rows > 0 {
			maybeEmpty = append(maybeEmpty, t)
		}
	}
	// TRUNCATE leaves a table empty: a table that had rows and that no
	// trigger saw written would still have them.
	if len(maybeEmpty) > 0 {
		parts := make([]string, len(maybeEmpty))
		for i, t := range maybeEmpty {
			parts[i] = fmt.Sprintf("IF(EXISTS(SELECT 1 FROM %s), NULL, %d)", b.full(t.name), t.n)
		}
		var empty sql.NullString
		if err := b.root.QueryRowContext(ctx, "SELECT CONCAT_WS(',', "+strings.Join(parts, ", ")+")").Scan(&empty); err != nil {
			return err
		}
		for _, s := range strings.Split(empty.String, ",") {
			if n, err := strconv.Atoi(s); err == nil {
				set[b.tables[n]] = true
			}
		}
	}
	if !full {
		return nil
	}
	var drops []string
	for _, name := range sortedKeys(objs) {
		o := objs[name]
		if t := b.byName[name]; t != nil && !t.gone && present(o, true) || b.views[name] != nil && o.typ == "VIEW" || b.kept[name] ||
			b.seqs[name] != nil && !b.seqs[name].gone && o.typ == "SEQUENCE" {
			continue
		}
		what := "TABLE"
		switch o.typ {
		case "VIEW":
			what = "VIEW"
		case "SEQUENCE":
			what = "SEQUENCE"
		}
		drops = append(drops, fmt.Sprintf("DROP %s IF EXISTS %s", what, b.full(name)))
	}
	if len(drops) > 0 {
		if err := b.exec(ctx, drops); err != nil {
			return err
		}
	}
	if err := b.remakeSequences(ctx, objs); err != nil {
		return err
	}
	if err := b.remakeViews(ctx); err != nil {
		return err
	}
	if err := b.checkRoutines(ctx); err != nil {
		return err
	}
	return b.links(ctx)
}

// checkTable adds t to set when its triggers (now) or its definition
// changed, and says the latter.
func (b *baseline) checkTable(ctx context.Context, t *table, now []trigger, set map[*table]bool) error {
	if !sameTriggers(now, t.triggers) {
		t.current = []string{}
		for _, g := range now {
			t.current = append(t.current, g.name)
		}
		set[t] = true
	}
	def, err := b.definition(ctx, t.name)
	if err != nil {
		return err
	}
	if def != t.def && !t.altered && b.remakeIndexes(t, def) {
		return nil
	}
	if def != t.def {
		b.say(fmt.Sprintf("table %s of the baseline was altered by a test (ALTER TABLE): its rows are restored, the change is not undone", t.name))
		t.def, t.altered = def, true
		if err := b.shareColumns(ctx, t); err != nil {
			return err
		}
		set[t] = true
	}
	return nil
}

// remakeIndexes sees whether a change of t's definition (def, now) is
// only in its indexes (CREATE INDEX, DROP INDEX, ALTER TABLE … ADD KEY):
// then it plans the ALTER TABLE that drops the indexes a test made and
// makes again those it dropped or changed (b.indexes, run by the reset
// after the rows are restored: a unique index made again may need the
// baseline's rows back) and reports true. A table whose change is more
// than its indexes is left to the caller (false).
func (b *baseline) remakeIndexes(t *table, def string) bool {
	baseRest, baseKeys := splitIndexes(t.def)
	nowRest, nowKeys := splitIndexes(def)
	if !slices.Equal(baseRest, nowRest) {
		return false
	}
	var changes []string
	for name, line := range nowKeys {
		if baseKeys[name] != line {
			if name == "PRIMARY" {
				changes = append(changes, "DROP PRIMARY KEY")
			} else {
				changes = append(changes, "DROP INDEX "+quoteIdent(name))
			}
		}
	}
	for name, line := range baseKeys {
		if nowKeys[name] != line {
			changes = append(changes, "ADD "+line)
		}
	}
	if len(changes) > 0 {
		// MariaDB drops before it adds, whatever their order; sorted, the
		// statement is the same every time.
		slices.Sort(changes)
		b.indexes = append(b.indexes, indexFix{t, "ALTER TABLE " + b.full(t.name) + " " + strings.Join(changes, ", ")})
	}
	// else the same indexes in another order: as the baseline's.
	return true
}

// indexFix is an ALTER TABLE that gives a table the baseline's indexes.
type indexFix struct {
	t    *table
	stmt string
}

// fixIndexes runs the ALTER TABLEs remakeIndexes planned. One that fails
// (a unique index the rows a test left break, an index a foreign key of
// the test's needs) is said, once, and the reset goes on: the next one
// that looks at everything tries again.
func (b *baseline) fixIndexes(ctx context.Context, fixes []indexFix) error {
	for _, f := range fixes {
		if err := b.exec(ctx, []string{f.stmt}); err != nil {
			if ctx.Err() != nil {
				return err
			}
			b.others.ddl = -1
			b.say(fmt.Sprintf("the indexes of table %s of the baseline were changed by a test: seam cannot make them as they were (%v), and the tests after it run with them changed", f.t.name, err))
		}
	}
	return nil
}

// splitIndexes reads SHOW CREATE TABLE: the lines that are not an index
// (columns, foreign keys, checks, options), without the comma that
// follows a line but the last, and the index lines by index name
// (PRIMARY for the primary key), as ALTER TABLE … ADD takes them.
func splitIndexes(def string) (rest []string, keys map[string]string) {
	keys = map[string]string{}
	for _, line := range strings.Split(def, "\n") {
		line = strings.TrimSuffix(strings.TrimSpace(line), ",")
		switch {
		case strings.HasPrefix(line, "PRIMARY KEY "):
			keys["PRIMARY"] = line
			continue
		case strings.HasPrefix(line, "KEY `"), strings.HasPrefix(line, "UNIQUE KEY `"), strings.HasPrefix(line, "FULLTEXT KEY `"),
			strings.HasPrefix(line, "SPATIAL KEY `"), strings.HasPrefix(line, "VECTOR KEY `"):
			if name, ok := indexName(line); ok {
				keys[name] = line
				continue
			}
		}
		rest = append(rest, line)
	}
	return rest, keys
}

// indexName is the name of an index line of SHOW CREATE TABLE: the first
// quoted identifier (a backquote in it is written twice).
func indexName(line string) (string, bool) {
	i := strings.IndexByte(line, '`')
	if i < 0 {
		return "", false
	}
	var name strings.Builder
	for j := i + 1; j < len(line); j++ {
		if line[j] != '`' {
			name.WriteByte(line[j])
			continue
		}
		if j+1 < len(line) && line[j+1] == '`' {
			name.WriteByte('`')
			j++
			continue
		}
		return name.String(), true
	}
	return "", false
}

// remakeViews makes again the baseline's views that a test dropped or
// replaced. A view may be made from another: they are tried in rounds.
// One that cannot be made again is said, once.
func (b *baseline) remakeViews(ctx context.Context) error {
	sigs, err := b.viewSigs(ctx)
	if err != nil {
		return err
	}
	var todo []string
	for _, name := range sortedKeys(b.views) {
		if sigs[name] != b.views[name].sig {
			todo = append(todo, name)
		}
	}
	why := map[string]error{}
	var made []string
	for len(todo) > 0 {
		var left []string
		for _, name := range todo {
			v := b.views[name]
			err := b.exec(ctx, []string{"SET SESSION collation_connection = " + quoteString(v.collation), v.create, unmode})
			var me *mysql.MySQLError
			switch {
			case err == nil:
				made = append(made, name)
			case errors.As(err, &me):
				why[name] = err
				left = append(left, name)
			default:
				return err
			}
		}
		if len(left) == len(todo) {
			break
		}
		todo = left
	}
	if len(made) == 0 && len(todo) == 0 {
		return nil
	}
	// What the views read now is what the next look compares with.
	if sigs, err = b.viewSigs(ctx); err != nil {
		return err
	}
	for _, name := range made {
		b.views[name].sig = sigs[name]
	}
	for _, name := range todo {
		if sig, ok := sigs[name]; ok {
			b.say(fmt.Sprintf("view %s of the baseline was changed by a test: seam cannot make it again (%v), and the tests after it run with the change", name, why[name]))
			b.views[name].sig = sig
		} else {
			b.say(fmt.Sprintf("view %s of the baseline was dropped by a test: seam cannot make it again (%v), and the tests after it run without it", name, why[name]))
			delete(b.views, name)
		}
	}
	return nil
}

// sameTriggers tells whether a table's triggers are the baseline's.
func sameTriggers(now, base []trigger) bool {
	if len(now) != len(base) {
		return false
	}
	for i := range now {
		if now[i] != base[i] {
			return false
		}
	}
	return true
}

// shareColumns restores an altered table with the columns it shares with
// its copy.
func (b *baseline) shareColumns(ctx context.Context, t *table) error {
	cols, err := b.columns(ctx, t.name)
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, c := range cols[t.name].names {
		has[strings.ToLower(c)] = true
	}
	var shared []string
	for _, c := range t.copyCols {
		if has[strings.ToLower(c)] {
			shared = append(shared, c)
		}
	}
	t.cols = quoteList(shared)
	return nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}
