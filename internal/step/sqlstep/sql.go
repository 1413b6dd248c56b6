// Package sqlstep is the `sql` step kind: one SQL statement against a
// PostgreSQL or MariaDB service of the suite (or a URL), its rows and
// affected-row count as the result.
package sqlstep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// maxRows caps how many rows a step keeps.
const maxRows = 10000

// Kind is the sql step kind. Its steps share a session per database and
// test (sessions), kept by each environment.
type Kind struct {
	own *sessions // for steps run with no environment (a suite without services)
}

// New returns the sql step kind.
func New() *Kind {
	return &Kind{own: newSessions()}
}

// Close ends the sessions kept by the kind itself (an environment ends
// its own when it stops).
func (k *Kind) Close() {
	k.own.Close()
}

// sessionsFor returns the sessions of the environment a step runs in.
func (k *Kind) sessionsFor(env *step.Env) *sessions {
	if h, ok := env.Services.(step.Host); ok && env.Services != nil {
		c, err := h.Keep("sql", func(step.HostEnv) (io.Closer, error) { return newSessions(), nil })
		if s, ok := c.(*sessions); ok && err == nil {
			return s
		}
	}
	return k.own
}

func (k *Kind) Usage() step.Usage {
	return step.Usage{
		Services: []string{"postgres", "mariadb"},
		Name:     "sql",
		Summary:  "run one SQL statement on a PostgreSQL or MariaDB service and check its rows",
		Inputs: []step.Input{
			{Name: "service", Doc: "a postgres or mariadb service of the suite; or give url"},
			{Name: "url", Doc: "a postgres:// or mysql:// URL"},
			{Name: "query", Doc: "the statement; args are $1, $2 … (PostgreSQL) or ? (MariaDB)"},
			{Name: "args", Doc: "arguments, a list; they keep their types"},
		},
		Fields: []expect.Field{
			{Name: "rows", Doc: "the rows, a list of objects keyed by column name. Numbers keep every digit: a DECIMAL or NUMERIC beyond float64's precision (12345678901234567.89) is compared exactly with a whole number in an expectation, and with a number with a fraction at float64's precision (a YAML number is a float64); BIGINT UNSIGNED beyond int64 is a number too"},
			{Name: "row_count", Doc: "how many rows came back", Shape: expect.ScalarShape},
			{Name: "columns", Doc: "the column names, in order"},
			{Name: "affected", Doc: "rows inserted, updated or deleted", Shape: expect.ScalarShape},
			{Name: "duration_ms", Doc: "run time in milliseconds", Shape: expect.ScalarShape},
		},
		Example: "sql: {service: db, query: \"select status from orders where id = $1\", args: [((id))]}\nexpect: {rows: [{status: paid}]}",
	}
}

type action struct {
	kind    *Kind
	Service expr.Str     `yaml:"service"`
	URL     expr.Str     `yaml:"url"`
	Query   expr.Str     `yaml:"query" seam:"required"`
	Args    []expr.Value `yaml:"args"`
}

// Decode implements step.Kind.
func (k *Kind) Decode(d *decode.Decoder, n *yaml.Node) step.Action {
	a := &action{kind: k}
	before := d.Errs.Len()
	d.Decode(n, a, "sql")
	if d.Errs.Len() > before {
		return nil
	}
	if a.Service.IsZero() == a.URL.IsZero() {
		d.Errorf(n, "sql: give either service or url").WithHint("service: db names a postgres service of this suite")
		return nil
	}
	return a
}

// ServiceRefs implements step.ServiceUser.
func (a *action) ServiceRefs() []step.Ref { return step.Refs(a.Service) }

func (a *action) Run(ctx context.Context, env *step.Env) (*step.Result, error) {
	url, err := step.Address(env, a.Service, a.URL, "", "")
	if err != nil {
		return nil, err
	}
	query, err := a.Query.String(env.Vars)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	args := make([]any, len(a.Args))
	for i, v := range a.Args {
		if args[i], err = v.Eval(env.Vars); err != nil {
			return nil, fmt.Errorf("args[%d]: %w", i, err)
		}
	}
	sent := describe(query, args)
	ss := a.kind.sessionsFor(env)
	switch {
	case strings.HasPrefix(url, "mysql://"):
		m, err := ss.mysql(url)
		if err != nil {
			return &step.Result{Request: sent}, err
		}
		return runMySQL(ctx, m, test(env), query, args, sent)
	case !strings.HasPrefix(url, "postgres"):
		return nil, fmt.Errorf("%s is not a database URL: the sql step talks to postgres and mariadb services", url)
	}
	p, err := ss.postgres(url)
	if err != nil {
		return &step.Result{Request: sent}, err
	}
	var res *step.Result
	err = p.use(ctx, test(env), func(c *pgx.Conn) error {
		var rerr error
		res, rerr = runPG(ctx, c, query, args, sent)
		return rerr
	})
	if res == nil {
		res = &step.Result{Request: sent}
	}
	return res, err
}

// runPG runs one statement on a PostgreSQL session.
func runPG(ctx context.Context, c *pgx.Conn, query string, args []any, sent string) (*step.Result, error) {
	start := time.Now()
	rows, err := c.Query(ctx, query, args...)
	if err != nil {
		return &step.Result{Request: sent}, sqlErr(err)
	}
	defer rows.Close()
	var cols []any
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	var out []any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return &step.Result{Request: sent}, sqlErr(err)
		}
		if len(out) >= maxRows {
			continue
		}
		row := make(map[string]any, len(vals))
		for i, v := range vals {
			row[cols[i].(string)] = value(v)
		}
		out = append(out, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return &step.Result{Request: sent}, sqlErr(err)
	}
	tag := rows.CommandTag()
	if out == nil {
		out = []any{}
	}
	if cols == nil {
		cols = []any{}
	}
	fields := map[string]any{
		"rows": out, "row_count": len(out), "columns": cols,
		"affected":    int(tag.RowsAffected()),
		"duration_ms": float64(time.Since(start).Microseconds()) / 1000,
	}
	return &step.Result{Fields: fields, Request: sent, Response: responseText(tag.String(), out)}, nil
}

// value turns a driver value into seam's canonical values: UUIDs as text,
// times as RFC 3339, numerics as numbers without losing a digit
// (pgNumeric), arrays element by element.
func value(v any) any {
	switch x := v.(type) {
	case pgtype.Numeric:
		return pgNumeric(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = value(e)
		}
		return out
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return expr.Normalize(v)
}

func sqlErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg := fmt.Sprintf("SQL error %s: %s", pe.Code, pe.Message)
		if pe.Position > 0 {
			msg += fmt.Sprintf(" at character %d of the query", pe.Position)
		}
		if pe.Detail != "" {
			msg += " (" + pe.Detail + ")"
		}
		return errors.New(msg)
	}
	return err
}

func describe(query string, args []any) string {
	s := strings.TrimSpace(query)
	if len(args) > 0 {
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = fmt.Sprintf("$%d = %s", i+1, expr.Show(a))
		}
		s += "\n-- " + strings.Join(parts, ", ")
	}
	return s
}

func responseText(tag string, rows []any) string {
	var b strings.Builder
	b.WriteString(tag)
	for i, r := range rows {
		if i == 20 {
			fmt.Fprintf(&b, "\n… %d rows in all", len(rows))
			break
		}
		b.WriteString("\n" + expr.Format(r))
	}
	return b.String()
}
