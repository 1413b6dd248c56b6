package suite_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/suite"
)

func loadText(t *testing.T, text string, opts suite.Options) (*suite.Suite, string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "seam.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := builtin.New()
	t.Cleanup(reg.Close)
	opts.Steps, opts.Ops, opts.Services, opts.Probes = reg.Steps, reg.Ops, reg.Services, reg.Probes
	s, err := suite.Load(file, opts)
	return s, file, err
}

const typedVars = `vars:
  zip: "01234"
  n: 5
  ratio: 0.5
  debug: false
  tmpl: ((n))
  none: null
tests:
  - name: t
    steps: [{exec: [true]}]
`

// Values from outside the suite are strings unless the suite declares
// the var a number or a boolean.
func TestVarValueTypes(t *testing.T) {
	s, _, err := loadText(t, typedVars, suite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, raw string
		want      any
	}{
		{"zip", "01234", "01234"},
		{"undeclared", "01234", "01234"},
		{"undeclared", "0x1F", "0x1F"},
		{"undeclared", "1.0", "1.0"},
		{"undeclared", "true", "true"},
		{"tmpl", "7", "7"},
		{"none", "7", "7"},
		{"n", "01234", 1234},
		{"n", "0x1F", 31},
		{"n", "0o17", 15},
		{"n", "-3", -3},
		{"n", "2.5", 2.5},
		{"ratio", "1", 1},
		{"ratio", "1e3", 1000.0},
		{"debug", "true", true},
		{"debug", "FALSE", false},
	} {
		got, err := s.VarValue(tc.name, tc.raw)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("VarValue(%s, %q) = %T %v, %v; want %T %v", tc.name, tc.raw, got, got, err, tc.want, tc.want)
		}
	}
}

// A value that does not parse as the declared type is a load error at the
// declaration.
func TestVarValueMismatch(t *testing.T) {
	for _, tc := range []struct {
		vars     map[string]string
		line     int
		contains string
	}{
		{map[string]string{"n": "five"}, 3, `n is declared a number here, and "five" is not one`},
		{map[string]string{"n": "0b101"}, 3, `"0b101" is not one`},
		{map[string]string{"debug": "yes"}, 5, `debug is declared a boolean here, and "yes" is not one`},
	} {
		_, file, err := loadText(t, typedVars, suite.Options{Vars: tc.vars})
		var list *diag.List
		if !errors.As(err, &list) || len(list.Errors()) != 1 {
			t.Fatalf("%v: Load = %v, want one problem", tc.vars, err)
		}
		e := list.Errors()[0]
		if e.Pos.File != file || e.Pos.Line != tc.line || e.Pos.Col != 3 || !strings.Contains(e.Error(), tc.contains) {
			t.Errorf("%v: got %v; want at %d:3 containing %q", tc.vars, e, tc.line, tc.contains)
		}
	}
}

// A --var the suite does not declare is set all the same (a template may
// read a name only --var gives) but warned of, with the declared name it
// is nearest to, and never with its value, which may be a secret.
func TestUndeclaredVarIsWarned(t *testing.T) {
	text := "vars: {max_transfer: 5}\ntests:\n  - name: t\n    steps: [{exec: [echo, ((max_transfer)) ((token))]}]\n"
	s, _, err := loadText(t, text, suite.Options{Vars: map[string]string{"max_transfr": "10", "token": "s3cret", "max_transfer": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range s.Warnings {
		got = append(got, w.Error())
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], `--var max_transfr: the suite's vars: declare no "max_transfr"`) ||
		!strings.Contains(got[0], `did you mean "max_transfer", declared at `) || !strings.HasPrefix(got[1], "--var token:") {
		t.Errorf("warnings:\n%s", strings.Join(got, "\n"))
	}
	if strings.Contains(strings.Join(got, "\n"), "s3cret") {
		t.Errorf("a warning shows the value: %s", got)
	}
	_, _, err = loadText(t, text, suite.Options{Vars: map[string]string{"max_transfer": "3"}})
	if err == nil {
		t.Fatal("((token)) is defined without --var token")
	}
	s, _, err = loadText(t, strings.Replace(text, " ((token))", "", 1), suite.Options{Vars: map[string]string{"max_transfer": "3"}})
	if err != nil || len(s.Warnings) != 0 {
		t.Errorf("a declared --var: %v, warnings %v", err, s.Warnings)
	}
}
