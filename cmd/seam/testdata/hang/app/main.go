// Command app is testdata/hang's two services in one program: back
// answers /slow never (until its caller goes) and streams /events;
// front calls back with a client that has no timeout, as many do.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"
)

func main() {
	role := flag.String("role", "", "front or back")
	listen := flag.String("listen", "", "address")
	back := flag.String("back", "", "back's address (front)")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {})
	switch *role {
	case "back":
		mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
			select { // hung on something of its own
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		})
		mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := 0; ; i++ {
				if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	case "front":
		mux.HandleFunc("/order", func(w http.ResponseWriter, r *http.Request) {
			resp, err := http.Get("http://" + *back + "/slow")
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			resp.Body.Close()
		})
		mux.HandleFunc("/subscribe", func(w http.ResponseWriter, r *http.Request) {
			resp, err := http.Get("http://" + *back + "/events")
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			go func() { // reads the stream on, after answering
				defer resp.Body.Close()
				io.Copy(io.Discard, resp.Body)
			}()
			w.WriteHeader(202)
		})
	}
	log.Fatal(http.ListenAndServe(*listen, mux))
}
