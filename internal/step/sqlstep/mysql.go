package sqlstep

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service"
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
	// The driver logs to stderr when it drops a connection that the
	// server ended (after a test left a transaction open, say): noise on
	// the user's console, and seam says what happened in its own words.
	cfg.Logger = &mysql.NopLogger{}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(4)
	return db, nil
}

// txMark holds one of the locks service.StepTxLock names while the
// session has a transaction open (its own, or the first free one: a lock
// taken again is counted, and would need as many releases), and releases
// it otherwise. CASE tries the locks in order and stops at the first it
// gets.
func txMark() string {
	held, take, release := make([]string, service.StepTxSlots), make([]string, service.StepTxSlots), make([]string, service.StepTxSlots)
	for i := range held {
		name := quote(service.StepTxLock(i))
		held[i] = "IS_USED_LOCK(" + name + ")"
		take[i] = "WHEN GET_LOCK(" + name + ", 0) THEN 1"
		release[i] = "COALESCE(RELEASE_LOCK(" + name + "), 0)"
	}
	return "DO IF(@@in_transaction, IF(CONNECTION_ID() IN (" + strings.Join(held, ", ") + "), 1, CASE " + strings.Join(take, " ") + " ELSE 0 END), " +
		strings.Join(release, " + ") + ")"
}

// quote is s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var returnsRows = regexp.MustCompile(`(?is)^\s*(select|show|with|values|describe|desc|explain|table)\b|\breturning\b`)

// runMySQL runs one statement on the test's session: queries give rows,
// others the affected count.
func runMySQL(ctx context.Context, m *mySession, test, query string, args []any, sent string) (*step.Result, error) {
	var res *step.Result
	err := m.use(ctx, test, func(c *sql.Conn) error {
		var err error
		res, err = runMySQLOn(ctx, c, query, args, sent)
		if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
			return err
		}
		// Whether a transaction of the session's is open now, for the
		// data service's check after the test (service.StepTxLock).
		if _, terr := c.ExecContext(ctx, txMark()); terr != nil && err == nil {
			return terr
		}
		return err
	})
	if res == nil {
		res = &step.Result{Request: sent}
	}
	return res, err
}

func runMySQLOn(ctx context.Context, c *sql.Conn, query string, args []any, sent string) (*step.Result, error) {
	start := time.Now()
	if !returnsRows.MatchString(query) {
		res, err := c.ExecContext(ctx, query, args...)
		if err != nil {
			return &step.Result{Request: sent}, mysqlErr(err)
		}
		n, _ := res.RowsAffected()
		fields := map[string]any{"rows": []any{}, "row_count": 0, "columns": []any{}, "affected": int(n),
			"duration_ms": float64(time.Since(start).Microseconds()) / 1000}
		return &step.Result{Fields: fields, Request: sent, Response: fmt.Sprintf("%d row(s) affected", n)}, nil
	}
	rows, err := c.QueryContext(ctx, query, args...)
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
// numbers (DECIMAL exactly: exactNumber; BIGINT UNSIGNED beyond int64 as
// *big.Int), everything else is text, NULL is null.
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
		if n, ok := new(big.Int).SetString(s, 10); ok {
			return n
		}
	case "DECIMAL", "UNSIGNED DECIMAL":
		if v, ok := exactNumber(s); ok {
			return v
		}
	case "FLOAT", "DOUBLE", "UNSIGNED FLOAT", "UNSIGNED DOUBLE":
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
