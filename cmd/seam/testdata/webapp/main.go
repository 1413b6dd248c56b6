// Command webapp is a small web application for seam's browser tests. It
// reads its settings from a JSON file (-config), as real apps do, and runs
// in one of two modes: "web" serves the pages (a login form with a cookie
// session, a home page whose items a script fetches from the api), "api"
// answers /items for the page's script (with CORS, as the page comes from
// another origin).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"strings"
)

type config struct {
	Listen   string `json:"listen"`
	API      string `json:"api"`      // the api's base URL, for the page's script
	Greeting string `json:"greeting"` // "Hello"
}

func main() {
	path := flag.String("config", "", "the settings file (JSON)")
	mode := flag.String("mode", "web", "web or api")
	flag.Parse()
	data, err := os.ReadFile(*path)
	if err != nil {
		log.Fatal(err)
	}
	var c config
	if err := json.Unmarshal(data, &c); err != nil {
		log.Fatalf("%s: %v", *path, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	if *mode == "api" {
		mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode([]map[string]any{{"name": "apple", "price": 3}, {"name": "pear", "price": 4}})
		})
	} else {
		web(mux, c)
	}
	log.Printf("%s listening on %s", *mode, c.Listen)
	log.Fatal(http.ListenAndServe(c.Listen, mux))
}

const loginPage = `<!doctype html><html><head><title>Log in</title><link rel="icon" href="data:,"></head><body>
<form method="post" action="/login">
  <label for="name">Your name</label> <input id="name" name="name" required>
  <button type="submit">Log in</button>
</form></body></html>`

const homePage = `<!doctype html><html><head><title>Home</title><link rel="icon" href="data:,">
<style>#tip { display: none } #help:hover + #tip { display: inline }</style></head><body>
<h1>%s, %s</h1>
<span id="help">?</span><span id="tip">Items come from the api</span>
<button id="load">Load items</button>
<ul id="items"></ul>
<input id="file" type="file"> <span id="picked"></span>
<input id="search" placeholder="Search"> <span id="searched"></span>
<button id="throw">Throw</button>
<script>
document.getElementById("load").onclick = async () => {
  const items = await (await fetch(%q + "/items")).json();
  // The list is drawn a moment later, as real pages do.
  setTimeout(() => {
    for (const it of items) { const li = document.createElement("li"); li.textContent = it.name + " " + it.price; document.getElementById("items").append(li); }
  }, 300);
};
document.getElementById("file").onchange = e => { document.getElementById("picked").textContent = e.target.files[0].name; };
document.getElementById("search").onkeydown = e => { if (e.key === "Enter") document.getElementById("searched").textContent = "searched " + e.target.value; };
document.getElementById("throw").onclick = () => { null.boom(); };
</script></body></html>`

func web(mux *http.ServeMux, c config) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("session"); err == nil {
			http.Redirect(w, r, "/home", http.StatusSeeOther)
			return
		}
		w.Write([]byte(loginPage))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.FormValue("name"))
		if name == "" {
			http.Error(w, "a name, please", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: name, Path: "/"})
		http.Redirect(w, r, "/home", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /home", func(w http.ResponseWriter, r *http.Request) {
		s, err := r.Cookie("session")
		if err != nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		fmt.Fprintf(w, homePage, html.EscapeString(c.Greeting), html.EscapeString(s.Value), c.API)
	})
}
