// Command greeter answers every request with its greeting, which lives in
// greeting.go: the e2e test edits that file between two runs.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"greeting": greeting})
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}
