package main_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// A profile changes a var and a process's environment; values given on
// the command line keep their type: a string unless the suite declares
// the var a number.
func TestProfilesAndTypedVars(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--var", "zip=01234", "--var", "count=0x1F"}, nil},
		{[]string{"--profile", "grpc", "--var", "zip=01234"}, nil},
	} {
		args := append([]string{"run", "testdata/modes"}, tc.args...)
		r := seam(t, args...)
		if r.code != 0 {
			t.Fatalf("seam %s: exit %d, want 0\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	// The expectations are strict: zip sent as the number 1234 or 668
	// fails them.
	r := seam(t, "run", "testdata/modes", "--var", "zip=01234", "--filter", "type")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "values keep their type") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Without the profile, the process has no TRANSPORT, so a check for
	// it fails: the override is what set it.
	r = seam(t, "run", "testdata/modes", "--var", "mode=grpc", "--filter", "mode")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, `got ""; want "h2"`) {
		t.Fatalf("--var mode=grpc without the profile: exit %d, want 1 with TRANSPORT unset\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestVarOfTheWrongType(t *testing.T) {
	r := seam(t, "run", "testdata/modes", "--var", "count=many")
	if r.code != 2 || !strings.Contains(r.stderr, `seam.yaml:7:3: --var count=many: count is declared a number here, and "many" is not one`) {
		t.Fatalf("exit %d, want 2 naming the declaration\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// seam validate reports what run would only find when it starts: unknown
// services in templates, steps on services of the wrong kind, missing
// init files and what each profile breaks, all at once, with exit 2.
func TestValidateFindsWhatRunWould(t *testing.T) {
	for _, fixture := range []string{"template-services", "step-service-kinds", "init-files", "profiles"} {
		file := "../../testdata/invalid/" + fixture + ".yaml"
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r := seam(t, "validate", file)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", fixture, r.code, r.stderr)
		}
		for _, m := range regexp.MustCompile(`(?m)^# want: (\d+:\d+): (.*)$`).FindAllStringSubmatch(string(data), -1) {
			want := fixture + ".yaml:" + m[1] + ": "
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr lacks a problem at %s (%s):\n%s", fixture, m[1], m[2], r.stderr)
			}
		}
	}
}
