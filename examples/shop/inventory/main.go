// Command inventory is the stock service of seam's example shop: it keeps
// stock per SKU in memory and reserves it for orders.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"sync"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	broken := flag.Bool("broken", false, "fail every reservation (to see how a broken component shows up in seam)")
	flag.Parse()
	log.SetFlags(0)

	var mu sync.Mutex
	stock := map[string]int{"A1": 10, "B2": 0, "C3": 100}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /stock/{sku}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n, ok := stock[r.PathValue("sku")]
		mu.Unlock()
		if !ok {
			reply(w, http.StatusNotFound, map[string]any{"error": "unknown sku"})
			return
		}
		reply(w, http.StatusOK, map[string]any{"sku": r.PathValue("sku"), "available": n})
	})
	mux.HandleFunc("POST /reserve", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			SKU string `json:"sku"`
			Qty int    `json:"qty"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Qty <= 0 {
			reply(w, http.StatusBadRequest, map[string]any{"error": "want {sku, qty > 0}"})
			return
		}
		if *broken {
			log.Printf("reserve %s x%d: failed: storage unavailable (started with -broken)", req.SKU, req.Qty)
			reply(w, http.StatusInternalServerError, map[string]any{"error": "storage unavailable"})
			return
		}
		mu.Lock()
		n, ok := stock[req.SKU]
		if ok && n >= req.Qty {
			stock[req.SKU] = n - req.Qty
		}
		left := stock[req.SKU]
		mu.Unlock()
		switch {
		case !ok:
			log.Printf("reserve %s x%d: unknown sku", req.SKU, req.Qty)
			reply(w, http.StatusNotFound, map[string]any{"error": "unknown sku"})
		case n < req.Qty:
			log.Printf("reserve %s x%d: out of stock (%d left)", req.SKU, req.Qty, n)
			reply(w, http.StatusConflict, map[string]any{"error": "out of stock", "available": n})
		default:
			log.Printf("reserve %s x%d: ok, %d left", req.SKU, req.Qty, left)
			reply(w, http.StatusOK, map[string]any{"reserved": req.Qty, "left": left})
		}
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	// Said once the port is open: a readiness probe may wait for this line.
	log.Printf("inventory listening on %s", *listen)
	log.Fatal(http.Serve(ln, mux))
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
