package mask

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	m, _ := New([]string{`cust-[0-9]{6}`})
	m.Add("0123456789abcdef0123456789abcdef", "short")
	for _, c := range []struct{ in, want string }{
		{"GET /login?token=abc&page=2 HTTP/1.1", "GET /login?token=***&page=2 HTTP/1.1"},
		{"host=127.0.0.1 user=seam password=hunter22 dbname=app", "host=127.0.0.1 user=seam password=*** dbname=app"},
		{"postgres://seam:pw@127.0.0.1:5432/app", "postgres://seam:***@127.0.0.1:5432/app"},
		{`{"user":"ann","password":"x"}`, `{"user":"ann","password":"***"}`},
		{"Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l\nAccept: */*", "Authorization: ***\nAccept: */*"},
		{"X-Api-Key: k-1", "X-Api-Key: ***"},
		// A log line's prefix that is a parameter's secret name only: a
		// service named auth logs readably; its parameters stay masked.
		{"auth: listening on 127.0.0.1:8080", "auth: listening on 127.0.0.1:8080"},
		{"sig: verified", "sig: verified"},
		{"auth: got /check?auth=s3cr3t", "auth: got /check?auth=***"},
		{"session_token: abc", "session_token: ***"},
		{"ALTER ROLE app PASSWORD 'it''s'", "ALTER ROLE app PASSWORD '***'"},
		{"pw 0123456789abcdef0123456789abcdef", "pw ***"},
		{"id cust-123456", "id ***"},
		{"want matches \"Bearer .+\"", "want matches \"Bearer .+\""},
		{"the short word stays", "the short word stays"},
		{"nothing secret here", "nothing secret here"},
	} {
		if got := m.Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var none *Masker
	if got := none.Text("a?token=1"); got != "a?token=***" {
		t.Errorf("a nil Masker: %q", got)
	}
	none.Add("ignored-on-nil")
}

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{"api_key": true, "Authorization": true, "password": true, "Set-Cookie": true,
		"X-Api-Key": true, "user": false, "keyboard": false, "page": false, "": false} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzText: masking never panics, is idempotent, and never leaves a
// registered secret.
func FuzzText(f *testing.F) {
	for _, s := range []string{"a?token=1", `{"password":"x"}`, "postgres://u:p@h/d", "Authorization: x", "Bearer abcdefghij", "password 'x'", "SECRETVALUE1",
		"Duplicate entry 'x' for key 'api_token'", "Incorrect integer value: 'x' for column `d`.`t`.`token` at row 1"} {
		f.Add(s)
	}
	m, _ := New([]string{`sk_[a-z]+`})
	m.Add("SECRETVALUE1")
	f.Fuzz(func(t *testing.T, s string) {
		once := m.Text(s)
		if twice := m.Text(once); twice != once {
			t.Errorf("masking twice changed %q → %q", once, twice)
		}
		if strings.Contains(once, "SECRETVALUE1") {
			t.Errorf("a registered secret survived: %q", once)
		}
	})
}

// FuzzSQL: masking a statement never panics, keeps every token but
// literals as it was, and masking again changes nothing.
func FuzzSQL(f *testing.F) {
	for _, s := range []string{
		"insert into users(email, password_hash, api_token) values ('a@x.com', 'h1', 'tok-1'), ('b', 'it''s (odd)', E'x')",
		"update users set password = 'x', token = $2 where id = $1",
		"insert into t (a, token) values ((select 1), $1), (", "insert into t (token) values ('unterminated",
		"ALTER ROLE app PASSWORD 'p'", "select 1",
		"UPDATE t SET (a, token) = ('x', 'secret'), (b, api_token) = row($1, $2) WHERE (c, token) in (('y', 'z'))",
		"INSERT INTO users AS u (name, password) VALUES ('a', $$pw$$) ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token",
		"update t set token = $tag$a'b$tag$, note = $$x$$'y', secret = E'it\\'s' -- c\n/* d */",
		"DO $$ BEGIN UPDATE users SET password_hash = 'h' WHERE id = 1; END $$",
		"insert into t (name, token) select 'a', 'b' union select 'c', crypt('d', gen_salt('bf'))",
		"update u set token = v.token from (values (1, 'x')) as v(id, token) where token_type = 'refresh'",
		"update t set token = 'cut", "update t set token = $a$cut", "update t set token = E'cut\\",
		"(token)=(A,token)=(,(A,token)in((''B'000", // masked twice: '***''***' read as one literal
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		once, _, _ := SQL(sql)
		if twice, _, _ := SQL(once); twice != once {
			t.Errorf("masking again changed %q to %q", once, twice)
		}
		// What is kept reads as it did: the same tokens, but literals.
		was, is := sqlLex(sql, false), sqlLex(once, false)
		if len(was) != len(is) {
			t.Fatalf("masking %q to %q changed its tokens: %d, then %d", sql, once, len(was), len(is))
		}
		for i := range was {
			a, b := sql[was[i].from:was[i].to], once[is[i].from:is[i].to]
			if was[i].kind != is[i].kind || a != b && was[i].kind != sqlString {
				t.Fatalf("masking %q to %q changed token %d: %q to %q", sql, once, i, a, b)
			}
		}
	})
}

// PostgreSQL's detail of a key violation (its log, an error message)
// shows the key's values: masked when a column holds a secret.
func TestKeyDetail(t *testing.T) {
	m, _ := New(nil)
	for in, want := range map[string]string{
		"DETAIL:  Key (api_token)=(tok-1) already exists.":          "DETAIL:  Key (api_token)=(***) already exists.",
		"DETAIL:  Key (email, password_hash)=(a@b, $x) is present.": "DETAIL:  Key (email, password_hash)=(***) is present.",
		"DETAIL:  Key (email)=(a@b.c) already exists.":              "DETAIL:  Key (email)=(a@b.c) already exists.",
		"DETAIL:  Key (token_type)=(refresh) already exists.":       "DETAIL:  Key (token_type)=(refresh) already exists.",
	} {
		if got := m.Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

// MySQL's and MariaDB's error messages quote the value of a duplicate key
// or of a bad column value: masked when the key or column names a secret.
func TestMySQLErrorDetail(t *testing.T) {
	m, _ := New(nil)
	for in, want := range map[string]string{
		// 1062, MariaDB (GORM's index name; MariaDB's default is the column's).
		"ERROR 1062 (23000): Duplicate entry 'TOKSECRETMY12' for key 'idx_users_api_token'": "ERROR 1062 (23000): Duplicate entry '***' for key 'idx_users_api_token'",
		"Error 1062 (23000): Duplicate entry 'x' for key 'api_token'":                       "Error 1062 (23000): Duplicate entry '***' for key 'api_token'",
		// MySQL 8 names the table too; a composite key joins values with '-'.
		"Duplicate entry 'a@b-pw1' for key 'users.idx_email_password_hash'": "Duplicate entry '***' for key 'users.idx_email_password_hash'",
		// A value holding a quote is masked whole.
		"Duplicate entry 'it's' for key 'secret'": "Duplicate entry '***' for key 'secret'",
		// Keys that name no secret stay readable.
		"Duplicate entry 'a@b.c' for key 'idx_users_email'":  "Duplicate entry 'a@b.c' for key 'idx_users_email'",
		"Duplicate entry '7' for key 'PRIMARY'":              "Duplicate entry '7' for key 'PRIMARY'",
		"Duplicate entry 'refresh' for key 'idx_token_type'": "Duplicate entry 'refresh' for key 'idx_token_type'",
		// 1292/1366: MySQL quotes the column with ', MariaDB with ` and qualified.
		"Error 1366 (22007): Incorrect integer value: 'abc' for column 'token' at row 1":                  "Error 1366 (22007): Incorrect integer value: '***' for column 'token' at row 1",
		"ERROR 1292 (22007): Incorrect datetime value: 'x1' for column `app`.`users`.`password` at row 1": "ERROR 1292 (22007): Incorrect datetime value: '***' for column `app`.`users`.`password` at row 1",
		"Incorrect integer value: 'abc' for column `token_db`.`users`.`age` at row 1":                     "Incorrect integer value: 'abc' for column `token_db`.`users`.`age` at row 1",
		"Incorrect integer value: 'x' for column 'token_ttl' at row 1":                                    "Incorrect integer value: 'x' for column 'token_ttl' at row 1",
	} {
		got := m.Text(in)
		if got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
		if again := m.Text(got); again != got {
			t.Errorf("masking %q again gave %q", got, again)
		}
	}
}

// FuzzMySQL: masking a MySQL statement never panics, keeps every token
// but literals as it was (read as MySQL reads it), and masking again
// changes nothing.
func FuzzMySQL(f *testing.F) {
	for _, s := range []string{
		`insert into users(email, password_hash, api_token) values ('a@x.com', "h1", 'tok-1'), ('b', 'it\'s (odd)', _utf8mb4'x')`,
		"update `users` set `password` = ?, token = 0x6b39 where id = ? # it's\n-- it's\n/* it's */",
		"CREATE USER 'u'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('pw') OR unix_socket /*!50706 , v IDENTIFIED BY 'q' */",
		"ALTER USER u IDENTIFIED WITH caching_sha2_password BY 'new' REPLACE 'old'; SET PASSWORD FOR 'u'@'h' = PASSWORD(\"x\")",
		`update t set token = "a\"b\\" 'c' N'd' X'0f' b'01' 0b1, secret = 'cut\`,
		"insert into t (a, token) values row('x', 'y'), row(?, ?) as n on duplicate key update token = n.token",
		"select 1 from t where token <=> 'a' and data->>'$.api_token' = 'b' and \"password\" = 'c' and 2fa_secret regexp 'd'",
		"update t set token = 'a'--'b'\n, x = $$y$$ /*M!100100 , api_key = 'z' */ /* /* */ token = 'w'",
		"update t set token = `cut", "update t set token = /*! 'cut", "select 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		once, _, _ := MySQL(sql)
		if twice, _, _ := MySQL(once); twice != once {
			t.Errorf("masking again changed %q to %q", once, twice)
		}
		// What is kept reads as it did: the same tokens, but literals.
		was, is := mysqlLex(sql), mysqlLex(once)
		if len(was) != len(is) {
			t.Fatalf("masking %q to %q changed its tokens: %d, then %d", sql, once, len(was), len(is))
		}
		for i := range was {
			a, b := sql[was[i].from:was[i].to], once[is[i].from:is[i].to]
			if was[i].kind != is[i].kind || a != b && was[i].kind != sqlString {
				t.Fatalf("masking %q to %q changed token %d: %q to %q", sql, once, i, a, b)
			}
		}
	})
}
