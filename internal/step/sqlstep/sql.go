// Package sqlstep is the `sql` step kind: one SQL statement against a
// PostgreSQL or MariaDB service of the suite (or a URL), its rows and
// affected-row count as the result.
package sqlstep

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
	"go.yaml.in/yaml/v4"
)

// maxRows caps how many rows a step keeps.
const maxRows = 10000

// Kind is the sql step kind. It keeps one small pool per database URL so
// steps reuse connections.
type Kind struct {
	pools *step.Clients[*pgxpool.Pool]
	mysql *step.Clients[*sql.DB]
}

// New returns the sql step kind.
func New() *Kind {
	return &Kind{pools: step.NewClients(func(url string) (*pgxpool.Pool, error) {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, err
		}
		cfg.MaxConns = 4
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
		return pgxpool.NewWithConfig(context.Background(), cfg)
	}, func(p *pgxpool.Pool) { p.Close() }),
		mysql: step.NewClients(openMySQL, func(db *sql.DB) { db.Close() })}
}

// Close closes every pool.
func (k *Kind) Close() {
	k.pools.Close()
	k.mysql.Close()
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
			{Name: "rows", Doc: "the rows, a list of objects keyed by column name"},
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
	switch {
	case strings.HasPrefix(url, "mysql://"):
		db, err := a.kind.mysql.Get(url)
		if err != nil {
			return &step.Result{Request: sent}, err
		}
		return runMySQL(ctx, db, query, args, sent)
	case !strings.HasPrefix(url, "postgres"):
		return nil, fmt.Errorf("%s is not a database URL: the sql step talks to postgres and mariadb services", url)
	}
	pool, err := a.kind.pools.Get(url)
	if err != nil {
		return &step.Result{Request: sent}, err
	}
	start := time.Now()
	rows, err := pool.Query(ctx, query, args...)
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
// times as RFC 3339, numerics as numbers.
func value(v any) any {
	switch x := v.(type) {
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
