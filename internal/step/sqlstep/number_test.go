package sqlstep_test

import (
	"strings"
	"testing"
)

// DECIMAL and NUMERIC come back without losing a digit, so an expectation
// one digit off fails; bigint UNSIGNED beyond int64 is a number. A YAML
// number with a fraction is the float64 nearest what was written, and
// equals the exact value it stands for.
const numberSuite = `name: numbers
services:
  pg:
    postgres: {database: app}
  my:
    mariadb: {database: shop}
tests:
  - name: pg exact
    steps:
      - sql: {service: pg, query: "select 12345678901234567.89::numeric(20,2) as d, 9.99::numeric(5,2) as p, 10.50::numeric(5,2) as h, -0.05::numeric as neg, 123456789012345678901234::numeric as big, 1e30::numeric as e, 9223372036854775807::bigint as b, 0.000000000000000000001::numeric as tiny, array[1.5, 12345678901234567.89]::numeric[] as arr"}
        expect: {rows: [{d: 12345678901234567.89, p: 9.99, h: 10.5, neg: -0.05, big: 123456789012345678901234, e: 1000000000000000000000000000000, b: 9223372036854775807, tiny: 0.000000000000000000001, arr: [1.5, 12345678901234567.89]}]}
      - sql: {service: pg, query: "select 12345678901234567.89::numeric(20,2) as d"}
        capture: {d: ".rows[0].d"}
      - sql: {service: pg, query: "select '((d))' as text"}
        expect: {rows: [{text: "12345678901234567.89"}]}
  - name: pg one digit off
    steps:
      - sql: {service: pg, query: "select 12345678901234567.89::numeric(20,2) as d"}
        expect: {rows: [{d: 12345678901234568}]}
  - name: pg one digit off, ordered
    steps:
      - sql: {service: pg, query: "select 12345678901234567.89::numeric(20,2) as d"}
        expect: {rows: {".[0].d": {gte: 12345678901234568}}}
  - name: mariadb exact
    steps:
      - sql: {service: my, query: "select cast(12345678901234567.89 as decimal(20,2)) as d, cast(9.99 as decimal(5,2)) as p, cast(-0.5 as decimal(5,2)) as neg, cast(0 as decimal(5,2)) as z, cast(123456789012345678901234 as decimal(30,0)) as big, cast(18446744073709551615 as unsigned) as u, 9223372036854775807 as b"}
        expect: {rows: [{d: 12345678901234567.89, p: 9.99, neg: -0.5, z: 0, big: 123456789012345678901234, u: 18446744073709551615, b: 9223372036854775807}]}
      - sql: {service: my, query: "select cast(12345678901234567.89 as decimal(20,2)) as d"}
        capture: {d: ".rows[0].d"}
      - sql: {service: my, query: "select '((d))' as text"}
        expect: {rows: [{text: "12345678901234567.89"}]}
  - name: mariadb one digit off
    steps:
      - sql: {service: my, query: "select cast(12345678901234567.89 as decimal(20,2)) as d"}
        expect: {rows: [{d: 12345678901234568}]}
  - name: mariadb unsigned one off
    steps:
      - sql: {service: my, query: "select cast(18446744073709551615 as unsigned) as u"}
        expect: {rows: [{u: 18446744073709551614}]}
`

func TestNumbersAreExact(t *testing.T) {
	needServers(t)
	got, out := runSuite(t, map[string]string{"seam.yaml": numberSuite})
	for _, name := range []string{"pg exact", "mariadb exact"} {
		if e := got[name]; e.Status != "passed" {
			t.Errorf("%q: %+v; want passed\n%s", name, e, out)
		}
	}
	for name, want := range map[string]string{
		"pg one digit off":          `got [{"d":12345678901234567.89}]; want [{"d":12345678901234568}]`,
		"pg one digit off, ordered": `got 12345678901234567.89`,
		"mariadb one digit off":     `got [{"d":12345678901234567.89}]; want [{"d":12345678901234568}]`,
		"mariadb unsigned one off":  `got [{"u":18446744073709551615}]; want [{"u":18446744073709551614}]`,
	} {
		if e := got[name]; e.Status != "failed" || !strings.Contains(e.Message, want) {
			t.Errorf("%q: %+v; want failed, saying %q", name, e, want)
		}
	}
}
