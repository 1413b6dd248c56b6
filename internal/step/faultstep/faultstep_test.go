package faultstep

import (
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// Every problem of a fault is said, each where it is written: those of
// the whole (the first), and each of its gRPC fault's (code, method).
func TestEveryProblemIsSaid(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{`{from: a, to: b, grpc: {method: Check, code: NOPE}}`, []string{
			`1:24: fault.grpc.code: "NOPE" is not a gRPC status`, `1:24: fault.grpc.method: "Check" is not a gRPC method path`}},
		{`{from: a, to: b, grpc: {method: Check, code: OK}}`, []string{
			"1:24: fault.grpc.code: OK is not a fault", `1:24: fault.grpc.method: "Check" is not a gRPC method path`}},
		{`{from: a, to: b, jitter: 5ms, grpc: {code: OK}}`, []string{
			"1:1: fault: jitter needs a latency", "1:37: fault.grpc.code: OK is not a fault"}},
		{`{from: a, to: b, http: {status: 700}, grpc: {code: OK}}`, []string{
			"1:1: fault.http.status: 700 is not an HTTP status", "1:45: fault.grpc.code: OK is not a fault"}},
		{`{from: a, to: b, clear: true, grpc: {code: OK}}`, []string{
			"1:1: fault: clear: true takes faults off", "1:37: fault.grpc.code: OK is not a fault"}},
		{`{from: a, to: b, grpc: {}}`, []string{`fault.grpc: missing required key "code"`}}, // said once
		{`{from: a, to: b, grpc: {method: /a.B/C, code: UNAVAILABLE}}`, nil},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tc.src), &n); err != nil {
			t.Fatal(err)
		}
		var errs diag.List
		Kind{}.Decode(decode.New("t.yaml", &errs), n.Content[0])
		got := ""
		if err := errs.Err(); err != nil {
			got = err.Error()
		}
		if n := strings.Count(got, "t.yaml:"); n != len(tc.want) {
			t.Errorf("%s: %d problems, want %d:\n%s", tc.src, n, len(tc.want), got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: no %q in:\n%s", tc.src, w, got)
			}
		}
	}
}
