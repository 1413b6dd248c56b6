package expect_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
)

// absent marks a row whose result has no body at all.
const absent = "<absent>"

type opCase struct {
	expect string // the expect block
	body   string // the body as JSON, or absent
	want   string // the failure's Error(), "" when the check holds
}

func runOpCases(t *testing.T, cases []opCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.expect+" on "+tc.body, func(t *testing.T) {
			e := compile(t, tc.expect)
			result := map[string]any{}
			if tc.body != absent {
				result["body"] = jsonValue(t, tc.body)
			}
			got := errText(e.Check(result, expr.Vars{"limit": 3, "sku": "A"}))
			if got != tc.want {
				t.Errorf("Check =\n  %s\nwant\n  %s", orPass(got), orPass(tc.want))
			}
		})
	}
}

func orPass(s string) string {
	if s == "" {
		return "(pass)"
	}
	return s
}

func TestEqualityIsTyped(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: 200`, `200`, ""},
		{`body: {eq: 200}`, `200`, ""},
		{`body: 200`, `"200"`, `body: got "200" (string); want 200 (number)`},
		{`body: {eq: 200}`, `"200"`, `body: got "200" (string); want 200 (number)`},
		{`body: "200"`, `200`, `body: got 200 (number); want "200" (string)`},
		{`body: "200"`, `"200"`, ""},
		{`body: 1`, `1.0`, ""},
		{`body: 1.0`, `1`, ""},
		{`body: 1.5`, `1.5`, ""},
		{`body: 1.5`, `1.25`, `body: got 1.25; want 1.5`},
		{`body: 123456789012345678901`, `123456789012345678901`, ""},
		{`body: 123456789012345678901`, `123456789012345678902`, `body: got 123456789012345678902; want 123456789012345678901`},
		{`body: true`, `true`, ""},
		{`body: true`, `"true"`, `body: got "true" (string); want true (boolean)`},
		{`body: null`, `null`, ""},
		{`body: null`, absent, ""},
		{`body: 0`, `null`, `body: got null; want 0`},
		{`body: 200`, absent, `body: got nothing (absent); want 200`},
		{`body: ((limit))`, `3`, ""},
		{`body: ((limit))`, `"3"`, `body: got "3" (string); want 3 (number)`},
		{`body: sku-((sku))`, `"sku-A"`, ""},
		{`body: [1, a, null]`, `[1, "a", null]`, ""},
		{`body: [1, a]`, `[1, "a", 2]`, `body: got [1,"a",2]; want [1,"a"]`},
		{`body: []`, `[]`, ""},
		{`body: {eq: {a: 1}}`, `{"a": 1}`, ""},
		{`body: {eq: {a: 1}}`, `{"a": 1, "b": 2}`, `body: got {"a":1,"b":2}; want {"a":1}`},
		{`body: {eq: {a: "1"}}`, `{"a": 1}`, `body: got {"a":1}; want {"a":"1"}`},
		{`body: {}`, `{}`, ""},
		{`body: {}`, `{"a": 1}`, `body: got {"a":1}; want {}`},
	})
}

func TestNe(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {ne: failed}`, `"ok"`, ""},
		{`body: {ne: failed}`, `"failed"`, `body: got "failed"; want anything but "failed"`},
		{`body: {ne: "200"}`, `200`, ""},
		{`body: {ne: 200}`, `200.0`, `body: got 200; want anything but 200`},
		{`body: {ne: null}`, absent, `body: got null; want anything but null`},
		{`body: {ne: [1]}`, `[1, 2]`, ""},
	})
}

func TestIn(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {in: [200, 204]}`, `204`, ""},
		{`body: {in: [200, 204]}`, `500`, `body: got 500; want one of [200,204]`},
		{`body: {in: [200, 204]}`, `"200"`, `body: got "200"; want one of [200,204]`},
		{`body: {in: [a, ((sku))]}`, `"A"`, ""},
		{`body: {in: [null, 1]}`, absent, ""},
	})
}

func TestContains(t *testing.T) {
	runOpCases(t, []opCase{
		// strings
		{`body: {contains: ready}`, `"server ready now"`, ""},
		{`body: {contains: ready}`, `"starting"`, `body: got "starting"; want a string containing "ready"`},
		{`body: {contains: 42}`, `"answer: 42"`, ""},
		{`body: {contains: ((sku))}`, `"sku A"`, ""},
		// lists: an element equal by typed equality
		{`body: {contains: B}`, `["A", "B"]`, ""},
		{`body: {contains: 2}`, `[1, 2.0]`, ""},
		{`body: {contains: 2}`, `[1, "2"]`, `body: got [1,"2"]; want a list containing 2`},
		{`body: {contains: {sku: A}}`, `[{"sku": "A"}]`, ""},
		{`body: {contains: {sku: A}}`, `[{"sku": "A", "qty": 1}]`, `body: got [{"qty":1,"sku":"A"}]; want a list containing {"sku":"A"}`},
		// objects: the key
		{`body: {contains: id}`, `{"id": null}`, ""},
		{`body: {contains: id}`, `{"name": "x"}`, `body: got {"name":"x"}; want an object with key "id"`},
		{`body: {contains: 1}`, `{"1": true}`, `body: got {"1":true}; want an object with key 1`},
		// anything else
		{`body: {contains: 1}`, `1`, `body: got 1 (number); want a string, list or object containing 1`},
		{`body: {contains: x}`, absent, `body: got nothing (absent); want something containing "x"`},
	})
}

func TestMatch(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {match: '^ok-\d+$'}`, `"ok-12"`, ""},
		{`body: {match: '^ok-\d+$'}`, `"ok-x"`, `body: got "ok-x"; want a string matching /^ok-\d+$/`},
		{`body: {match: json}`, `"application/json; charset=utf-8"`, ""},
		{`body: {match: '^1'}`, `12`, `body: got 12 (number); want a string matching /^1/`},
		{`body: {match: x}`, absent, `body: got null (null); want a string matching /x/`},
	})
}

func TestPresence(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {exists: true}`, `0`, ""},
		{`body: {exists: true}`, `""`, ""},
		{`body: {exists: true}`, `null`, `body: got nothing (absent); want a value`},
		{`body: {exists: true}`, absent, `body: got nothing (absent); want a value`},
		{`body: {exists: false}`, absent, ""},
		{`body: {exists: false}`, `null`, ""},
		{`body: {exists: false}`, `0`, `body: got 0; want nothing (absent)`},
		{`body: {absent: true}`, absent, ""},
		{`body: {absent: true}`, `null`, ""},
		{`body: {absent: true}`, `"x"`, `body: got "x"; want nothing (absent)`},
		{`body: {absent: false}`, `1`, ""},
		{`body: {absent: false}`, absent, `body: got nothing (absent); want a value`},
		{`body: {.error: {absent: true}}`, `{"error": null}`, ""},
		{`body: {.error: {absent: true}}`, `{"error": "boom"}`, `body .error: got "boom"; want nothing (absent)`},
	})
}

func TestLength(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {length: 3}`, `"héé"`, ""},
		{`body: {length: 3}`, `[1, 2, 3]`, ""},
		{`body: {length: 2}`, `{"a": 1, "b": 2}`, ""},
		{`body: {length: 2}`, `[1, 2, 3]`, `body.length: got 3; want 2`},
		{`body: {length: 0}`, `""`, ""},
		{`body: {length: {gte: 1, lt: 3}}`, `[1, 2]`, ""},
		{`body: {length: {gte: 1, lt: 3}}`, `[]`, `body.length: got 0; want a number at least 1`},
		{`body: {length: {gte: 1, lt: 3}}`, `[1, 2, 3]`, `body.length: got 3; want a number less than 3`},
		{`body: {length: ((limit))}`, `"abc"`, ""},
		{`body: {length: 1}`, `5`, `body: got 5 (number); want a string, list or object`},
		{`body: {length: 1}`, absent, `body: got nothing (absent); want something with a length`},
		{`body: {.items: {length: 1}}`, `{"items": [1, 2]}`, `body .items.length: got 2; want 1`},
	})
}

func TestCompare(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {gt: 1}`, `1.5`, ""},
		{`body: {gt: 1.5}`, `2`, ""},
		{`body: {gt: 2}`, `2`, `body: got 2; want a number greater than 2`},
		{`body: {gt: 1.5}`, `1.5`, `body: got 1.5; want a number greater than 1.5`},
		{`body: {gte: 2}`, `2.0`, ""},
		{`body: {gte: 2.5}`, `2`, `body: got 2; want a number at least 2.5`},
		{`body: {lt: 2}`, `1.999`, ""},
		{`body: {lt: 2}`, `2`, `body: got 2; want a number less than 2`},
		{`body: {lte: 2.5}`, `2`, ""},
		{`body: {lte: 2}`, `2.5`, `body: got 2.5; want a number at most 2`},
		{`body: {lte: 2}`, `2`, ""},
		{`body: {gt: 9223372036854775807}`, `123456789012345678901`, ""},
		{`body: {gt: -1}`, `-0.5`, ""},
		{`body: {gt: ((limit))}`, `4`, ""},
		{`body: {gt: ((limit))}`, `3`, `body: got 3; want a number greater than 3`},
		{`body: {gt: 1}`, `"5"`, `body: got "5" (string); want a number greater than 1`},
		{`body: {lt: 1}`, `null`, `body: got null (null); want a number less than 1`},
		{`body: {gt: 1}`, absent, `body: got nothing (absent); want a number greater than 1`},
		{`body: {gte: 200, lt: 300}`, `204`, ""},
		{`body: {gte: 200, lt: 300}`, `404`, `body: got 404; want a number less than 300`},
	})
}

func TestType(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {type: number}`, `1.5`, ""},
		{`body: {type: number}`, `123456789012345678901`, ""},
		{`body: {type: number}`, `"1"`, `body: got "1" (string); want a number`},
		{`body: {type: string}`, `1`, `body: got 1 (number); want a string`},
		{`body: {type: boolean}`, `false`, ""},
		{`body: {type: list}`, `[]`, ""},
		{`body: {type: list}`, `{}`, `body: got {} (object); want a list`},
		{`body: {type: object}`, `{}`, ""},
		{`body: {type: object}`, `[]`, `body: got [] (list); want an object`},
		{`body: {type: "null"}`, `null`, ""},
		{`body: {type: null}`, `null`, ""},
		{`body: {type: null}`, `0`, `body: got 0 (number); want a null`},
		{`body: {type: null}`, absent, `body: got nothing (absent); want a null`},
		{`body: {type: number}`, absent, `body: got nothing (absent); want a number`},
	})
}

func TestSchemaInline(t *testing.T) {
	schema := `body: {schema: {type: object, required: [id], properties: {id: {type: integer, minimum: 1}, tags: {type: array, items: {type: string}}}}}`
	runOpCases(t, []opCase{
		{schema, `{"id": 1}`, ""},
		{schema, `{"id": 123456789012345678901}`, ""},
		{schema, `{"id": 2, "tags": ["a"]}`, ""},
		{schema, `{"id": "x"}`, `body: does not match the JSON Schema: at "/id": type: x has type "string", want "integer"`},
		{schema, `{"id": 0}`, `body: does not match the JSON Schema: at "/id": minimum: 0/1 is less than 1.000000`},
		{schema, `{}`, `body: does not match the JSON Schema: at "/": required: missing properties: ["id"]`},
		{schema, `{"id": 1, "tags": [1]}`, `body: does not match the JSON Schema: at "/tags/*": type: 1 has type "integer", want "string"`},
		{schema, `[]`, `body: does not match the JSON Schema: at "/": type: [] has type "array", want "object"`},
		{`body: {.order: {schema: {type: integer}}}`, `{"order": 1.5}`, `body .order: does not match the JSON Schema: at "/": type: 1.5 has type "number", want "integer"`},
	})
}

// The failure names the instance path that failed, found from the
// schema path; an array item the library does not number shows as *.
func TestSchemaPaths(t *testing.T) {
	nested := `body: {schema: {type: object, properties: {a: {type: object, properties: {b: {type: array, items: {enum: [1, 2]}}}}}}}`
	tuple := `body: {schema: {prefixItems: [{type: string}, {type: integer}]}}`
	ref := `body: {schema: {$defs: {pos: {type: integer, minimum: 1}}, type: object, properties: {n: {$ref: "#/$defs/pos"}}}}`
	draft7 := `body: {schema: {$schema: "http://json-schema.org/draft-07/schema", type: object, properties: {a: {items: [{type: string}, {type: integer}]}}}}`
	runOpCases(t, []opCase{
		{nested, `{"a": {"b": [1, 2]}}`, ""},
		{nested, `{"a": {"b": [1, 3]}}`, `body: does not match the JSON Schema: at "/a/b/*": enum: 3 does not equal any of: [1 2]`},
		{tuple, `["x", 1]`, ""},
		{tuple, `["x", "y"]`, `body: does not match the JSON Schema: at "/1": type: y has type "string", want "integer"`},
		{ref, `{"n": 0}`, `body: does not match the JSON Schema: at "/n": minimum: 0/1 is less than 1.000000`},
		{draft7, `{"a": ["x", 2]}`, ""},
		{draft7, `{"a": ["x", "y"]}`, `body: does not match the JSON Schema: at "/a/1": type: y has type "string", want "integer"`},
		{`body: {schema: {anyOf: [{type: string}, {type: integer}]}}`, `true`, `body: does not match the JSON Schema: at "/": anyOf: did not validate against any of [<anonymous schema> <anonymous schema>]:; validating /anyOf/0: type: true has type "boolean", want "string"; validating /anyOf/1: type: true has type "boolean", want "integer"`},
	})
}

// A draft the library does not check is refused at load, naming it.
func TestSchemaDrafts(t *testing.T) {
	for _, uri := range []string{"http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-06/schema#", "https://json-schema.org/draft/2019-09/schema", "https://example.com/my-meta"} {
		t.Run(uri, func(t *testing.T) {
			errs := compileErrs(t, `body: {schema: {$schema: "`+uri+`", type: object}}`)
			if len(errs) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(errs), errs)
			}
			e := errs[0]
			if e.Pos.String() != "t.yaml:1:16" || !strings.Contains(e.Msg, `$schema "`+uri+`" is not a supported JSON Schema draft`) || !strings.Contains(e.Hint, "2020-12 and draft-07") {
				t.Errorf("problem = %v at %s (hint %q)", e.Msg, e.Pos, e.Hint)
			}
		})
	}
	for _, uri := range []string{"https://json-schema.org/draft/2020-12/schema", "http://json-schema.org/draft/2020-12/schema#", "http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft-07/schema"} {
		t.Run(uri, func(t *testing.T) {
			e := compile(t, `body: {schema: {$schema: "`+uri+`", type: object}}`)
			if got := errText(e.Check(map[string]any{"body": jsonValue(t, `[]`)}, nil)); !strings.Contains(got, `want "object"`) {
				t.Errorf("Check = %q; want a type failure", got)
			}
		})
	}
}

func TestSchemaFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "schemas", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("order.json", `{"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}`)
	write("order.yaml", "type: object\nrequired: [qty]\nproperties:\n  qty: {type: integer}\n")
	write("broken.json", `{"type": `)
	write("invalid.json", `{"type": 5}`)
	write("common.yaml", "$defs:\n  sku: {type: string, minLength: 2}\n")
	write("line.json", `{"type": "object", "properties": {"sku": {"$ref": "common.yaml#/$defs/sku"}}}`)
	write("badref.json", `{"$ref": "nothere.json"}`)
	write("webref.json", `{"$ref": "https://example.com/s.json"}`)
	write("old.json", `{"$schema": "http://json-schema.org/draft-04/schema#"}`)

	tests := []struct {
		expect string
		ok     string // a body that passes
		bad    string // a body that fails
		fail   string // its failure
	}{
		{"body: {schema: schemas/order.json}", `{"sku": "A"}`, `{"sku": 1}`, `body: does not match the JSON Schema: at "/sku": type: 1 has type "integer", want "string"`},
		{"body: {schema: schemas/order.yaml}", `{"qty": 2}`, `{"qty": "2"}`, `body: does not match the JSON Schema: at "/qty": type: 2 has type "string", want "integer"`},
		{"body: {schema: schemas/line.json}", `{"sku": "AB"}`, `{"sku": "A"}`, `body: does not match the JSON Schema: at "/sku": minLength: "A" contains 1 Unicode code points, fewer than 2`},
		{"body: {schema: " + filepath.Join(dir, "schemas", "order.json") + "}", `{"sku": "A"}`, `{}`, `body: does not match the JSON Schema: at "/": required: missing properties: ["sku"]`},
	}
	for _, tt := range tests {
		t.Run(tt.expect, func(t *testing.T) {
			d := decode.New(filepath.Join(dir, "seam.yaml"), &diag.List{})
			d.Dir = dir
			e, errs := compileWith(t, d, tt.expect)
			if len(errs) > 0 {
				t.Fatalf("compile: %v", d.Errs)
			}
			if f := e.Check(map[string]any{"body": jsonValue(t, tt.ok)}, nil); f != nil {
				t.Errorf("%s: %v", tt.ok, f)
			}
			if got := errText(e.Check(map[string]any{"body": jsonValue(t, tt.bad)}, nil)); got != tt.fail {
				t.Errorf("%s: got %q; want %q", tt.bad, got, tt.fail)
			}
		})
	}

	errTests := []struct {
		expect string
		msg    string
		hint   string
	}{
		{"body: {schema: schemas/missing.json}", "schema: cannot read " + filepath.Join(dir, "schemas", "missing.json") + ": no such file or directory", "paths are relative to the suite file"},
		{"body: {schema: schemas/broken.json}", "is neither JSON nor YAML", ""},
		{"body: {schema: schemas/invalid.json}", "schema: invalid JSON Schema", ""},
		{"body: {schema: schemas/badref.json}", "nothere.json: no such file or directory", "relative to the schema's own file"},
		{"body: {schema: schemas/webref.json}", "only files are loaded, never the network", ""},
		{"body: {schema: schemas/old.json}", `$schema "http://json-schema.org/draft-04/schema#" is not a supported JSON Schema draft`, "drafts 2020-12 and draft-07"},
	}
	for _, tt := range errTests {
		t.Run(tt.expect, func(t *testing.T) {
			d := decode.New("seam.yaml", &diag.List{})
			d.Dir = dir
			_, errs := compileWith(t, d, tt.expect)
			if len(errs) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(errs), d.Errs)
			}
			if errs[0].Pos.String() != "seam.yaml:1:16" {
				t.Errorf("Pos = %s, want seam.yaml:1:16", errs[0].Pos)
			}
			if !strings.Contains(errs[0].Msg, tt.msg) || !strings.Contains(errs[0].Hint, tt.hint) {
				t.Errorf("problem = %v; want %q (hint %q)", errs[0], tt.msg, tt.hint)
			}
		})
	}
}

func TestExprOperator(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {expr: "value > 3"}`, `4`, ""},
		{`body: {expr: "value > 3"}`, `2`, `body: got 2; want a value for which value > 3 is true (it gave false)`},
		{`body: {expr: "value > limit"}`, `4`, ""},
		{`body: {expr: "value == sku"}`, `"A"`, ""},
		{`body: {expr: "all(value, .qty > 0)"}`, `[{"qty": 1}, {"qty": 2}]`, ""},
		{`body: {expr: "all(value, .qty > 0)"}`, `[{"qty": 1}, {"qty": 0}]`, `body: got [{"qty":1},{"qty":0}]; want a value for which all(value, .qty > 0) is true (it gave false)`},
		{`body: {expr: "len(value)"}`, `"ab"`, `body: got "ab"; want a value for which len(value) is true (it gave 2)`},
		{`body: {.items: {expr: "len(value) == 2"}}`, `{"items": [1, 2]}`, ""},
	})
	e := compile(t, `body: {expr: "value.a.b > 1"}`)
	f := e.Check(map[string]any{"body": "text"}, nil)
	if f == nil || !strings.HasPrefix(f.Error(), "body: (( value.a.b > 1 )): ") {
		t.Errorf("runtime error: got %v", f)
	}
}

func TestNot(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {not: {contains: panic}}`, `"all good"`, ""},
		{`body: {not: {contains: panic}}`, `"panic: nil map"`, `body: got "panic: nil map"; want not {"contains":"panic"}`},
		{`body: {not: 3}`, `4`, ""},
		{`body: {not: 3}`, `3.0`, `body: got 3; want not 3`},
		{`body: {not: {in: [500, 503]}}`, `200`, ""},
		{`body: {not: {not: 1}}`, `1`, ""},
		{`body: {not: {.error: {exists: true}}}`, `{"ok": true}`, ""},
		{`body: {not: {.error: {exists: true}}}`, `{"error": "x"}`, `body: got {"error":"x"}; want not {".error":{"exists":true}}`},
	})
}

func TestAll(t *testing.T) {
	runOpCases(t, []opCase{
		{`body: {all: {type: number}}`, `[1, 2.5]`, ""},
		{`body: {all: {type: number}}`, `[]`, ""},
		{`body: {all: {type: number}}`, `[1, "2"]`, `body[1]: got "2" (string); want a number`},
		{`body: {.items: {all: {.qty: {gt: 0}}}}`, `{"items": [{"qty": 1}, {"qty": 2}]}`, ""},
		{`body: {.items: {all: {.qty: {gt: 0}}}}`, `{"items": [{"qty": 1}, {"qty": 0}]}`, `body .items[1] .qty: got 0; want a number greater than 0`},
		{`body: {.items: {all: {sku: A}}}`, `{"items": [{"sku": "A"}, {"sku": "B", "n": 1}]}`, `body .items[1].sku: got "B"; want "A"`},
		{`body: {all: 1}`, `{"a": 1}`, `body: got {"a":1} (object); want a list`},
	})
}

func TestBuiltinTable(t *testing.T) {
	want := []string{"absent", "all", "contains", "eq", "exists", "expr", "gt", "gte", "in", "length", "lt", "lte", "match", "ne", "not", "schema", "type"}
	tab := expect.Builtin()
	if got := tab.Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for name, op := range tab {
		u := op.Usage()
		if u.Name != name {
			t.Errorf("operator listed as %q calls itself %q", name, u.Name)
		}
		if u.Summary == "" || u.Example == "" {
			t.Errorf("operator %q lacks a summary or example: %+v", name, u)
		}
	}
}

// TestOperatorExamplesCompile compiles every operator's documented example
// (they are written for a body field), so the help text stays valid.
func TestOperatorExamplesCompile(t *testing.T) {
	for name, op := range expect.Builtin() {
		ex := op.Usage().Example
		if name == "schema" {
			continue // names a file
		}
		field := ex[:strings.IndexAny(ex, ":")]
		src := ex
		if strings.HasPrefix(field, ".") {
			src = "body: {" + ex + "}"
		}
		t.Run(name, func(t *testing.T) {
			d := decode.New("t.yaml", &diag.List{})
			_, errs := compileWith(t, d, src)
			if len(errs) > 0 {
				t.Errorf("example %q of %s: %v", ex, name, d.Errs)
			}
		})
	}
}
