package expr_test

import (
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// valueNode parses doc, a YAML mapping with a key "v", and returns the node
// of that key's value, with its real line and column.
func valueNode(t *testing.T, doc string) *yaml.Node {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatalf("bad YAML %q: %v", doc, err)
	}
	m := decode.Resolve(&root)
	if m == nil || m.Kind != yaml.MappingNode || len(m.Content) != 2 || m.Content[0].Value != "v" {
		t.Fatalf("test YAML %q must be a mapping with the single key v", doc)
	}
	return m.Content[1]
}

// newDecoder returns a decoder for "t.yaml" that checks names against
// defined (nil turns the check off).
func newDecoder(defined ...string) *decode.Decoder {
	d := decode.New("t.yaml", &diag.List{})
	if defined != nil {
		d.Vars = map[string]bool{}
		for _, n := range defined {
			d.Vars[n] = true
		}
	}
	return d
}

// noErrors fails the test when d recorded any problem.
func noErrors(t *testing.T, d *decode.Decoder) {
	t.Helper()
	if err := d.Errs.Err(); err != nil {
		t.Fatalf("unexpected decode problems:\n%v", err)
	}
}

// oneError returns the single problem d recorded, failing otherwise.
func oneError(t *testing.T, d *decode.Decoder) *diag.Error {
	t.Helper()
	errs := d.Errs.Errors()
	if len(errs) != 1 {
		t.Fatalf("got %d problems, want 1:\n%v", len(errs), d.Errs)
	}
	return errs[0]
}
