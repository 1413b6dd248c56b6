package main_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// planted are the secrets testdata/secrets plants: in a test's request
// line, headers and JSON body, a stub's answer, a job's log lines and its
// call through the wire (which the stub logs), and a suite pattern.
var planted = []string{"SECRET-QUERY-1", "SECRET-BODY-2", "SECRET-STUB-3", "SECRET-LOG-4",
	"SECRET-HEADER-5abc", "SECRET-HEADER-6", "SECRET-RESP-7", "cust-123456"}

// generated matches what seam generates per run: database passwords and
// the control token (32 hex digits).
var generated = regexp.MustCompile(`\b[0-9a-f]{32}\b`)

// noSecrets fails t for each planted or generated secret in text.
func noSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range planted {
		if strings.Contains(text, s) {
			t.Errorf("%s holds the secret %s", where, s)
		}
	}
	if m := generated.FindString(text); m != "" {
		t.Errorf("%s holds a generated secret %s", where, m)
	}
}

// filesUnder reads every file under dir, keyed by path.
func filesUnder(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			out[p] = string(data)
		}
		return nil
	})
	return out
}

// TestSecretsAreMaskedEverywhere runs a suite that plants secrets in every
// kind of place and greps every output: the console, the JUnit and JSON
// reports and the services' log files. The masked forms are there (so
// the secrets did reach each output, as ***), the secrets are not.
func TestSecretsAreMaskedEverywhere(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	out := t.TempDir()
	junit, events := filepath.Join(out, "junit.xml"), filepath.Join(out, "events.jsonl")
	r := seamEnv(t, env, "run", "testdata/secrets", "--report", "junit="+junit, "--report", "json="+events)
	if r.code != 1 || !strings.Contains(r.stdout, "0 passed, 2 failed") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	outputs := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
	for p, text := range filesUnder(t, out) {
		outputs[p] = text
	}
	logs := filesUnder(t, filepath.Join(state, "logs"))
	if len(logs) < 3 {
		t.Fatalf("service logs: %v", logs)
	}
	for p, text := range logs {
		outputs[p] = text
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, st.Mode())
		}
	}
	for where, text := range outputs {
		noSecrets(t, where, text)
	}
	all := func(files map[string]string) string {
		var b strings.Builder
		for _, s := range files {
			b.WriteString(s)
		}
		return b.String()
	}
	// Each output got the secrets, masked.
	for where, wants := range map[string][]string{
		r.stdout:       {"/login?token=***&page=2", "Authorization: ***", "X-Api-Key: ***", `"password":"***"`, `"note":"***"`, `"access_token":"***"`, "postgres://seam:***@", "password=***", "pw ***"},
		outputs[junit]: {"token=***", `"password":"***"`, "postgres://seam:***@"},
		outputs[events]: {"api_key=***", "token=***", "config password=***", "postgres://seam:***@",
			// the client's call through the wire, whole: its request line and headers
			`"request":"GET /login?user=ann&api_key=***\nHost: `, "Authorization: ***", "Cookie: ***", `"response_body":"{\"access_token\":\"***\"`},
		all(logs): {"api_key=***", "config password=***", "postgres://seam:***@", `"access_token":"***"`},
	} {
		for _, w := range wants {
			if !strings.Contains(where, w) {
				t.Errorf("an output lacks %q:\n%s", w, where)
			}
		}
	}
	assertClean(t, state)
}

// TestControlAPIsWantTheToken: under seam up, the Toxiproxy-compatible API
// and the stub's admin API refuse requests without the run's token and
// serve the URLs seam up prints (the token in them, as Toxiproxy's Go
// client and curl send it); the stub's journal listing is masked; seam
// up's log holds no secret.
func TestControlAPIsWantTheToken(t *testing.T) {
	needPostgres(t)
	env, state := isolated(t)
	u := startUp(t, env, "", "testdata/secrets")
	table := u.output()
	tok := regexp.MustCompile(`SEAM_CONTROL_TOKEN=([0-9a-f]{32})`).FindStringSubmatch(table)
	api := regexp.MustCompile(`(?m)^  api +(http://\S+)$`).FindStringSubmatch(table)
	if tok == nil || api == nil {
		t.Fatalf("seam up's table lacks the token or the stub:\n%s", table)
	}
	get := func(url, header string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if header != "" {
			req.Header.Set("X-Seam-Token", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(api[1]+"/__admin/requests", ""); code != 401 || !strings.Contains(body, "SEAM_CONTROL_TOKEN") {
		t.Errorf("the stub's admin API without the token: %d %s", code, body)
	}
	if code, _ := get(api[1]+"/__admin/requests", "wrong"); code != 401 {
		t.Errorf("the stub's admin API with a wrong token: %d", code)
	}
	code, body := get(api[1]+"/__admin/requests", tok[1])
	if code != 200 || !strings.Contains(body, "api_key") || !strings.Contains(body, "***") {
		t.Errorf("the stub's admin API with the token: %d %s", code, body)
	}
	noSecrets(t, "the stub's journal listing", body)
	if !strings.Contains(body, `"sid":"***"`) {
		t.Errorf("the stub's journal listing does not show the client's cookie masked: %s", body)
	}
	// Through the URL with the token in it, as Toxiproxy's Go client
	// sends it (client.NewClient(url) joins paths to it and lets
	// net/http send the user part as Basic authentication).
	base := strings.Replace(api[1], "http://", "http://seam:"+tok[1]+"@", 1)
	if code, _ := get(base+"/__admin/mappings", ""); code != 200 {
		t.Errorf("the stub's admin API through a URL with the token: %d", code)
	}
	// The Toxiproxy-compatible API: the URL seam up prints carries the
	// token; without it, 401.
	wire := regexp.MustCompile(`\(wire\) +(http://seam:[0-9a-f]{32}@(\S+))`).FindStringSubmatch(table)
	if wire == nil {
		t.Fatalf("seam up's table lacks the Toxiproxy API with its token:\n%s", table)
	}
	if code, _ := get("http://"+wire[2]+"/proxies", ""); code != 401 {
		t.Errorf("the Toxiproxy API without the token: %d", code)
	}
	if code, body := get(wire[1]+"/proxies", ""); code != 200 || !strings.Contains(body, "client→api") {
		t.Errorf("the Toxiproxy API through its URL: %d %s", code, body)
	}
	// Anything else of the stub is open, as it must be for the system.
	if code, _ := get(api[1]+"/login", ""); code != 200 {
		t.Errorf("the stub itself: %d", code)
	}
	if !strings.Contains(table, "postgres://seam:") || generated.FindString(regexp.MustCompile(`(?m)^  db +postgres:.*$`).FindString(table)) == "" {
		t.Errorf("seam up's table should print the database URL with its password (the user asked for it):\n%s", table)
	}
	logs := filesUnder(t, filepath.Join(state, "logs"))
	found := false
	for p, text := range logs {
		found = found || filepath.Base(p) == "up.log"
		noSecrets(t, p, text)
	}
	if !found {
		t.Errorf("no up.log in %v", logs)
	}
	if r := seamEnv(t, env, "down", "testdata/secrets"); r.code != 0 {
		t.Errorf("seam down: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	u.waitEnd(t)
	assertClean(t, state)
}
