package process

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seamtest/seam/internal/expr"
)

// Sources name what a service is made of for --changed: the packages a go
// build compiles (its own and those it imports from the module), not the
// suite's whole folder it runs in.
func TestSourcesFollowTheGoPackagesABuildCompiles(t *testing.T) {
	mod := t.TempDir()
	write(t, filepath.Join(mod, "go.mod"), "module example.com/shop\n\ngo 1.22\n")
	write(t, filepath.Join(mod, "seam.yaml"), "")
	write(t, filepath.Join(mod, "orders", "main.go"), "package main\n\nimport _ \"example.com/shop/money\"\n\nfunc main() {}\n")
	write(t, filepath.Join(mod, "money", "money.go"), "package money\n")
	write(t, filepath.Join(mod, "mail", "main.go"), "package main\n\nfunc main() {}\n")
	s := &Spec{}
	s.Build.set = true
	s.Build.argv = []expr.Str{expr.Lit("go"), expr.Lit("build"), expr.Lit("-o"), expr.Lit("BIN"), expr.Lit("./orders")}
	got, err := s.Sources(context.Background(), mod, expr.Vars{})
	if err != nil {
		t.Fatal(err)
	}
	sep := string(filepath.Separator)
	for _, want := range []string{filepath.Join(mod, "orders"), filepath.Join(mod, "money") + sep, filepath.Join(mod, "go.mod")} {
		if !slices.Contains(got, want) {
			t.Errorf("sources %q lack %s", got, want)
		}
	}
	for _, p := range got {
		if p == mod || p == filepath.Join(mod, "mail") || p == filepath.Join(mod, "mail")+sep {
			t.Errorf("sources %q hold %s, which the build does not read", got, p)
		}
	}
}
