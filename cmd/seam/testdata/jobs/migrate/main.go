// Command migrate is a migration binary for seam's end-to-end tests of
// jobs: it creates the notes schema in PostgreSQL, seeds the rows a JSON
// file lists, and exits, as a real system's migrate-and-seed tool does.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	db := flag.String("db", "", "PostgreSQL URL")
	seed := flag.String("seed", "", "a JSON file: {\"notes\": [\"text\", …]}")
	flag.Parse()
	if err := migrate(*db, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}

func migrate(url, seedFile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`create table authors (id serial primary key, name text not null unique)`,
		`create table notes (id serial primary key, author_id int not null references authors(id), body text not null)`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
		fmt.Println("applied:", stmt)
	}
	var seed struct {
		Author string   `json:"author"`
		Notes  []string `json:"notes"`
	}
	data, err := os.ReadFile(seedFile)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &seed); err != nil {
		return fmt.Errorf("%s: %w", seedFile, err)
	}
	var author int
	if err := conn.QueryRow(ctx, `insert into authors (name) values ($1) returning id`, seed.Author).Scan(&author); err != nil {
		return err
	}
	for _, n := range seed.Notes {
		if _, err := conn.Exec(ctx, `insert into notes (author_id, body) values ($1, $2)`, author, n); err != nil {
			return err
		}
	}
	fmt.Printf("seeded %d notes by %s\n", len(seed.Notes), seed.Author)
	return nil
}
