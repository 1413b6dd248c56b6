// Command echoenv is a service for seam's end-to-end tests of profiles and
// typed values: it answers GET /env/NAME with its environment variable
// NAME, and POST /echo with the JSON body it was sent.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(strings.TrimPrefix(r.URL.Path, "/env/")))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, r.Body)
	})
	log.Printf("echoenv listening on %s, MODE=%s", *listen, os.Getenv("MODE"))
	log.Fatal(http.ListenAndServe(*listen, mux))
}
