package main_test

import (
	"strings"
	"testing"
)

// The schema operator end to end: a file schema with a $ref to a YAML file
// beside it, failures naming the path that failed, and a draft seam does
// not check refused before anything runs.
func TestSchemaOperator(t *testing.T) {
	r := seam(t, "run", "../../testdata/e2e/schema")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"PASS a line item matches",
		`seam.yaml:12:18: step "exec printf {"sku": "AB12", "qty": 2, "tags": ["x", 7]}": json: does not match the JSON Schema: at "/tags/*": type: 7 has type "integer", want "string"`,
		`seam.yaml:17:18: step "exec printf {"sku": "A", "qty": 1}": json: does not match the JSON Schema: at "/sku": pattern: "A" does not match regular expression "^[A-Z]{2}[0-9]+$"`,
		"1 passed, 2 failed, 0 skipped",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	r = seam(t, "validate", "../../testdata/e2e/schema-draft4")
	if r.code != 2 {
		t.Fatalf("validate: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`schema-draft4/seam.yaml:8:21: schema: $schema "http://json-schema.org/draft-04/schema#" is not a supported JSON Schema draft`,
		"hint: seam checks JSON Schema drafts 2020-12 and draft-07",
	} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("validate output lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
}
