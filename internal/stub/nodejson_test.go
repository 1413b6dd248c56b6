package stub

import (
	"testing"

	"github.com/seamtest/seam/internal/decode"
)

// A JSON body written in YAML (a route's then.json, a WireMock jsonBody
// in a .yaml file) reads numbers and booleans by YAML 1.2's core schema.
func TestNodeJSONCoreSchema(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"01234", "1234"},
		{"0x1F", "31"},
		{"0o17", "15"},
		{"1.5", "1.5"},
		{"123456789012345678901234", "123456789012345678901234"},
		{"True", "true"},
		{"yes", `"yes"`},
		{`"01234"`, `"01234"`},
		{".inf", `".inf"`},
		{"[01, FALSE, ~]", "[1,false,null]"},
	} {
		n, err := decode.Parse([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeJSON(n); got != tc.want {
			t.Errorf("%s: got %s; want %s", tc.in, got, tc.want)
		}
	}
}
