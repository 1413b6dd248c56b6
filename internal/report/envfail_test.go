package report_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/report"
)

// envFailedRun is a part whose environment could not start: every test
// skipped, the reason whole in the run_end.
func envFailedRun(shard string) []report.Event {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	why := "seam.yaml:6:3: service \"api\": not ready after 3s\n  last 1 log lines of api:\n    | panic: no config \x01"
	return []report.Event{
		{Time: t0, Type: report.RunStart, Suite: "shop", Seed: 42, Total: 1, Shard: shard},
		{Time: t0, Type: report.TestEnd, Test: "t " + shard, Status: report.Skipped, Message: "not run: the environment could not start"},
		{Time: t0, Type: report.RunEnd, Suite: "shop", Status: report.Failed, Message: report.EnvFailed + ": " + strings.Split(why, "\n")[0],
			EnvError: why, Counts: &report.Counts{Skipped: 1}},
	}
}

// A run whose environment failed has a testcase in error with the reason
// and the service's last log lines (JUnit used to show only skipped tests,
// errors="0", and the reason nowhere), valid against the schema; merged
// logs keep each part's reason.
func TestJUnitOfEnvFailure(t *testing.T) {
	render := func(events []report.Event) string {
		c := report.NewCollector()
		for _, e := range events {
			c.Event(e)
		}
		var buf bytes.Buffer
		j := report.NewJUnit(&buf)
		j.Hostname = "ci-host"
		if err := j.Finish(c.Run()); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	got := render(envFailedRun(""))
	for _, want := range []string{`errors="1"`, `skipped="1"`, `tests="2"`, `<testcase name="environment" classname="shop"`,
		`type="environment"`, `message="the environment could not start: seam.yaml:6:3: service &#34;api&#34;: not ready after 3s"`,
		"| panic: no config \uFFFD", "<system-err><![CDATA[the environment could not start:\nseam.yaml:6:3"} {
		if !strings.Contains(got, want) {
			t.Errorf("JUnit lacks %s:\n%s", want, got)
		}
	}
	if xmllint, err := exec.LookPath("xmllint"); err == nil {
		file := filepath.Join(t.TempDir(), "junit.xml")
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", "--schema", schemaPath(t), file).CombinedOutput(); err != nil {
			t.Fatalf("xmllint: %v\n%s", err, out)
		}
	}
	// An older log has the reason's first line only, in the message.
	old := envFailedRun("")
	old[2].EnvError = ""
	if got := render(old); !strings.Contains(got, `type="environment"`) {
		t.Errorf("a log without env_error: no environment error:\n%s", got)
	}

	m, err := report.Merge([][]report.Event{envFailedRun("1/2"), envFailedRun("2/2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	end := m.Events[len(m.Events)-1]
	if !strings.HasPrefix(end.EnvError, "1/2: seam.yaml") || !strings.Contains(end.EnvError, "\n2/2:     | panic") {
		t.Errorf("merged env_error:\n%s", end.EnvError)
	}
	if got := render(m.Events); strings.Count(got, `type="environment"`) != 1 {
		t.Errorf("merged JUnit: want one environment error:\n%s", got)
	}
	parts := []string{render(envFailedRun("1/2")), render(envFailedRun("2/2"))}
	if !strings.Contains(parts[0], `name="environment of part 1/2"`) {
		t.Errorf("a part's environment case is not named for the part (its reports would not merge):\n%s", parts[0])
	}
	if why := report.JUnitEnvFailed([][]byte{[]byte(parts[0]), []byte(parts[1])}); len(why) != 2 {
		t.Errorf("JUnitEnvFailed: %q", why)
	}
}
