// Command orders is the order service of seam's example shop: it takes
// orders and reserves their stock from the inventory service over HTTP.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"sync"
	"time"
)

type order struct {
	ID     int    `json:"id"`
	SKU    string `json:"sku"`
	Qty    int    `json:"qty"`
	Status string `json:"status"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	inventory := flag.String("inventory", "http://127.0.0.1:8081", "base URL of the inventory service")
	flag.Parse()
	log.SetFlags(0)

	client := &http.Client{Timeout: 5 * time.Second}
	var mu sync.Mutex
	orders := map[int]order{}
	next := 1000

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
		mu.Lock()
		next++
		o.ID, o.Status = next, "confirmed"
		orders[o.ID] = o
		mu.Unlock()
		log.Printf("order %d: %s x%d confirmed", o.ID, o.SKU, o.Qty)
		reply(w, http.StatusCreated, o)
	})
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		mu.Lock()
		o, ok := orders[id]
		mu.Unlock()
		if !ok {
			reply(w, http.StatusNotFound, map[string]any{"error": "no such order"})
			return
		}
		reply(w, http.StatusOK, o)
	})
	log.Printf("orders listening on %s, inventory at %s", *listen, *inventory)
	log.Fatal(http.ListenAndServe(*listen, mux))
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
