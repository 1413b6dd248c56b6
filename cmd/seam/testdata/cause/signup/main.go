// signup is a two-service fixture for seam's suspicion: web takes
// signups and asks users to create each user; users counts signups in
// Redis on a fresh connection it then drops with a reset (a harmless
// habit, in every request), and inserts into PostgreSQL. Its bug: a
// duplicate email is a unique violation it answers with 500, which web
// passes on as 502, where the suite wants 409.
//
// web calls users as Python's urllib does: the request head and its body
// in two writes.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// hash stands in for a bcrypt hash of the user's password: seam's wire
// must never record it.
const hash = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"

func main() {
	role := flag.String("role", "", "web or users")
	listen := flag.String("listen", "", "address")
	users := flag.String("users", "", "web: the users service's host:port")
	db := flag.String("db", "", "users: PostgreSQL URL")
	cache := flag.String("cache", "", "users: Redis host:port")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	switch *role {
	case "web":
		mux.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			status, answer, err := post(*users, "/users", body)
			switch {
			case err != nil:
				http.Error(w, err.Error(), http.StatusBadGateway)
			case status != http.StatusCreated:
				http.Error(w, fmt.Sprintf("users said %d: %s", status, answer), http.StatusBadGateway)
			default:
				w.WriteHeader(http.StatusCreated)
				w.Write(answer)
			}
		})
	case "users":
		pool, err := pgxpool.New(context.Background(), *db)
		if err != nil {
			log.Fatal(err)
		}
		mux.HandleFunc("POST /users", func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Email string }
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			count(*cache)
			var id int
			err := pool.QueryRow(r.Context(), "insert into users (email, hash) values ($1, $2) returning id", in.Email, hash).Scan(&id)
			if err != nil {
				log.Printf("insert %s: %v", in.Email, err)
				http.Error(w, "could not create the user", 500) // the bug: a duplicate is not a 500
				return
			}
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id": %d}`, id)
		})
	default:
		log.Fatalf("-role web or users, not %q", *role)
	}
	log.Printf("%s listening on %s", *role, *listen)
	log.Fatal(http.ListenAndServe(*listen, mux))
}

// count increments the signup counter on a connection of its own, and
// drops it with a reset.
func count(addr string) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		log.Printf("counting: %v", err)
		return
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	// seam gives the dependants of a redis service its password.
	r := bufio.NewReader(c)
	if pw := os.Getenv("SEAM_CACHE_PASSWORD"); pw != "" {
		fmt.Fprintf(c, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(pw), pw)
		r.ReadString('\n')
	}
	fmt.Fprint(c, "*2\r\n$4\r\nINCR\r\n$7\r\nsignups\r\n")
	r.ReadString('\n')
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

// post sends an HTTP/1.1 request as urllib does: the head in one write,
// the body in another.
func post(addr, path string, body []byte) (int, []byte, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", path, addr, len(body))
	if _, err := io.WriteString(c, head); err != nil {
		return 0, nil, err
	}
	if _, err := c.Write(body); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, []byte(strings.TrimSpace(string(b))), nil
}
