// Command orders is the order service of seam's example shop: it takes
// orders, prices them with the pricing service over gRPC, reserves their
// stock from the inventory service over HTTP, charges the payment provider
// (with -payments), stores them in PostgreSQL (or in memory without -db)
// and announces each on NATS (with -nats).
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
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/seamtest/seam/examples/shop/pricing/pricingpb"
)

type order struct {
	ID         int    `json:"id"`
	SKU        string `json:"sku"`
	Qty        int    `json:"qty"`
	Status     string `json:"status"`
	UnitCents  int64  `json:"unit_cents"`  // as pricing quoted it
	TotalCents int64  `json:"total_cents"` // what the customer is charged
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
	err := p.pool.QueryRow(ctx, "insert into orders (sku, qty, status, unit_cents, total_cents) values ($1, $2, $3, $4, $5) returning id",
		o.SKU, o.Qty, o.Status, o.UnitCents, o.TotalCents).Scan(&id)
	return id, err
}

func (p postgres) get(ctx context.Context, id int) (order, bool, error) {
	o := order{ID: id}
	err := p.pool.QueryRow(ctx, "select sku, qty, status, unit_cents, total_cents from orders where id = $1", id).
		Scan(&o.SKU, &o.Qty, &o.Status, &o.UnitCents, &o.TotalCents)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, false, nil
	}
	return o, err == nil, err
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	inventory := flag.String("inventory", "http://127.0.0.1:8081", "base URL of the inventory service")
	pricingAddr := flag.String("pricing", "", "host:port of the pricing service, called over gRPC (empty: orders are not priced)")
	dbURL := flag.String("db", "", "PostgreSQL URL (empty: keep orders in memory)")
	natsURL := flag.String("nats", "", "NATS URL to announce orders on (empty: announce nothing)")
	payments := flag.String("payments", "", "base URL of the payment provider (empty: orders are not charged)")
	brokenPage := flag.Bool("broken-page", false, "serve the web page with a bug: it sends the quantity in the wrong field")
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
	var pricing *pricer
	if *pricingAddr != "" {
		// One connection to pricing for the process's life. After it
		// breaks, reconnect soon and often: pricing is a nearby service,
		// not a remote API, and an order waits for it (see price).
		conn, err := grpc.NewClient(*pricingAddr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
				MinConnectTimeout: time.Second,
			}))
		if err != nil {
			log.Fatal(err)
		}
		defer conn.Close()
		pricing = &pricer{pricingpb.NewPricingClient(conn), conn}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page(*brokenPage))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var o order
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil || o.SKU == "" || o.Qty <= 0 {
			reply(w, http.StatusBadRequest, map[string]any{"error": "want {sku, qty > 0}"})
			return
		}
		if pricing != nil {
			if status, msg := price(r.Context(), pricing, &o); status != http.StatusOK {
				reply(w, status, map[string]any{"error": msg})
				return
			}
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
			// Announced before the answer: Publish only buffers, and a
			// caller acting on the answer (a test that checks nothing
			// more is announced, say) must not meet it after.
			err := bus.Publish("orders.created", data)
			if err == nil {
				err = bus.FlushTimeout(2 * time.Second)
			}
			if err != nil {
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
	log.Printf("orders listening on %s, inventory at %s, pricing at %s", *listen, *inventory, *pricingAddr)
	log.Fatal(http.Serve(ln, mux))
}

// pricer is the client of the pricing service and its connection.
type pricer struct {
	client pricingpb.PricingClient
	conn   *grpc.ClientConn
}

// price asks pricing for a quote and sets the order's prices. It returns
// 200, or the status to answer the customer with and why.
func price(ctx context.Context, pricing *pricer, o *order) (int, string) {
	// WaitForReady: a call made while the connection is being rebuilt waits
	// for it, up to one second, instead of failing at once.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	q, err := pricing.client.Quote(ctx, &pricingpb.QuoteRequest{Sku: o.SKU, Qty: int32(o.Qty)}, grpc.WaitForReady(true))
	switch status.Code(err) {
	case codes.OK:
		o.UnitCents, o.TotalCents = q.GetUnitCents(), q.GetTotalCents()
		return http.StatusOK, ""
	case codes.Unavailable, codes.DeadlineExceeded:
		log.Printf("order %s x%d: pricing unreachable: %v", o.SKU, o.Qty, err)
		// The next order should not wait out a backoff grown while
		// pricing was away: try to reconnect now.
		pricing.conn.ResetConnectBackoff()
		return http.StatusServiceUnavailable, "pricing unreachable"
	case codes.NotFound:
		log.Printf("order %s x%d: refused: %s", o.SKU, o.Qty, status.Convert(err).Message())
		return http.StatusConflict, status.Convert(err).Message()
	}
	log.Printf("order %s x%d: pricing answered %v: %s", o.SKU, o.Qty, status.Code(err), status.Convert(err).Message())
	return http.StatusBadGateway, fmt.Sprintf("pricing: %s", status.Convert(err).Message())
}

// charge asks the payment provider to charge an order. It returns 200, or
// the status to answer the customer with and why.
func charge(client *http.Client, payments string, o order) (int, string) {
	body, _ := json.Marshal(map[string]any{"amount": o.TotalCents, "currency": "EUR", "reference": o.SKU})
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
