package expect_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
)

const order = `{
	"id": 1167860,
	"status": "paid",
	"user": {"name": "ada", "role": "admin", "tags": ["x"]},
	"items": [{"sku": "B", "qty": 2}, {"sku": "C", "qty": 1}]
}`

// TestPaths checks the failure messages: the path into the result, then got
// and want.
func TestPaths(t *testing.T) {
	tests := []struct {
		expect string
		want   string
	}{
		{"body:\n  .items[0].sku: A", `body .items[0].sku: got "B"; want "A"`},
		{"body:\n  .items[0].sku: B\n  .items[1].qty: 1", ""},
		{`body: {".items[0].sku": A}`, `body .items[0].sku: got "B"; want "A"`},
		{`body: {.id: 1167860}`, ""},
		{`body: {.id: "1167860"}`, `body .id: got 1167860 (number); want "1167860" (string)`},
		{`body: {.items | length: 3}`, `body .items | length: got 2; want 3`},
		{"body:\n  .items[].sku: [B, C]", ""},
		{`body: {.missing: 1}`, `body .missing: got nothing (absent); want 1`},
		{`body: {.missing: null}`, ""},
		{`body: {.missing: {exists: false}}`, ""},
		{"body:\n  .items[9].sku: {absent: true}", ""},
		{"body:\n  .items:\n    .[0]: {.sku: C}", `body .items .[0] .sku: got "B"; want "C"`},
		{`body: {.id.x: 1}`, `body .id.x: jq .id.x: expected an object but got: number (1167860)`},
		// object subset: only the keys given, each matched as written
		{`body: {status: paid}`, ""},
		{`body: {status: paid, user: {name: ada}}`, ""},
		{`body: {user: {name: bob}}`, `body.user.name: got "ada"; want "bob"`},
		{`body: {user: {email: {exists: true}}}`, `body.user.email: got nothing (absent); want a value`},
		{`body: {user: {tags: {contains: y}}}`, `body.user.tags: got ["x"]; want a list containing "y"`},
		{`body: {user: {.name: ada}}`, ""},
		{`body: {Status: paid}`, `body.Status: got nothing (absent); want "paid"`},
		{`body: {status: {ne: paid}}`, `body.status: got "paid"; want anything but "paid"`},
		{`body: {items: {name: x}}`, `body.items: got [{"qty":2,"sku":"B"},{"qty":1,"sku":"C"}]; want an object with keys name`},
		{`status: {a: 1}`, `status: got 200; want an object with keys a`},
		// several fields: the first failure in the order written
		{"status: 201\nbody: {status: refunded}", `status: got 200; want 201`},
		{"body: {status: refunded}\nstatus: 201", `body.status: got "paid"; want "refunded"`},
		// a field the result lacks
		{`stdout: {contains: ok}`, `stdout: got nothing (absent); want something containing "ok"`},
	}
	result := map[string]any{"status": 200, "body": jsonValue(t, order)}
	for _, tt := range tests {
		t.Run(tt.expect, func(t *testing.T) {
			e := compile(t, tt.expect)
			if got := errText(e.Check(result, nil)); got != tt.want {
				t.Errorf("Check =\n  %s\nwant\n  %s", orPass(got), orPass(tt.want))
			}
		})
	}
}

func TestHeaderKeysFold(t *testing.T) {
	result := map[string]any{
		"headers": map[string]any{"Content-Type": "application/json", "X-Count": "3", "Set-Cookie": []any{"a=1", "b=2"}},
		"body":    map[string]any{"Content-Type": "text/plain"},
	}
	tests := []struct {
		expect string
		want   string
	}{
		{`headers: {content-type: application/json}`, ""},
		{`headers: {CONTENT-TYPE: {match: json}}`, ""},
		{`headers: {Content-Type: application/json}`, ""},
		{`headers: {x-count: "3"}`, ""},
		{`headers: {x-count: 3}`, `headers.x-count: got "3" (string); want 3 (number)`},
		{`headers: {set-cookie: {contains: b=2}}`, ""},
		{`headers: {x-missing: {exists: true}}`, `headers.x-missing: got nothing (absent); want a value`},
		{`headers: {content-type: text/html}`, `headers.content-type: got "application/json"; want "text/html"`},
		// body is no header map: its keys are exact
		{`body: {content-type: text/plain}`, `body.content-type: got nothing (absent); want "text/plain"`},
		{`body: {Content-Type: text/plain}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.expect, func(t *testing.T) {
			e := compile(t, tt.expect)
			if got := errText(e.Check(result, nil)); got != tt.want {
				t.Errorf("Check =\n  %s\nwant\n  %s", orPass(got), orPass(tt.want))
			}
		})
	}
}

func TestThat(t *testing.T) {
	src := "status: 200\nthat:\n  - status == 200 && len(body.items) == 2\n  - body.items[0].sku == sku\n"
	e := compile(t, src)
	result := map[string]any{"status": 200, "body": jsonValue(t, order)}
	if f := e.Check(result, expr.Vars{"sku": "B"}); f != nil {
		t.Fatalf("Check: %v", f)
	}
	f := e.Check(result, expr.Vars{"sku": "C"})
	if got, want := errText(f), `that: body.items[0].sku == sku: got false; want true`; got != want {
		t.Errorf("Check = %q, want %q", got, want)
	}
	if f != nil && f.Pos.String() != "t.yaml:4:5" {
		t.Errorf("Pos = %s, want t.yaml:4:5 (the failing expression)", f.Pos)
	}

	e = compile(t, "that: body.id")
	if got, want := errText(e.Check(result, nil)), `that: body.id: got 1167860; want true`; got != want {
		t.Errorf("non-boolean: Check = %q, want %q", got, want)
	}
	// A result field shadows a variable of the same name.
	e = compile(t, "that: status == 200")
	if f := e.Check(result, expr.Vars{"status": 500}); f != nil {
		t.Errorf("result field does not win over a variable: %v", f)
	}
	e = compile(t, "that: body.user.name.first == 1")
	if f := e.Check(result, nil); f == nil || !strings.HasPrefix(f.Error(), "that: (( body.user.name.first == 1 )): ") {
		t.Errorf("runtime error: Check = %v", f)
	}
}

func TestDiff(t *testing.T) {
	e := compile(t, "body:\n  .user: {eq: {name: ada, tags: [x, y]}}\n")
	f := e.Check(map[string]any{"body": jsonValue(t, order)}, nil)
	if f == nil {
		t.Fatal("no failure")
	}
	wantErr := `body .user: got {"name":"ada","role":"admin","tags":["x"]}; want {"name":"ada","tags":["x","y"]}`
	if f.Error() != wantErr {
		t.Errorf("Error() =\n  %s\nwant\n  %s", f.Error(), wantErr)
	}
	wantDiff := `--- want
+++ got
  {
    "name": "ada",
+   "role": "admin",
    "tags": [
-     "x",
-     "y"
+     "x"
    ]
  }`
	if f.Diff != wantDiff {
		t.Errorf("Diff =\n%s\nwant\n%s", f.Diff, wantDiff)
	}
	// Scalars need no diff.
	f = compile(t, "status: 201").Check(map[string]any{"status": 200}, nil)
	if f == nil || f.Diff != "" {
		t.Errorf("scalar failure %+v: want no diff", f)
	}
	// A long structure is cut in the got/want line when there is a diff.
	long := make([]any, 100)
	for i := range long {
		long[i] = "item"
	}
	f = compile(t, "body: [x]").Check(map[string]any{"body": long}, nil)
	if f == nil || len(f.Got) > 230 || !strings.HasSuffix(f.Got, " bytes more)") || f.Diff == "" {
		t.Errorf("long got: %q (diff %d bytes)", f.Got, len(f.Diff))
	}
}

// TestFailurePos checks that a failure points at the innermost expectation
// that failed.
func TestFailurePos(t *testing.T) {
	src := `status: 200
headers:
  content-type: {match: json}
body:
  .id: 1167860
  .items:
    length: 2
    all:
      .qty:
        gt: 1
  .user: {name: ada, role: {in: [admin, owner]}}
that: body.status == "paid"
`
	e := compile(t, src)
	good := func() map[string]any {
		return map[string]any{
			"status":  200,
			"headers": map[string]any{"Content-Type": "application/json"},
			"body":    jsonValue(t, `{"id": 1167860, "status": "paid", "user": {"name": "ada", "role": "owner"}, "items": [{"qty": 2}, {"qty": 3}]}`),
		}
	}
	if f := e.Check(good(), nil); f != nil {
		t.Fatalf("the good result fails: %v", f)
	}
	tests := []struct {
		name   string
		change func(r map[string]any)
		pos    string
		err    string
	}{
		{"plain value", func(r map[string]any) { r["status"] = 500 }, "t.yaml:1:1", "status: got 500; want 200"},
		{"operator under a header key", func(r map[string]any) { r["headers"] = map[string]any{"content-type": "text/html"} },
			"t.yaml:3:18", `headers.content-type: got "text/html"; want a string matching /json/`},
		{"query", func(r map[string]any) { r["body"].(map[string]any)["id"] = 7 }, "t.yaml:5:3", "body .id: got 7; want 1167860"},
		{"operator under a query", func(r map[string]any) { r["body"].(map[string]any)["items"] = []any{} }, "t.yaml:7:5", "body .items.length: got 0; want 2"},
		{"deep inside all", func(r map[string]any) {
			r["body"].(map[string]any)["items"] = []any{map[string]any{"qty": 2}, map[string]any{"qty": 1}}
		}, "t.yaml:10:9", "body .items[1] .qty: got 1; want a number greater than 1"},
		{"object key", func(r map[string]any) { r["body"].(map[string]any)["user"].(map[string]any)["name"] = "bob" }, "t.yaml:11:11", `body .user.name: got "bob"; want "ada"`},
		{"operator in an object key", func(r map[string]any) { r["body"].(map[string]any)["user"].(map[string]any)["role"] = "guest" },
			"t.yaml:11:29", `body .user.role: got "guest"; want one of ["admin","owner"]`},
		{"jq error", func(r map[string]any) { r["body"] = "text" }, "t.yaml:5:3", "body .id: jq .id: expected an object but got: string (\"text\")"},
		{"that", func(r map[string]any) { r["body"].(map[string]any)["status"] = "new" }, "t.yaml:12:7", `that: body.status == "paid": got false; want true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.change(r)
			f := e.Check(r, nil)
			if f == nil {
				t.Fatal("no failure")
			}
			if f.Error() != tt.err {
				t.Errorf("Error() = %q, want %q", f.Error(), tt.err)
			}
			if f.Pos.String() != tt.pos {
				t.Errorf("Pos = %s, want %s", f.Pos, tt.pos)
			}
		})
	}
}

func TestExpectationBasics(t *testing.T) {
	var nilE *expect.Expectation
	if !nilE.IsZero() || nilE.Check(map[string]any{}, nil) != nil {
		t.Error("a nil Expectation must be zero and hold")
	}
	e := compile(t, "{}")
	if !e.IsZero() {
		t.Error("an empty expect block is not zero")
	}
	e = compile(t, "that: true")
	if e.IsZero() {
		t.Error("an expect block with that: is zero")
	}
	e = compile(t, "\nstatus: 200")
	if e.IsZero() {
		t.Error("an expect block with a field is zero")
	}
	if e.Pos.String() != "t.yaml:2:1" {
		t.Errorf("Pos = %s, want t.yaml:2:1", e.Pos)
	}
}

func TestFailureError(t *testing.T) {
	tests := []struct {
		f    expect.Failure
		want string
	}{
		{expect.Failure{Path: "body .id", Got: "1", Want: "2"}, "body .id: got 1; want 2"},
		{expect.Failure{Got: "1", Want: "2"}, "got 1; want 2"},
		{expect.Failure{Path: "that", Msg: "boom", Got: "ignored"}, "that: boom"},
	}
	for _, tt := range tests {
		if got := tt.f.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestCompileErrors checks that each problem in an expect block is reported
// at its position, with a hint where one helps.
func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		pos  string
		msg  string
		hint string
	}{
		{"unknown operator beside a known one", "status: {gte: 200, lenght: 3}", "t.yaml:1:20",
			`status: unknown operator "lenght"`, `did you mean "length"? to match an object key named "lenght", query it as .lenght`},
		{"unknown operator far from any", "status: {eq: 200, zzzzzzzz: 3}", "t.yaml:1:19",
			`status: unknown operator "zzzzzzzz"`, "operators: absent, all, contains, eq,"},
		{"query mixed with operators", "body:\n  .id: 1\n  eq: 2\n", "t.yaml:3:3",
			`body: "eq" mixed with jq queries`, "use .eq to query a field"},
		{"query mixed with keys", "body: {.id: 1, name: x}", "t.yaml:1:16",
			`body: "name" mixed with jq queries`, "either jq queries"},
		{"bad jq", "body:\n  .items[: 1\n", "t.yaml:2:3", `body: bad jq query ".items["`, "jq syntax"},
		{"bad jq nested", "body: {.a: {.b |: 1}}", "t.yaml:1:13", `body .a: bad jq query ".b |"`, ""},
		{"bad regexp", `headers: {content-type: {match: "a("}}`, "t.yaml:1:33", `match: bad regular expression "a(": missing closing )`, "RE2"},
		{"match not a string", "body: {match: [a]}", "t.yaml:1:15", "match: want a regular expression string", ""},
		{"unknown result field", "stauts: 200", "t.yaml:1:1", `expect: unknown result field "stauts"`, `did you mean "status"?`},
		{"unknown result field far from any", "\nresponse: 200", "t.yaml:2:1", `expect: unknown result field "response"`, "this step's result has: body, headers, status, stdout, that"},
		{"in needs a list", "status: {in: 200}", "t.yaml:1:14", "in: want a list of values, got number 200", ""},
		{"gt with a quoted number", `status: {gt: "10"}`, "t.yaml:1:14", `gt: want a number, got "10"`, "without quotes"},
		{"lt with a list", "status: {lt: [1]}", "t.yaml:1:14", "lt: want a number", ""},
		{"unknown type", "body: {type: integer}", "t.yaml:1:14", `type: unknown type "integer"`, "one of null, boolean, number"},
		{"exists not a boolean", "body: {exists: yes}", "t.yaml:1:16", `exists: want true or false, got "yes"`, ""},
		{"exists null", "body: {exists: null}", "t.yaml:1:16", "exists: want true or false, got null", ""},
		{"absent not a boolean", "body: {.e: {absent: 1}}", "t.yaml:1:21", "absent: want true or false, got number 1", ""},
		{"expr syntax", `body: {expr: "value >"}`, "t.yaml:1:14", `expr: bad expression "value >"`, ""},
		{"expr not a string", `body: {expr: [a]}`, "t.yaml:1:14", "expr: want an expression string", ""},
		{"that syntax", "that: status ==", "t.yaml:1:7", `that: bad expression "status =="`, ""},
		{"that not a string", "that: [{a: 1}]", "t.yaml:1:8", "that: want an expression string, got a mapping", ""},
		{"schema not a schema", "body: {schema: {type: 5}}", "t.yaml:1:16", "schema: invalid JSON Schema", ""},
		{"template syntax in a value", "body: {.id: ((1 +))}", "t.yaml:1:15", `bad expression "1 +"`, ""},
		{"duplicate key", "body: {.id: 1, .id: 2}", "t.yaml:1:16", `body: duplicate key ".id"`, "first defined at line 1"},
		// A lone key that is a misspelt operator is not an object check.
		{"lone key named as elsewhere", `body: {.id: {matches: "^p"}}`, "t.yaml:1:14", `body .id: unknown operator "matches"`,
			`did you mean "match"? to check an object key named "matches", query it as .matches`},
		{"lone key with two letters swapped", "body: {.items: {lenght: 1}}", "t.yaml:1:17", `body .items: unknown operator "lenght"`, `did you mean "length"?`},
		{"lone key with a letter dropped", "body: {exsts: true}", "t.yaml:1:8", `body: unknown operator "exsts"`, `did you mean "exists"?`},
		{"lone key with a letter doubled", "body: {schemma: s.json}", "t.yaml:1:8", `body: unknown operator "schemma"`, `did you mean "schema"?`},
		{"length of a word", "body: {length: one}", "t.yaml:1:16", `length: want a whole number of at least 0, got "one"`, "length: {gte: 1}"},
		{"length of a quoted number", `body: {length: "3"}`, "t.yaml:1:16", `length: want a whole number of at least 0, got "3"`, ""},
		{"length below 0", "body: {length: -1}", "t.yaml:1:16", "length: want a whole number of at least 0, got number -1", ""},
		{"length not whole", "body: {length: 1.5}", "t.yaml:1:16", "length: want a whole number of at least 0, got number 1.5", ""},
		{"length a list", "body: {length: [1]}", "t.yaml:1:16", "length: want a whole number of at least 0, got a list", ""},
		{"length null", "body: {length: null}", "t.yaml:1:16", "length: want a whole number of at least 0, got null", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := compileErrs(t, tt.src)
			if len(errs) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(errs), errors.Join(asErrors(errs)...))
			}
			e := errs[0]
			if e.Pos.String() != tt.pos {
				t.Errorf("Pos = %s, want %s", e.Pos, tt.pos)
			}
			if !strings.HasPrefix(e.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to start with %q", e.Msg, tt.msg)
			}
			if !strings.Contains(e.Hint, tt.hint) {
				t.Errorf("Hint = %q, want it to contain %q", e.Hint, tt.hint)
			}
		})
	}
}

func asErrors(errs []*diag.Error) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// TestCompileReportsEveryProblem checks that compiling goes on after a
// problem, so validation lists them all at once.
func TestCompileReportsEveryProblem(t *testing.T) {
	src := `stauts: 200
body:
  .items[0].sku: {match: "("}
  .id: {gt: "1"}
  .user: {type: person}
headers: {content-type: {in: json}}
`
	errs := compileErrs(t, src)
	var got []string
	for _, e := range errs {
		got = append(got, e.Pos.String())
	}
	want := []string{"t.yaml:1:1", "t.yaml:3:26", "t.yaml:4:13", "t.yaml:5:17", "t.yaml:6:30"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems at %q, want %q:\n%v", got, want, errors.Join(asErrors(errs)...))
	}
}

// TestCompileNames checks that with the decoder's Vars set, expressions and
// templates may only read defined names, result fields in that:, and value
// in expr.
func TestCompileNames(t *testing.T) {
	tests := []struct {
		src  string
		pos  string // "" when it compiles
		msg  string
		hint string
	}{
		{src: "that: status == limit && len(body) > 0"},
		{src: `body: {expr: "value > limit"}`},
		{src: "body: {.n: ((limit))}"},
		{src: "body: {gt: ((limit))}"},
		{src: "that: staus == 200", pos: "t.yaml:1:7", msg: `that: undefined variable "staus"`, hint: `did you mean "status"?`},
		{src: "that: value == 1", pos: "t.yaml:1:7", msg: `that: undefined variable "value"`},
		{src: `body: {expr: "value > limt"}`, pos: "t.yaml:1:14", msg: `expr: undefined variable "limt"`, hint: `did you mean "limit"?`},
		{src: `body: {expr: "body > 1"}`, pos: "t.yaml:1:14", msg: `expr: undefined variable "body"`},
		{src: "body: {.n: ((limt))}", pos: "t.yaml:1:14", msg: `undefined variable "limt"`, hint: `did you mean "limit"?`},
		{src: `body: {contains: "x ((nope))"}`, pos: "t.yaml:1:23", msg: `undefined variable "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			d := decode.New("t.yaml", &diag.List{})
			d.Vars = map[string]bool{"limit": true}
			_, errs := compileWith(t, d, tt.src)
			if tt.pos == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected problems: %v", d.Errs)
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("got %d problems, want 1: %v", len(errs), d.Errs)
			}
			e := errs[0]
			if e.Pos.String() != tt.pos || !strings.HasPrefix(e.Msg, tt.msg) || !strings.Contains(e.Hint, tt.hint) {
				t.Errorf("problem = %s: %s (hint %q); want %s: %s (hint %q)", e.Pos, e.Msg, e.Hint, tt.pos, tt.msg, tt.hint)
			}
		})
	}
}

// TestAliases checks that YAML anchors and aliases work as operands.
func TestAliases(t *testing.T) {
	src := `status: {gte: &low 200, lt: 300}
body:
  .n: {gt: *low}
  .s: {match: &re '^a'}
  .t: {match: *re}
  .v: {expr: &e "value > 1"}
  .w: {expr: *e}
  .l: {in: &list [1, 2]}
  .m: {in: *list}
`
	e := compile(t, src)
	ok := map[string]any{"status": 204, "body": jsonValue(t, `{"n": 201, "s": "ab", "t": "ac", "v": 2, "w": 3, "l": 1, "m": 2}`)}
	if f := e.Check(ok, nil); f != nil {
		t.Errorf("Check: %v", f)
	}
	bad := map[string]any{"status": 204, "body": jsonValue(t, `{"n": 200, "s": "ab", "t": "ac", "v": 2, "w": 3, "l": 1, "m": 2}`)}
	if got, want := errText(e.Check(bad, nil)), "body .n: got 200; want a number greater than 200"; got != want {
		t.Errorf("Check = %q, want %q", got, want)
	}
}

func TestEqual(t *testing.T) {
	big1 := new(big.Int).Lsh(big.NewInt(1), 70)
	tests := []struct {
		a, b any
		want bool
	}{
		{1, 1, true},
		{1, 1.0, true},
		{1.0, 1, true},
		{1, 2, false},
		{0.1, 0.1, true},
		{1, "1", false},
		{"1", 1, false},
		{big1, new(big.Int).Lsh(big.NewInt(1), 70), true},
		{big1, 1180591620717411303424.0, true},
		{big1, 1, false},
		{nil, nil, true},
		{nil, 0, false},
		{0, nil, false},
		{nil, "", false},
		{false, nil, false},
		{true, true, true},
		{true, 1, false},
		{"a", "a", true},
		{"a", "A", false},
		{[]any{1, "a"}, []any{1.0, "a"}, true},
		{[]any{1}, []any{1, 1}, false},
		{[]any{}, []any(nil), true},
		{[]any{1}, map[string]any{"0": 1}, false},
		{map[string]any{"a": 1, "b": []any{nil}}, map[string]any{"b": []any{nil}, "a": 1.0}, true},
		{map[string]any{"a": 1}, map[string]any{"a": 1, "b": 2}, false},
		{map[string]any{"a": nil}, map[string]any{"b": nil}, false},
		{map[string]any{"a": 1}, map[string]any{"a": "1"}, false},
		{expr.Normalize(int64(5)), 5.0, true},
	}
	for _, tt := range tests {
		if got := expect.Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDiffFunc(t *testing.T) {
	if d := expect.Diff(1, 2); d != "" {
		t.Errorf("Diff of scalars = %q, want none", d)
	}
	if d := expect.Diff([]any{1}, "x"); d != "" {
		t.Errorf("Diff of a list and a scalar = %q, want none", d)
	}
	got := expect.Diff([]any{"a", "b", "c"}, []any{"a", "x", "c", "d"})
	// "c" becomes "c," once followed by "d": the diff shows the real lines.
	want := `--- want
+++ got
  [
    "a",
-   "b",
-   "c"
+   "x",
+   "c",
+   "d"
  ]`
	if got != want {
		t.Errorf("Diff =\n%s\nwant\n%s", got, want)
	}
}

// A lone key that is an ordinary word near an operator stays an object
// check: short operators, a changed letter and plurals are left alone.
func TestLoneKeysNearOperatorsAreObjectChecks(t *testing.T) {
	for _, src := range []string{
		"body: {id: 5}", "body: {note: x}", "body: {exp: 1}", "body: {types: []}", "body: {patch: 3}",
		"body: {scheme: https}", "body: {schemas: {}}", "body: {lengths: [1]}", "body: {matchs: 1, x: 2}",
		"body: {length: ((n))}", "body: {length: 0}", "body: {length: 3.0}", "body: {.matches: 1}",
	} {
		e := compile(t, src)
		if e.IsZero() {
			t.Errorf("%s: nothing to check", src)
		}
	}
	e := compile(t, "body: {.x: {patch: 3}}")
	if f := e.Check(map[string]any{"body": jsonValue(t, `{"x": {"patch": 3}}`)}, nil); f != nil {
		t.Errorf("an object with key patch: %v", f)
	}
}
