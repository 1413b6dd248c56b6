package cli_test

import (
	"os"
	"testing"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/cli"
	"github.com/seamtest/seam/internal/stub"
)

// TestDocsAreCurrent fails when the reference in docs/ no longer matches
// the registries it is generated from. Regenerate with:
//
//	go run ./cmd/seam help steps > docs/steps.md
//	go run ./cmd/seam help expect > docs/expect.md
//	go run ./cmd/seam help services > docs/services.md
//	go run ./cmd/seam help stubs > docs/stubs.md
//	go run ./cmd/seam help suite > docs/suite.md
//	go run ./cmd/seam help commands > docs/commands.md
func TestDocsAreCurrent(t *testing.T) {
	reg := builtin.New()
	defer reg.Close()
	for file, want := range map[string]string{
		"../../docs/steps.md":    cli.StepsHelp(reg),
		"../../docs/expect.md":   cli.ExpectHelp(reg),
		"../../docs/services.md": cli.ServicesHelp(reg),
		"../../docs/stubs.md":    stub.Help(),
		"../../docs/suite.md":    cli.SuiteHelp(),
		"../../docs/commands.md": cli.CommandsHelp(),
	} {
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s is stale; regenerate it with seam help (see this test's comment)", file)
		}
	}
}
