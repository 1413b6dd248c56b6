package main

import (
	"bytes"
	_ "embed"
)

// pageHTML is the shop's web page: a form that places an order with
// POST /orders and shows the confirmation. No build tool: plain HTML and
// a script.
//
//go:embed page.html
var pageHTML []byte

// page is the page as served; broken sends the quantity as "quantity",
// which orders refuses (the bug the example's --var broken_page=true shows).
func page(broken bool) []byte {
	field := "qty"
	if broken {
		field = "quantity"
	}
	return bytes.ReplaceAll(pageHTML, []byte("{{QTY_FIELD}}"), []byte(field))
}
