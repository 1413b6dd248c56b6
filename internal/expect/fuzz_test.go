package expect_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
)

// fuzzFields is a result with a field of every shape.
var fuzzFields = []expect.Field{
	{Name: "status", Shape: expect.ScalarShape},
	{Name: "stdout", Shape: expect.ScalarShape},
	{Name: "headers", FoldKeys: true, Shape: expect.HeadersShape},
	{Name: "body"},
}

// FuzzExpect compiles any expect: block and checks any result against it:
// problems are positioned, a mismatch is a failure, never a panic. Seeds:
// the expect: blocks of the examples, and the broken fixtures.
func FuzzExpect(f *testing.F) {
	for _, s := range []string{
		"{status: 201, body: {.status: paid, .id: {exists: true}}}",
		"{stdout: {contains: hi, not: {match: '^x'}}, status: {gte: 200, lt: 300}}",
		"{headers: {Content-Type: {match: json}}, body: {items: {length: {gt: 0}, all: {.qty: {type: number}}}}}",
		"{that: ['status == 200', 'len(body) > 0'], body: [1, 2, {a: b}]}",
		"{stdout: {matchs: hi}}",
		"{body: {.a: {in: [1, 2]}, .b: {expr: 'value > 1'}, .c: {schema: {type: string}}}}",
	} {
		f.Add(s, []byte(`{"status": 201, "stdout": "hi", "headers": {"content-type": "application/json"}, "body": {"status": "paid", "id": 1, "items": [{"qty": 2}]}}`))
	}
	for _, dir := range []string{"../../examples/shop/tests", "../../testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(string(data), []byte(`{"status": 200}`))
			}
		}
	}
	ops := expect.Builtin()
	f.Fuzz(func(t *testing.T, src string, result []byte) {
		n, err := decode.Parse([]byte(src))
		if err != nil {
			return
		}
		d := decode.New("seam.yaml", &diag.List{})
		d.Vars = map[string]bool{"x": true}
		e := (&expect.Compiler{D: d, Ops: ops}).Compile(n, fuzzFields)
		for _, p := range d.Errs.Errors() {
			if p.Pos.File != "seam.yaml" || p.Pos.Line < 1 {
				t.Fatalf("problem without a position: %v", p)
			}
		}
		if d.Errs.Len() > 0 {
			return
		}
		v, err := expr.DecodeJSON(result)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return
		}
		_ = e.Check(m, expr.Vars{"x": 1})
	})
}
