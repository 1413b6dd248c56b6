// Command migrate is a stand-in for a real system's migration binary: it
// applies a file to a data service, then exits (a job) or, with -stay,
// says "migrated" and runs until stopped (a service that migrates at
// start-up).
//
//	migrate [-stay] URL FILE
//
// URL is postgres://… (FILE is SQL), mysql://user:pw@host:port/db (SQL),
// redis://host:port/0 (one command a line) or nats://host:port (lines
// "stream NAME SUBJECT…", "consumer STREAM NAME", "pub SUBJECT DATA",
// "request SUBJECT DATA", which prints what came back).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

func main() {
	stay := flag.Bool("stay", false, "keep running after migrating, until SIGTERM")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: migrate [-stay] URL FILE")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := migrate(ctx, flag.Arg(0), flag.Arg(1))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	fmt.Println("migrated")
	if *stay {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
	}
}

func migrate(ctx context.Context, raw, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "postgres":
		c, err := pgx.Connect(ctx, raw)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.PgConn().Exec(ctx, string(data)).ReadAll()
		return err
	case "mysql":
		cfg := mysql.NewConfig()
		pw, _ := u.User.Password()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName, cfg.MultiStatements = u.User.Username(), pw, "tcp", u.Host, strings.TrimPrefix(u.Path, "/"), true
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return err
		}
		db := sql.OpenDB(conn)
		defer db.Close()
		_, err = db.ExecContext(ctx, string(data))
		return err
	case "redis":
		opt, err := redis.ParseURL(raw)
		if err != nil {
			return err
		}
		c := redis.NewClient(opt)
		defer c.Close()
		for _, line := range lines(data) {
			args := []any{}
			for _, f := range strings.Fields(line) {
				args = append(args, f)
			}
			if err := c.Do(ctx, args...).Err(); err != nil {
				return fmt.Errorf("%s: %w", line, err)
			}
		}
		return nil
	case "nats":
		nc, err := nats.Connect(raw)
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		for _, line := range lines(data) {
			f := strings.Fields(line)
			switch {
			case f[0] == "stream" && len(f) > 2:
				_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: f[1], Subjects: f[2:]})
			case f[0] == "consumer" && len(f) == 3:
				_, err = js.CreateOrUpdateConsumer(ctx, f[1], jetstream.ConsumerConfig{Durable: f[2], AckPolicy: jetstream.AckExplicitPolicy})
			case f[0] == "pub" && len(f) == 3:
				_, err = js.Publish(ctx, f[1], []byte(f[2]))
			case f[0] == "request" && len(f) == 3:
				// As a service calls another: what came back, or why
				// nothing did, and how long that took.
				start := time.Now()
				m, rerr := nc.Request(f[1], []byte(f[2]), 2*time.Second)
				took := time.Since(start).Round(100 * time.Millisecond)
				if rerr != nil {
					fmt.Printf("request %s: %v after %s\n", f[1], rerr, took)
				} else {
					fmt.Printf("request %s: answered %q after %s\n", f[1], m.Data, took)
				}
			default:
				err = fmt.Errorf("unknown line")
			}
			if err != nil {
				return fmt.Errorf("%s: %w", line, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown scheme %q", u.Scheme)
}

// lines are a file's lines that are not blank or # comments.
func lines(data []byte) []string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
