package engine_test

import (
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/engine"
)

// TestExecFailsOnANonZeroExit: a command that exits with another code than
// 0 fails its step unless expect: names exit_code (or a that: may).
func TestExecFailsOnANonZeroExit(t *testing.T) {
	s := loadSuite(t, `name: s
tests:
  - name: bare failure
    steps:
      - exec: ["false"]
  - name: output checked, exit not
    steps:
      - exec: [sh, -c, "echo hi; exit 3"]
        expect: {stdout: "hi\n"}
  - name: the failure is expected
    steps:
      - exec: [sh, -c, "exit 3"]
        expect: {exit_code: 3}
  - name: a that may speak of it
    steps:
      - exec: [sh, -c, "exit 2"]
        expect: {that: ["exit_code == 2"]}
  - name: success
    steps:
      - exec: ["true"]
`)
	rec, counts := run(t, s, engine.Options{}, "")
	if counts.Failed != 2 || counts.Passed != 3 {
		t.Fatalf("counts %+v", counts)
	}
	ends := rec.ends()
	for name, code := range map[string]string{"bare failure": "exited with code 1; a command that may do so says it: expect: {exit_code: 1}",
		"output checked, exit not": "exited with code 3"} {
		if f := ends[name].Failure; f == nil || !strings.Contains(f.Message, code) {
			t.Errorf("%s: %+v", name, f)
		}
	}
}
