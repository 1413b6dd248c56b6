package sqlstep

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/step"
)

// openMySQL opens a pool for a mysql:// URL (MariaDB and MySQL).
func openMySQL(raw string) (*sql.DB, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	cfg.Timeout = 5 * time.Second
	// Arguments are put into the text of the statement by the driver, so
	// every result arrives in the text protocol and is typed the same way.
	cfg.InterpolateParams = true
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(4)
	return db, nil
}

var returnsRows = regexp.MustCompile(`(?is)^\s*(select|show|with|values|describe|desc|explain|table)\b|\breturning\b`)

// runMySQL runs one statement: queries give rows, others the affected count.
func runMySQL(ctx context.Context, db *sql.DB, query string, args []any, sent string) (*step.Result, error) {
	start := time.Now()
	if !returnsRows.MatchString(query) {
		res, err := db.ExecContext(ctx, query, args...)
		if err != nil {
			return &step.Result{Request: sent}, mysqlErr(err)
		}
		n, _ := res.RowsAffected()
		fields := map[string]any{"rows": []any{}, "row_count": 0, "columns": []any{}, "affected": int(n),
			"duration_ms": float64(time.Since(start).Microseconds()) / 1000}
		return &step.Result{Fields: fields, Request: sent, Response: fmt.Sprintf("%d row(s) affected", n)}, nil
	}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return &step.Result{Request: sent}, mysqlErr(err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return &step.Result{Request: sent}, err
	}
	cols := make([]any, len(types))
	for i, t := range types {
		cols[i] = t.Name()
	}
	out := []any{}
	for rows.Next() {
		raw := make([]sql.RawBytes, len(types))
		ptrs := make([]any, len(types))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return &step.Result{Request: sent}, mysqlErr(err)
		}
		if len(out) >= maxRows {
			continue
		}
		row := make(map[string]any, len(types))
		for i, t := range types {
			row[t.Name()] = mysqlValue(t.DatabaseTypeName(), raw[i])
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return &step.Result{Request: sent}, mysqlErr(err)
	}
	fields := map[string]any{"rows": out, "row_count": len(out), "columns": cols, "affected": 0,
		"duration_ms": float64(time.Since(start).Microseconds()) / 1000}
	return &step.Result{Fields: fields, Request: sent, Response: responseText(fmt.Sprintf("%d row(s)", len(out)), out)}, nil
}

// mysqlValue types a text-protocol value by its column type: numbers stay
// numbers, everything else is text, NULL is null.
func mysqlValue(typ string, b sql.RawBytes) any {
	if b == nil {
		return nil
	}
	s := string(b)
	switch strings.ToUpper(typ) {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT", "YEAR",
		"UNSIGNED TINYINT", "UNSIGNED SMALLINT", "UNSIGNED MEDIUMINT", "UNSIGNED INT", "UNSIGNED BIGINT":
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return int(n)
		}
	case "DECIMAL", "FLOAT", "DOUBLE":
		if v, err := expr.DecodeJSON([]byte(s)); err == nil {
			return v
		}
	}
	return s
}

func mysqlErr(err error) error {
	if me, ok := err.(*mysql.MySQLError); ok {
		return fmt.Errorf("SQL error %d: %s", me.Number, me.Message)
	}
	return err
}
