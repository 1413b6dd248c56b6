// Command orders is the order service of seam's example shop: it takes
// orders, reserves their stock from the inventory service over HTTP, stores
// them in PostgreSQL (or in memory without -db) and announces each on NATS
// (with -nats).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
)

type order struct {
	ID     int    `json:"id"`
	SKU    string `json:"sku"`
	Qty    int    `json:"qty"`
	Status string `json:"status"`
}

// store keeps orders: in PostgreSQL through a connection pool, or in memory.
type store interface {
	add(ctx context.Context, o order) (int, error)
	get(ctx context.Context, id int) (order, bool, error)
}

type memory struct {
	mu     sync.Mutex
	orders map[int]order
	next   int
}

func (m *memory) add(_ context.Context, o order) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	o.ID = 1000 + m.next
	m.orders[o.ID] = o
	return o.ID, nil
}

func (m *memory) get(_ context.Context, id int) (order, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	return o, ok, nil
}

type postgres struct{ pool *pgxpool.Pool }

func (p postgres) add(ctx context.Context, o order) (int, error) {
	var id int
	err := p.pool.QueryRow(ctx, "insert into orders (sku, qty, status) values ($1, $2, $3) returning id", o.SKU, o.Qty, o.Status).Scan(&id)
	return id, err
}

func (p postgres) get(ctx context.Context, id int) (order, bool, error) {
	o := order{ID: id}
	err := p.pool.QueryRow(ctx, "select sku, qty, status from orders where id = $1", id).Scan(&o.SKU, &o.Qty, &o.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, false, nil
	}
	return o, err == nil, err
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	inventory := flag.String("inventory", "http://127.0.0.1:8081", "base URL of the inventory service")
	dbURL := flag.String("db", "", "PostgreSQL URL (empty: keep orders in memory)")
	natsURL := flag.String("nats", "", "NATS URL to announce orders on (empty: announce nothing)")
	payments := flag.String("payments", "", "base URL of the payment provider (empty: orders are not charged)")
	flag.Parse()
	log.SetFlags(0)

	var orders store = &memory{orders: map[int]order{}}
	if *dbURL != "" {
		pool, err := pgxpool.New(context.Background(), *dbURL)
		if err != nil {
			log.Fatal(err)
		}
		defer pool.Close()
		orders = postgres{pool}
	}
	var bus *nats.Conn
	if *natsURL != "" {
		nc, err := nats.Connect(*natsURL, nats.Name("orders"))
		if err != nil {
			log.Fatal(err)
		}
		defer nc.Close()
		bus = nc
	}
	client := &http.Client{Timeout: 5 * time.Second}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var o order
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil || o.SKU == "" || o.Qty <= 0 {
			reply(w, http.StatusBadRequest, map[string]any{"error": "want {sku, qty > 0}"})
			return
		}
		body, _ := json.Marshal(map[string]any{"sku": o.SKU, "qty": o.Qty})
		resp, err := client.Post(*inventory+"/reserve", "application/json", bytes.NewReader(body))
		if err != nil {
			log.Printf("order %s x%d: inventory unreachable: %v", o.SKU, o.Qty, err)
			reply(w, http.StatusBadGateway, map[string]any{"error": "inventory unreachable"})
			return
		}
		var inv map[string]any
		json.NewDecoder(resp.Body).Decode(&inv)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusConflict, http.StatusNotFound:
			log.Printf("order %s x%d: refused: %v", o.SKU, o.Qty, inv["error"])
			reply(w, http.StatusConflict, map[string]any{"error": inv["error"]})
			return
		default:
			log.Printf("order %s x%d: inventory answered %d: %v", o.SKU, o.Qty, resp.StatusCode, inv["error"])
			reply(w, http.StatusBadGateway, map[string]any{"error": fmt.Sprintf("inventory: %v", inv["error"])})
			return
		}
		if *payments != "" {
			if status, msg := charge(client, *payments, o); status != http.StatusOK {
				reply(w, status, map[string]any{"error": msg})
				return
			}
		}
		o.Status = "confirmed"
		id, err := orders.add(r.Context(), o)
		if err != nil {
			log.Printf("order %s x%d: storing: %v", o.SKU, o.Qty, err)
			reply(w, http.StatusInternalServerError, map[string]any{"error": "could not store the order"})
			return
		}
		o.ID = id
		if bus != nil {
			data, _ := json.Marshal(o)
			if err := bus.Publish("orders.created", data); err != nil {
				log.Printf("order %d: announcing: %v", o.ID, err)
			}
		}
		log.Printf("order %d: %s x%d confirmed", o.ID, o.SKU, o.Qty)
		reply(w, http.StatusCreated, o)
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		o, ok, err := orders.get(r.Context(), id)
		switch {
		case err != nil:
			log.Printf("order %d: reading: %v", id, err)
			reply(w, http.StatusInternalServerError, map[string]any{"error": "could not read the order"})
		case !ok:
			reply(w, http.StatusNotFound, map[string]any{"error": "no such order"})
		default:
			reply(w, http.StatusOK, o)
		}
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	// Said once the port is open: a readiness probe may wait for this line.
	log.Printf("orders listening on %s, inventory at %s", *listen, *inventory)
	log.Fatal(http.Serve(ln, mux))
}

// prices in cents; the payment provider charges qty × price.
var prices = map[string]int{"A1": 500, "B2": 1200, "C3": 250}

// charge asks the payment provider to charge an order. It returns 200, or
// the status to answer the customer with and why.
func charge(client *http.Client, payments string, o order) (int, string) {
	body, _ := json.Marshal(map[string]any{"amount": o.Qty * prices[o.SKU], "currency": "EUR", "reference": o.SKU})
	req, _ := http.NewRequest(http.MethodPost, payments+"/charges", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer shop-test-key")
	resp, err := client.Do(req)
	if err != nil {
		log.Printf("order %s x%d: payments unreachable: %v", o.SKU, o.Qty, err)
		return http.StatusBadGateway, "payments unreachable"
	}
	defer resp.Body.Close()
	var res map[string]any
	json.NewDecoder(resp.Body).Decode(&res)
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK:
		log.Printf("order %s x%d: charged (%v)", o.SKU, o.Qty, res["id"])
		return http.StatusOK, ""
	case http.StatusPaymentRequired:
		log.Printf("order %s x%d: payment declined: %v", o.SKU, o.Qty, res["reason"])
		return http.StatusPaymentRequired, "payment declined"
	}
	log.Printf("order %s x%d: payments answered %d", o.SKU, o.Qty, resp.StatusCode)
	return http.StatusBadGateway, fmt.Sprintf("payments answered %d", resp.StatusCode)
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
