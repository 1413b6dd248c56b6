package expect_test

import (
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// FuzzSchema compiles any inline schema and checks any JSON value against
// it: a bad schema is a load problem, a mismatch a failure, never a panic
// (the failure's path is read from the library's error chain).
func FuzzSchema(f *testing.F) {
	f.Add(`{type: object, required: [id], properties: {id: {type: integer, minimum: 1}}}`, `{"id": 0}`)
	f.Add(`{prefixItems: [{type: string}], items: {enum: [1, 2]}}`, `["a", 3]`)
	f.Add(`{$defs: {a: {type: string}}, properties: {x: {$ref: "#/$defs/a"}}}`, `{"x": 1}`)
	f.Add(`{$schema: "http://json-schema.org/draft-07/schema#", items: [{type: string}], additionalItems: false}`, `["a", 1]`)
	f.Add(`{anyOf: [{type: string}, {not: {}}], patternProperties: {"^a": {type: integer}}}`, `{"ab": "x"}`)
	f.Add(`{$ref: "other.json"}`, `1`)
	f.Fuzz(func(t *testing.T, schema, value string) {
		v, err := expr.DecodeJSON([]byte(value))
		if err != nil {
			return
		}
		src := "body: {schema: " + schema + "}"
		var doc yaml.Node
		if yaml.Unmarshal([]byte(src), &doc) != nil || decode.Resolve(&doc) == nil {
			return
		}
		d := decode.New("t.yaml", &diag.List{})
		d.Dir = t.TempDir()
		e, errs := compileWith(t, d, src)
		if len(errs) > 0 || e == nil {
			return
		}
		if f := e.Check(map[string]any{"body": v}, nil); f != nil && f.Error() == "" {
			t.Errorf("a failure without a message")
		}
	})
}
