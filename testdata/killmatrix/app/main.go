// Command app is the kill matrix's service: it answers /health, and holds
// the moment $KILLMATRIX_HOLD names (start: before it listens; teardown:
// when told to stop) after touching a marker in $KILLMATRIX_MARKERS.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	hold, markers := os.Getenv("KILLMATRIX_HOLD"), os.Getenv("KILLMATRIX_MARKERS")
	mark := func(name string) {
		if err := os.WriteFile(filepath.Join(markers, name), nil, 0o644); err != nil {
			log.Print(err)
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if hold == "start" {
		mark("start")
		time.Sleep(10 * time.Minute)
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	go func() { log.Fatal(http.ListenAndServe(*listen, nil)) }()
	<-stop
	if hold == "teardown" {
		mark("teardown")
		time.Sleep(10 * time.Minute)
	}
}
