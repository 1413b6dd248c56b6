// app is a fixture for seam's suspicion and interactions checks, with
// real clients: go-redis v9, which on every new connection sends CLIENT
// SETINFO (and, in later versions, CLIENT MAINT_NOTIFICATIONS) and
// ignores the error a Redis without them (Debian's 7.0) answers, on a
// new connection for each request; a
// TxPipelined transaction, which writes MULTI … EXEC at once; and a pgx
// query whose parameters are an integer beyond 2^53, NULL and the text
// 'NULL'.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

func main() {
	listen := flag.String("listen", "", "address")
	db := flag.String("db", "", "PostgreSQL URL")
	cache := flag.String("cache", "", "Redis URL")
	flag.Parse()
	opt, err := redis.ParseURL(*cache)
	if err != nil {
		log.Fatal(err)
	}
	pool, err := pgxpool.New(context.Background(), *db)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/healthz", func(http.ResponseWriter, *http.Request) {})
	http.HandleFunc("/tx", func(w http.ResponseWriter, r *http.Request) {
		// A client of its own, as a short-lived job has: every request
		// makes a new connection, with go-redis's handshake.
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		_, err := rdb.TxPipelined(r.Context(), func(p redis.Pipeliner) error {
			p.Incr(r.Context(), "a")
			p.Incr(r.Context(), "b")
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write([]byte("ok"))
	})
	http.HandleFunc("/params", func(w http.ResponseWriter, r *http.Request) {
		var n int64
		err := pool.QueryRow(r.Context(), "select $1::bigint, $2::text, $3::text", int64(-9007199254740993), nil, "NULL").Scan(&n, new(*string), new(string))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write([]byte("ok"))
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}
