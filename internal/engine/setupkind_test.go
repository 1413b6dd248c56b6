package engine_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/engine"
	"github.com/seamtest/seam/internal/report"
)

// A failing expectation in setup: fails the test as an error, not an
// assertion (docs/suite.md), and the failure says the step was setup's;
// the same expectation in steps: stays an assertion.
func TestSetupFailureIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	s := loadSuite(t, `
tests:
  - name: setup fails
    setup:
      - http: GET ((base))/seed
        expect: {status: 201}
    steps:
      - http: GET ((base))/
  - name: step fails
    steps:
      - http: GET ((base))/
        expect: {status: 201}
`)
	rec, counts := run(t, s, engine.Options{}, srv.URL)
	if counts.Failed != 2 {
		t.Fatalf("counts = %+v", counts)
	}
	ends := rec.ends()
	if f := ends["setup fails"].Failure; f == nil || f.Kind != "error" || f.Phase != "setup" || !strings.HasPrefix(f.StepText(), `setup step "`) {
		t.Errorf("setup fails: %+v", f)
	}
	if f := ends["step fails"].Failure; f == nil || f.Kind != "assertion" || f.Phase != "" {
		t.Errorf("step fails: %+v", f)
	}
	var j strings.Builder
	c := report.NewCollector()
	for _, e := range rec.events {
		c.Event(e)
	}
	if err := report.NewJUnit(&j).Finish(c.Run()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(j.String(), `: in setup: status: got 200; want 201" type="error"`) || !strings.Contains(j.String(), `setup step "GET ((base))/seed"`) {
		t.Errorf("JUnit: the setup failure is not an error naming the setup step:\n%s", j.String())
	}
}
