package expr_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/expr"
)

// draw evaluates each source in order against the builtins of seed.
func draw(t *testing.T, seed uint64, srcs ...string) []any {
	t.Helper()
	vars := expr.Builtins(seed)
	defined := map[string]bool{}
	for _, n := range expr.BuiltinNames {
		defined[n] = true
	}
	var out []any
	for _, src := range srcs {
		p, err := expr.Compile(src, defined)
		if err != nil {
			t.Fatalf("Compile(%q): %v", src, err)
		}
		v, err := p.Eval(vars)
		if err != nil {
			t.Fatalf("Eval(%q): %v", src, err)
		}
		out = append(out, v)
	}
	return out
}

func TestBuiltinsDeterministic(t *testing.T) {
	srcs := []string{"randInt(1, 1000000)", "randString(16)", "uuid()", "randInt(1, 1000000)", "uuid()"}
	a := draw(t, 42, srcs...)
	b := draw(t, 42, srcs...)
	c := draw(t, 43, srcs...)
	for i := range srcs {
		if a[i] != b[i] {
			t.Errorf("%s: seed 42 gave %v then %v", srcs[i], a[i], b[i])
		}
		if a[i] == c[i] {
			t.Errorf("%s: seeds 42 and 43 both gave %v", srcs[i], a[i])
		}
	}
	if a[0] == a[3] && a[2] == a[4] {
		t.Errorf("successive draws repeat: %v", a)
	}
}

func TestBuiltinsShapes(t *testing.T) {
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	strRE := regexp.MustCompile(`^[a-z0-9]{12}$`)
	for seed := uint64(0); seed < 50; seed++ {
		got := draw(t, seed, "randInt(3, 5)", "randInt(7, 7)", "randString(12)", "uuid()", "randString(0)")
		if n, ok := got[0].(int); !ok || n < 3 || n > 5 {
			t.Errorf("seed %d: randInt(3, 5) = %#v", seed, got[0])
		}
		if got[1] != 7 {
			t.Errorf("seed %d: randInt(7, 7) = %#v", seed, got[1])
		}
		if s, _ := got[2].(string); !strRE.MatchString(s) {
			t.Errorf("seed %d: randString(12) = %#v", seed, got[2])
		}
		if s, _ := got[3].(string); !uuidRE.MatchString(s) {
			t.Errorf("seed %d: uuid() = %#v, not a version 4 UUID", seed, got[3])
		}
		if got[4] != "" {
			t.Errorf("seed %d: randString(0) = %#v", seed, got[4])
		}
	}
}

func TestBuiltinsRandIntBounds(t *testing.T) {
	p, err := expr.Compile("randInt(10, 1)", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Eval(expr.Builtins(1))
	if err == nil {
		t.Fatal("randInt(10, 1): no error")
	}
	if !strings.Contains(err.Error(), "randInt(10, 1): the upper bound is below the lower") {
		t.Errorf("error = %q", err)
	}
}

func TestBuiltinsEnvAndService(t *testing.T) {
	t.Setenv("SEAM_EXPR_TEST", "on")
	vars := expr.Builtins(1)
	p, err := expr.Compile(`env.SEAM_EXPR_TEST`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := p.Eval(vars); err != nil || v != "on" {
		t.Errorf("env.SEAM_EXPR_TEST = %#v, %v", v, err)
	}
	p, err = expr.Compile(`service("db")`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(vars); err == nil || !strings.Contains(err.Error(), "declares no services") {
		t.Errorf(`service("db") err = %v`, err)
	}
	for _, name := range expr.BuiltinNames {
		if _, ok := vars[name]; !ok {
			t.Errorf("BuiltinNames lists %q but Builtins does not define it", name)
		}
	}
	if len(vars) != len(expr.BuiltinNames) {
		t.Errorf("Builtins defines %d names, BuiltinNames lists %d", len(vars), len(expr.BuiltinNames))
	}
}

func TestBuiltinsConcurrent(t *testing.T) {
	vars := expr.Builtins(7)
	p, err := expr.Compile("randString(8) + uuid()", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 100 {
				if _, err = p.Eval(vars); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
