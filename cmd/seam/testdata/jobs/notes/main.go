// Command notes is a service for seam's end-to-end tests of jobs and
// files:. Started with -config FILE it reads everything from that YAML
// file (listen address, database URL), as services that take no flags or
// environment do; without it, from -listen and $NOTES_DB.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.yaml.in/yaml/v4"
)

type config struct {
	Listen   string `yaml:"listen"`
	Database string `yaml:"database"`
	Author   string `yaml:"author"`
}

func main() {
	file := flag.String("config", "", "a YAML config file: listen, database, author")
	listen := flag.String("listen", "", "address, when there is no -config")
	flag.Parse()
	cfg := config{Listen: *listen, Database: os.Getenv("NOTES_DB"), Author: "ada"}
	if *file != "" {
		data, err := os.ReadFile(*file)
		if err != nil {
			log.Fatal(err)
		}
		cfg = config{}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			log.Fatalf("%s: %v", *file, err)
		}
	}
	if cfg.Listen == "" || cfg.Database == "" || cfg.Author == "" {
		log.Fatalf("incomplete config: %+v", cfg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	pool, err := pgxpool.New(ctx, cfg.Database)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := pool.Ping(r.Context()); err != nil {
			http.Error(w, err.Error(), 503)
		}
	})
	mux.HandleFunc("GET /notes", func(w http.ResponseWriter, r *http.Request) {
		rows, err := pool.Query(r.Context(), `select n.body from notes n join authors a on a.id = n.author_id order by n.id`)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		out := []string{}
		for rows.Next() {
			var b string
			if err := rows.Scan(&b); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			out = append(out, b)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"notes": out})
	})
	mux.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Body string `json:"body"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var id int
		err := pool.QueryRow(r.Context(), `insert into notes (author_id, body)
			select id, $2 from authors where name = $1 returning id`, cfg.Author, in.Body).Scan(&id)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"id": id, "author": cfg.Author})
	})
	srv := &http.Server{Addr: cfg.Listen, Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Printf("notes listening on %s", cfg.Listen)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
