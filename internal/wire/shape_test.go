package wire

import (
	"regexp"
	"strings"
	"testing"
)

const (
	testBcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
	testArgon  = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
	testJWT    = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)

// TestSecretsByShape: hashes, JWTs and bearer tokens are masked wherever
// they are recorded: bodies, SQL text and parameters, Redis keys.
func TestSecretsByShape(t *testing.T) {
	in := Interaction{Protocol: "http", Op: "POST /users", Target: "/users",
		RequestBody:  []byte(`{"name":"ann","hash":"` + testBcrypt + `"}`),
		ResponseBody: []byte(`{"session":"` + testJWT + `","a2":"` + testArgon + `","note":"Bearer abc.def-1=="}`)}
	var m *Masker
	maskWith(m, &in)
	pg := Interaction{Protocol: "postgres", Op: "SQL insert into users values ('" + testBcrypt + "')",
		Target: "insert into users values ('" + testBcrypt + "')", Note: `["ann", "` + testArgon + `"]`}
	maskWith(m, &pg)
	rd := Interaction{Protocol: "redis", Op: "REDIS GET session:" + testJWT, Target: "GET session:" + testJWT, Key: "session:" + testJWT}
	maskWith(m, &rd)
	for _, i := range []Interaction{in, pg, rd} {
		all := i.Line() + string(i.RequestBody) + string(i.ResponseBody) + i.Target + i.Key
		for _, secret := range []string{testBcrypt, testArgon, testJWT, "abc.def", "R9h/cI", "RdescudvJ", "dozjg"} {
			if strings.Contains(all, secret) {
				t.Errorf("%q was recorded: %s", secret, all)
			}
		}
	}
	if !strings.Contains(string(in.ResponseBody), `"note":"Bearer ***"`) || !strings.Contains(pg.Target, "values ('***')") {
		t.Errorf("masked forms: %s | %s", in.ResponseBody, pg.Target)
	}
	// Ordinary text is left alone.
	plain := Interaction{Protocol: "http", Op: "GET /a.b.c", Target: "/a.b.c", RequestBody: []byte(`{"price":"$20","file":"eyes.jpg.bak"}`)}
	maskWith(m, &plain)
	if string(plain.RequestBody) != `{"price":"$20","file":"eyes.jpg.bak"}` || plain.Target != "/a.b.c" {
		t.Errorf("plain text changed: %s %s", plain.RequestBody, plain.Target)
	}
}

func TestSuiteMaskPatterns(t *testing.T) {
	m, err := NewMasker([]string{`cust-[0-9]{6}`})
	if err != nil {
		t.Fatal(err)
	}
	in := Interaction{Protocol: "http", Op: "GET /c/cust-123456", Target: "/c/cust-123456", ResponseBody: []byte(`{"id":"cust-654321"}`)}
	maskWith(m, &in)
	if strings.Contains(in.Line()+string(in.ResponseBody), "cust-") {
		t.Errorf("a suite's pattern was not masked: %s %s", in.Line(), in.ResponseBody)
	}
	for _, bad := range []string{`(`, `a*`} {
		if _, err := NewMasker([]string{"ok", bad}); err == nil || !strings.Contains(err.Error(), "mask[1]") {
			t.Errorf("NewMasker(%q): %v", bad, err)
		}
	}
}

// FuzzMask: masking never panics, never leaves a secret of a known shape
// it was given, and is idempotent.
func FuzzMask(f *testing.F) {
	for _, s := range []string{testBcrypt, testArgon, testJWT, "Bearer x", `{"password":"x"}`, "a=1&token=2", "$2", "eyJ.", "bearer"} {
		f.Add(s)
	}
	m, _ := NewMasker([]string{`sk_[a-z]+`})
	whole := regexp.MustCompile(`^` + shapeSecret().String() + `$`)
	f.Fuzz(func(t *testing.T, s string) {
		in := Interaction{Protocol: "http", Op: "GET /?" + s, Target: "/?" + s, RequestBody: []byte(s), ResponseBody: []byte(s)}
		maskWith(m, &in)
		once := in
		maskWith(m, &in)
		if in.Target != once.Target || string(in.RequestBody) != string(once.RequestBody) {
			t.Errorf("masking twice changed %q → %q", once.RequestBody, in.RequestBody)
		}
		if whole.MatchString(s) && strings.Contains(string(in.RequestBody), s) {
			t.Errorf("a secret of a known shape survived: %q", s)
		}
		pg := Interaction{Protocol: "postgres", Op: "SQL " + s, Target: s, Note: s}
		maskWith(m, &pg)
	})
}
