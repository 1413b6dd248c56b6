// Package bigsuite writes large, valid suites of realistic shape (many
// tests, each with vars, setup, steps of several kinds, expectations and
// captures) for measuring how seam loads them. It is used by
// bench/validate and by the loader's memory test.
package bigsuite

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write writes a suite file of about size bytes (at least one test) to
// w, a single seam.yaml with services and every test inline. It returns
// the number of tests written.
func Write(w io.Writer, size int64) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := &counter{w: bw}
	fmt.Fprint(cw, head)
	n := 0
	for n == 0 || cw.n < size {
		fmt.Fprintf(cw, test, n, n%7, n%5+1, n%3)
		n++
	}
	if err := bw.Flush(); err != nil {
		return n, err
	}
	return n, cw.err
}

// WriteFile writes such a suite to dir/seam.yaml and returns its path.
func WriteFile(dir string, size int64) (string, int, error) {
	p := filepath.Join(dir, "seam.yaml")
	f, err := os.Create(p)
	if err != nil {
		return "", 0, err
	}
	n, err := Write(f, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return p, n, err
}

type counter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

const head = `name: big
vars:
  sku: A1
  qty: 2
  token: s3cret
defaults:
  step_timeout: 10s
services:
  api:
    process:
      run: [sh, -c, 'exec sleep 1000', ((addr))]
    ready: {tcp: true, timeout: 5s}
tests:
`

// test takes the test's number, a sku suffix, a quantity and a status
// choice.
const test = `  - name: order %[1]d is confirmed and stored
    tags: [orders, generated, group-%[2]d]
    priority: high
    timeout: 30s
    vars: {qty: %[3]d, note: "order number %[1]d"}
    setup:
      - http: {service: api, method: POST, path: /stock, json: {sku: ((sku)), qty: 5}}
    steps:
      - name: place order %[1]d
        http:
          service: api
          method: POST
          path: /orders
          headers: {Authorization: Bearer ((token)), X-Request: "req-%[1]d"}
          json: {sku: "B%[2]d", qty: ((qty)), note: ((note)), lines: [{n: 1, p: 2.5}, {n: 2, p: 10}]}
        expect:
          status: {in: [200, 201]}
          headers: {Content-Type: {match: ^application/json}}
          body:
            .status: confirmed
            .id: {type: number, gt: 0}
            .lines: {length: 2}
        capture: {id: .body.id}
      - http: {service: api, path: "/orders/((id))"}
        expect:
          body: {eq: {id: ((id)), sku: "B%[2]d", qty: ((qty)), status: confirmed}}
      - exec: {command: sh, args: [-c, "echo order %[1]d; exit %[4]d"]}
        expect: {exit_code: %[4]d, stdout: {contains: "order %[1]d"}}
    teardown:
      - exec: [sh, -c, 'echo cleaned %[1]d']
`
