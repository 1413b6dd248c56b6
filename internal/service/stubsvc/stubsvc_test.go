package stubsvc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
)

func start(t *testing.T, src string) *instance {
	t.Helper()
	n, err := decode.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	spec := Kind{}.Decode(decode.New(filepath.Join(t.TempDir(), "seam.yaml"), &errs), decode.Resolve(n))
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	inst, err := spec.Start(context.Background(), &service.StartEnv{Info: map[string]any{"port": 0}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Stop(context.Background()) })
	return inst.(*instance)
}

func get(i *instance, path string) int {
	w := httptest.NewRecorder()
	i.Server().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w.Code
}

// An unmatched request fails the test even when the journal has since
// dropped it.
func TestUnmatchedRequestFailsTheTestAfterTheJournalOverflows(t *testing.T) {
	i := start(t, "journal: 5\nroutes:\n  - when: GET /ok\n    then: {status: 200}\n")
	since := time.Now()
	if c := get(i, "/typo"); c != 404 {
		t.Fatalf("/typo: %d", c)
	}
	for range 10 {
		get(i, "/ok")
	}
	if i.Server().Journal().Dropped() == 0 {
		t.Fatal("the journal did not overflow")
	}
	err := i.CheckTest(since)
	if err == nil || !strings.Contains(err.Error(), "1 request(s) matched no stub mapping") || !strings.Contains(err.Error(), "GET /typo") {
		t.Fatalf("CheckTest: %v", err)
	}
	// A new test starts clean.
	i.Reset(context.Background())
	if err := i.CheckTest(time.Now()); err != nil {
		t.Errorf("after a reset: %v", err)
	}
}

// Every unmatched request counts; the first few are shown, the rest
// counted.
func TestUnmatchedRequestsAreAllCounted(t *testing.T) {
	i := start(t, "journal: 3\nroutes:\n  - when: GET /ok\n    then: {status: 200}\n")
	since := time.Now()
	for n := range 20 {
		get(i, "/typo/"+string(rune('a'+n)))
	}
	err := i.CheckTest(since)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "20 request(s) matched no stub mapping") || !strings.Contains(msg, "GET /typo/a") ||
		strings.Contains(msg, "GET /typo/t") || !strings.Contains(msg, "and 15 more") {
		t.Errorf("CheckTest:\n%s", msg)
	}
}

// An unmatched request that came just as the test began may be the test
// before's (a background call still on its way): the failure says when it
// came; one later in the test is not marked so.
func TestUnmatchedRequestSaysWhenItCame(t *testing.T) {
	i := start(t, "routes:\n  - when: GET /ok\n    then: {status: 200}\n")
	if err := i.CheckTest(time.Now()); err != nil { // the test before ends
		t.Fatal(err)
	}
	since := time.Now()
	get(i, "/webhook-ack")
	err := i.CheckTest(since)
	if err == nil || !strings.Contains(err.Error(), "GET /webhook-ack (came ") ||
		!strings.Contains(err.Error(), "after this test began: a call the test before set off, still on its way?)") {
		t.Fatalf("CheckTest: %v", err)
	}
	i.Reset(context.Background())
	since = time.Now().Add(-time.Second) // the next test began a second ago
	get(i, "/late")
	if err := i.CheckTest(since); err == nil || strings.Contains(err.Error(), "set off") {
		t.Errorf("a request a second into the test: %v", err)
	}
}
