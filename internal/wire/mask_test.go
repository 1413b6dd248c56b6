package wire

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSecretsAreMaskedInRecordedHTTP(t *testing.T) {
	p, s := proxied(t, "web→auth", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		// The answer echoes what came, so the test can see the proxy
		// forwarded the secrets unchanged while recording them masked.
		io.WriteString(w, `{"access_token":"tok-123","user":"ann","echo":`+string(b)+`}`)
	})
	req, _ := http.NewRequest("POST", "http://"+p.Addr()+"/login?user=ann&api_key=k-42&page=2",
		strings.NewReader(`{"user":"ann","password":"p\"w1"}`))
	req.Header.Set("Authorization", "Bearer abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"access_token":"tok-123"`) || !strings.Contains(string(body), `"password":"p\"w1"`) {
		t.Fatalf("the proxy changed the traffic: %s", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p.Flush(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) != 1 {
		t.Fatalf("interactions: %+v", s.got)
	}
	in := s.got[0]
	if in.Op != "POST /login?user=ann&api_key=***&page=2" || in.Target != "/login?user=ann&api_key=***&page=2" {
		t.Errorf("op %q, target %q", in.Op, in.Target)
	}
	if got := string(in.RequestBody); got != `{"user":"ann","password":"***"}` {
		t.Errorf("request body recorded as %s", got)
	}
	if got := string(in.ResponseBody); strings.Contains(got, "tok-123") || strings.Contains(got, `p\"w1`) || !strings.Contains(got, `"user":"ann"`) {
		t.Errorf("response body recorded as %s", got)
	}
	for _, i := range s.got {
		reqHeader, respHeader := i.Headers()
		for _, field := range []string{i.Op, i.Note, string(i.RequestBody), string(i.ResponseBody), reqHeader, respHeader} {
			if strings.Contains(field, "Bearer abc") {
				t.Errorf("the Authorization header was recorded: %q", field)
			}
		}
	}
	// The headers are kept for the reports, the secret one masked.
	if reqHeader, respHeader := in.Headers(); !strings.Contains(reqHeader, "Authorization: ***") || !strings.Contains(reqHeader, "Content-Length: 33") ||
		!strings.Contains(respHeader, "Content-Type: application/json") {
		t.Errorf("headers recorded as %q → %q", reqHeader, respHeader)
	}
	sent, sentBody, answer, answerBody := in.Content()
	if !strings.HasPrefix(sent, "POST /login?user=ann&api_key=***&page=2\n") || sentBody != `{"user":"ann","password":"***"}` ||
		!strings.HasPrefix(answer, "200 OK\n") || !strings.Contains(answerBody, `"access_token":"***"`) {
		t.Errorf("content: %q %q → %q %q", sent, sentBody, answer, answerBody)
	}
}

func TestMaskRules(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/a?x=1", "/a?x=1"},
		{"/a?token=t&keyboard=1", "/a?token=***&keyboard=1"},
		{"/cb?code_verifier=v#frag", "/cb?code_verifier=***#frag"},
		{"/blob?sv=1&sig=abc%2B", "/blob?sv=1&sig=***"},
	} {
		if got := maskTarget(c.in); got != c.want {
			t.Errorf("maskTarget(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{`{"name":"monkey"}`, `{"name":"monkey"}`},
		{`{"client_secret" : "s", "n": 1}`, `{"client_secret" : "***", "n": 1}`},
		{`user=ann&password=hunter2&x=1`, `user=ann&password=***&x=1`},
		{`{"Password":"a\"b","keys":["x"]}`, `{"Password":"***","keys":["x"]}`},
		{`{"password":"cut sho`, `{"password":"cut sho`}, // an unfinished value: not a member yet
	} {
		if got := string(maskBody([]byte(c.in))); got != c.want {
			t.Errorf("maskBody(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in, want string
		secret   bool
	}{
		{"SELECT password_hash FROM users", "SELECT password_hash FROM users", false},
		{"ALTER ROLE app WITH PASSWORD 'it''s'", "ALTER ROLE app WITH PASSWORD '***'", true},
		{"create user bob password E'x'", "create user bob password '***'", true},
		{"UPDATE users SET password = $1", "UPDATE users SET password = $1", true},
		// Literals given to a secret-named column (psycopg2 puts its
		// parameters in the statement).
		{"update users set password_hash = 'PlainPw111' where id = 1", "update users set password_hash = '***' where id = 1", false},
		{"select 1 from users where users.api_token = 'tok-abc' and email = 'a@x.com'", "select 1 from users where users.api_token = '***' and email = 'a@x.com'", false},
		{"insert into users(email, password_hash, api_token) values ('a@x.com', 'h1', 'tok-1'), ('b@x.com', 'it''s, (odd)', E'tok-2')",
			"insert into users(email, password_hash, api_token) values ('a@x.com', '***', '***'), ('b@x.com', '***', '***')", false},
		{"INSERT INTO t (id, name) VALUES (1, 'secretive name')", "INSERT INTO t (id, name) VALUES (1, 'secretive name')", false},
		{"select 1 from users where 'tok-abc' = api_token", "select 1 from users where '***' = api_token", false},
		{"delete from sessions where session_token in ('t1', 't2') and id in (1, 2)", "delete from sessions where session_token in ('***', '***') and id in (1, 2)", false},
	} {
		got, _, secret := maskSQL(c.in)
		if got != c.want || secret != c.secret {
			t.Errorf("maskSQL(%q) = %q, %v; want %q, %v", c.in, got, secret, c.want, c.secret)
		}
	}
	// Parameters given to secret columns, and those only.
	for _, c := range []struct {
		sql  string
		want []int
	}{
		{"update users set api_token = $1 where id = $2", []int{1}},
		{"insert into users (email, password_hash, api_token) values ($1, $2, $3)", []int{2, 3}},
		{"select * from users where id = $1", nil},
		{"select * from users where $1 = api_token or session_token not in ($2, $3)", []int{1, 2, 3}},
	} {
		if _, got, _ := maskSQL(c.sql); !slices.Equal(got, c.want) {
			t.Errorf("maskSQL(%q) secret parameters %v, want %v", c.sql, got, c.want)
		}
	}
	tok := Interaction{Protocol: "postgres", Op: "SQL update users set api_token = $1 where id = $2", Target: "update users set api_token = $1 where id = $2",
		Note: `["tok-SECRET-99999", 7]`, params: []string{`"tok-SECRET-99999"`, "7"}}
	maskProtocol(&tok)
	if tok.Note != `["***", 7]` {
		t.Errorf("a token given as a parameter: %q", tok.Note)
	}
	dup := Interaction{Protocol: "mysql", Op: "SQL INSERT INTO users (email,api_token) VALUES (?,?)", Target: "INSERT INTO users (email,api_token) VALUES (?,?)",
		Note: `["a@b.c", "TOKSECRETMY12"]`, params: []string{`"a@b.c"`, `"TOKSECRETMY12"`},
		Result: "ERROR 1062 (23000): Duplicate entry 'TOKSECRETMY12' for key 'idx_users_api_token'"}
	maskProtocol(&dup)
	if strings.Contains(dup.Note+dup.Result, "TOKSECRETMY12") {
		t.Errorf("a token the server's error quotes was recorded: %+v", dup)
	}
	in := Interaction{Protocol: "postgres", Op: "SQL ALTER USER a PASSWORD $1", Target: "ALTER USER a PASSWORD $1", Note: "['hunter2']"}
	maskProtocol(&in)
	if strings.Contains(in.Note, "hunter2") {
		t.Errorf("a password given as a parameter was recorded: %+v", in)
	}
}
