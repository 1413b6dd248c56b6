package main_test

import (
	"strings"
	"testing"
)

// TestHandshakeErrorsAreNoCause runs testdata/handshake, whose app uses
// real clients: go-redis v9 on a new connection per request (CLIENT
// SETINFO and MAINT_NOTIFICATIONS, which Debian's Redis 7.0 refuses and
// go-redis ignores) and TxPipelined (MULTI … EXEC in one write); pgx with
// parameters an integer beyond 2^53, NULL and the text 'NULL'. A failure
// on the app's path and one off it are each grouped under their own
// assertion, with the handshake's errors listed as unlikely causes; a
// before: check holds in the order the transaction was sent; params are
// exact.
func TestHandshakeErrorsAreNoCause(t *testing.T) {
	needPostgres(t)
	needRedis(t)
	env, state := isolated(t)
	r := seamEnv(t, env, "run", "testdata/handshake")
	if r.code != 1 || !strings.Contains(r.stdout, "2 passed, 2 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"PASS a pipelined transaction is checked in the order it was sent",
		"PASS parameters keep their exact values",
		"  1 test failed at testdata/handshake/seam.yaml:31:18: status: got 200; want 201:\n",
		"  1 test failed at testdata/handshake/seam.yaml:38:18: reply: got \"hello\"; want \"bonjour\":\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "failed at app→cache") || strings.Contains(r.stdout, "same cause as") {
		t.Errorf("a handshake error is blamed:\n%s", r.stdout)
	}
	for _, name := range []string{"FAIL the client's ignored handshake errors are not blamed, on the path", "FAIL nor off it"} {
		_, failure, _ := strings.Cut(r.stdout, name)
		failure, _, _ = strings.Cut(failure, "logs during the test:")
		if !strings.Contains(failure, "also suspicious, but unlikely to have caused this failure:\n      1. app→cache | REDIS CLIENT") ||
			!strings.Contains(failure, "the client went past") || strings.Contains(failure, "likeliest cause first") {
			t.Errorf("%s:%s", name, failure)
		}
	}
	assertClean(t, state)
}
