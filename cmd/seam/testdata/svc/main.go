// Command svc is a service for seam's own end-to-end tests: it listens on
// an address and can be told to misbehave.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address")
	crash := flag.Bool("crash", false, "exit with code 2 at once")
	spawn := flag.String("spawn", "", "start this command as a detached grandchild in its own session")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM")
	never := flag.Bool("never-ready", false, "listen, but answer /healthz with 503")
	dbURL := flag.String("db", "", "a PostgreSQL URL: serve /customers from it through a pgx pool")
	call := flag.String("call", "", "a base URL: /call?path=P GETs it and answers with its status; /callee shows it")
	wait := flag.Duration("wait", 0, "wait this long before listening")
	warm := flag.Duration("warm", 0, "answer /healthz with 503 for this long, logging each request")
	flag.Parse()
	started := time.Now()
	var healthChecks atomic.Int64
	log.SetFlags(0)
	log.Printf("svc starting on %s", *listen)
	if *crash {
		log.Printf("fatal: cannot open config file /etc/svc.conf")
		os.Exit(2)
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if *spawn != "" {
		cmd := exec.Command("sh", "-c", *spawn)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // escapes the process group
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		log.Printf("spawned %d", cmd.Process.Pid)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		n := healthChecks.Add(1)
		if *never || time.Since(started) < *warm {
			if *warm > 0 {
				log.Printf("GET /healthz 503 (%d)", n)
			}
			http.Error(w, "warming up", 503)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/health-checks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, healthChecks.Load())
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Minute):
		}
	})
	mux.HandleFunc("/port", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, *listen)
	})
	mux.HandleFunc("/callee", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, *call)
	})
	// /call-split?path=P GETs it as a client that writes its request a
	// byte at a time, pausing between the first bytes (some clients
	// flush each write; a proxy between them may too).
	mux.HandleFunc("/call-split", func(w http.ResponseWriter, r *http.Request) {
		u, err := url.Parse(*call)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req := "GET " + r.URL.Query().Get("path") + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n\r\n"
		for i := 0; i < len(req); i++ {
			if _, err := c.Write([]byte{req[i]}); err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			if i < 6 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	})
	mux.HandleFunc("/call", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(*call + r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	})
	if *dbURL != "" {
		pool, err := pgxpool.New(context.Background(), *dbURL)
		if err != nil {
			log.Fatal(err)
		}
		defer pool.Close()
		// /customers counts them, and POST adds one: through the same pool,
		// whose connections must survive seam's resets between tests.
		mux.HandleFunc("/customers", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" {
				if _, err := pool.Exec(r.Context(), "insert into customers (name) values ($1)", r.URL.Query().Get("name")); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
			}
			var n int
			if err := pool.QueryRow(r.Context(), "select count(*) from customers").Scan(&n); err != nil {
				log.Printf("count: %v", err)
				http.Error(w, err.Error(), 500)
				return
			}
			fmt.Fprint(w, n)
		})
	}
	time.Sleep(*wait)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("svc ready")
	log.Fatal(http.Serve(ln, mux))
}
