package mask

import (
	"slices"
	"testing"
)

// TestSQL: the literals and parameters given to secret columns, and
// those only, in every form a statement gives them.
func TestSQL(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		params         []int
		all            bool
	}{
		// SET (a, col) = (…): the value at the secret column's place.
		{name: "row assignment", in: "UPDATE t SET (a, token) = ('x', 'secret') WHERE id = 1",
			want: "UPDATE t SET (a, token) = ('x', '***') WHERE id = 1"},
		{name: "row assignment of parameters", in: "UPDATE t SET (a, token) = ($1, $2) WHERE id = $3",
			want: "UPDATE t SET (a, token) = ($1, $2) WHERE id = $3", params: []int{2}},
		{name: "row assignment with ROW", in: "update t set (token, a) = row('s', 'x')",
			want: "update t set (token, a) = row('***', 'x')"},
		{name: "row assignment from a select", in: "update t set (a, api_token) = (select 'x', 's' from d)",
			want: "update t set (a, api_token) = (select 'x', '***' from d)"},
		{name: "row comparison", in: "select 1 from t where (name, token) = ('ann', 'tok') and kind = 'k'",
			want: "select 1 from t where (name, token) = ('ann', '***') and kind = 'k'"},
		{name: "rows in a list", in: "delete from t where (name, token) in (('a', 't1'), ('b', $1))",
			want: "delete from t where (name, token) in (('a', '***'), ('b', $1))", params: []int{1}},

		// INSERT … (cols): an alias, a schema, quoted names, MERGE.
		{name: "insert with an alias", in: "INSERT INTO users AS u (name, password) VALUES ('ann', 'pw')",
			want: "INSERT INTO users AS u (name, password) VALUES ('ann', '***')", all: true},
		{name: "insert with an alias and an upsert", in: "insert into public.users as u (name, api_token) values ($1, $2) on conflict (name) do update set api_token = excluded.api_token",
			want: "insert into public.users as u (name, api_token) values ($1, $2) on conflict (name) do update set api_token = excluded.api_token", params: []int{2}},
		{name: "insert with quoted names", in: `INSERT INTO "Users" ("name", "apiToken") VALUES ('a', 'b')`,
			want: `INSERT INTO "Users" ("name", "apiToken") VALUES ('a', '***')`},
		{name: "insert overriding", in: "insert into t (id, token) overriding system value values (1, 'x')",
			want: "insert into t (id, token) overriding system value values (1, '***')"},
		{name: "insert from a select", in: "insert into t (name, token) select 'a', 'b' union all select 'c', $1",
			want: "insert into t (name, token) select 'a', '***' union all select 'c', $1", params: []int{1}},
		{name: "merge's insert", in: "merge into t using s on t.id = s.id when not matched then insert (name, token) values ('a', 'b')",
			want: "merge into t using s on t.id = s.id when not matched then insert (name, token) values ('a', '***')"},
		{name: "insert, values in calls", in: "insert into users (name, password_hash) values ('a', crypt('pw', gen_salt('bf')))",
			want: "insert into users (name, password_hash) values ('a', crypt('***', gen_salt('***')))"},
		{name: "a values list named by its alias", in: "update users u set api_token = v.api_token from (values (1, 'tok-1'), (2, $1)) as v(id, api_token) where u.id = v.id",
			want: "update users u set api_token = v.api_token from (values (1, '***'), (2, $1)) as v(id, api_token) where u.id = v.id", params: []int{1}},
		{name: "a cut insert", in: "insert into t (a, token) values ('x', 'tok-cut sh",
			want: "insert into t (a, token) values ('x', '***'"},

		// Dollar-quoted strings are literals, no parameters.
		{name: "dollar-quoted value", in: "UPDATE t SET token = $$abc$$ WHERE id = $1",
			want: "UPDATE t SET token = '***' WHERE id = $1"},
		{name: "tagged dollar-quoted value", in: "update t set token = $tag$it's $$ odd$tag$, name = $n$x$n$",
			want: "update t set token = '***', name = $n$x$n$"},
		{name: "dollar-quoted insert", in: "insert into t (a, token) values ($$x$$, $q$s$q$), ($1, $2)",
			want: "insert into t (a, token) values ($$x$$, '***'), ($1, $2)", params: []int{2}},
		{name: "a literal inside a string is no SQL", in: "update t set note = $$ token = 'x' $$, kind = 'token = ''y''' where id = 1",
			want: "update t set note = $$ token = 'x' $$, kind = 'token = ''y''' where id = 1"},
		{name: "a DO block's body", in: "DO $$ BEGIN UPDATE users SET password_hash = 'h1' WHERE id = 1; END $$",
			want: "DO $$ BEGIN UPDATE users SET password_hash = '***' WHERE id = 1; END $$"},
		{name: "a function's body", in: "create function f() returns void language sql as $f$ update users set api_token = 'a' $f$",
			want: "create function f() returns void language sql as $f$ update users set api_token = '***' $f$"},
		// Found by FuzzSQL: '***' must not join what is written around
		// it into another literal.
		{name: "adjacent literals", in: "insert into t (a, token) values ('x', ''B'01')",
			want: "insert into t (a, token) values ('x', '***' '***')"},
		{name: "a letter before", in: "update t set token = U&$$x$$", want: "update t set token = U& '***'"},
		{name: "a dollar-quoted value then a quote", in: "update t set token = $$x$$'y'",
			want: "update t set token = '***' 'y'"},

		// Only a column that holds a secret: not one about a secret.
		{name: "token_type", in: "update t set token_type = 'refresh' where id = 1",
			want: "update t set token_type = 'refresh' where id = 1"},
		{name: "about a secret", in: "update users set password_changed_at = '2024-01-01', secret_version = 'v2', token_expires_at = $1 where id = $2",
			want: "update users set password_changed_at = '2024-01-01', secret_version = 'v2', token_expires_at = $1 where id = $2"},
		{name: "secret words inside longer words", in: "update t set secretary = 'ann', tokenizer = 'ws', \"tokenType\" = 'bearer' where author = $1",
			want: "update t set secretary = 'ann', tokenizer = 'ws', \"tokenType\" = 'bearer' where author = $1"},
		{name: "secret columns", in: "update t set api_token = 'a', access_token = 'b', user_password = 'c', password_hash = 'd', client_secret = 'e', \"accessToken\" = 'f', reset_password_token = 'g', secret_key = 'h', private_key = 'i', tokens = 'j'",
			want: "update t set api_token = '***', access_token = '***', user_password = '***', password_hash = '***', client_secret = '***', \"accessToken\" = '***', reset_password_token = '***', secret_key = '***', private_key = '***', tokens = '***'"},

		// Other forms of the same.
		{name: "several assignments", in: "UPDATE t SET token = 'x', name = 'y'", want: "UPDATE t SET token = '***', name = 'y'"},
		{name: "quoted column", in: `update t set "token" = 'x' where "name" = 'y'`, want: `update t set "token" = '***' where "name" = 'y'`},
		{name: "qualified column", in: `select 1 from users u where u.password = 'x' and public.users."api_token" = $1`,
			want: `select 1 from users u where u.password = '***' and public.users."api_token" = $1`, params: []int{1}, all: true},
		{name: "casts", in: "select 1 from t where token = 'x'::text and token::text = $1::text and 'y'::varchar(9) = token",
			want: "select 1 from t where token = '***'::text and token::text = $1::text and '***'::varchar(9) = token", params: []int{1}},
		{name: "E string with escapes", in: `update t set token = E'it\'s \\ secret', name = 'n'`, want: `update t set token = '***', name = 'n'`},
		{name: "doubled quotes", in: "update t set token = 'it''s', name = 'n'", want: "update t set token = '***', name = 'n'"},
		{name: "prefixed literals", in: "update t set token = X'ff', secret = U&'d\\0061t', name = N'n'", want: "update t set token = '***', secret = '***', name = N'n'"},
		{name: "a comment between", in: "update t set token = /* new */ 'x' -- token = 'y'\n, name = 'n'", want: "update t set token = /* new */ '***' -- token = 'y'\n, name = 'n'"},
		{name: "concatenation", in: "update t set token = 'a' || $1 || 'b', name = 'n'", want: "update t set token = '***' || $1 || '***', name = 'n'", params: []int{1}},
		{name: "ANY", in: "select * from t where token = any($1) or token = any(array['a', 'b']) or $2 = any(tokens)",
			want: "select * from t where token = any($1) or token = any(array['***', '***']) or $2 = any(tokens)", params: []int{1, 2}},
		{name: "LIKE and IS DISTINCT FROM", in: "select * from t where token like 'ab%' and token is not distinct from $1 and name not ilike 'x%'",
			want: "select * from t where token like '***' and token is not distinct from $1 and name not ilike 'x%'", params: []int{1}},
		{name: "crypt", in: "select id from users where password_hash = crypt($1, password_hash) and email = $2",
			want: "select id from users where password_hash = crypt($1, password_hash) and email = $2", params: []int{1}},
		{name: "named arguments", in: "select create_user(name => 'ann', password => 'pw', api_token := $1)",
			want: "select create_user(name => 'ann', password => '***', api_token := $1)", params: []int{1}, all: true},
		{name: "case", in: "update t set token = case when $1 then 'a' else 'b' end, name = 'n'",
			want: "update t set token = case when $1 then '***' else '***' end, name = 'n'", params: []int{1}},
		{name: "JSON members", in: "select * from t where data->>'api_token' = $1 and data->'token_type' = '\"x\"' and data->>'name' = 'n'",
			want: "select * from t where data->>'api_token' = $1 and data->'token_type' = '\"x\"' and data->>'name' = 'n'", params: []int{1}},
		{name: "settings", in: "SET app.api_token = 'x'; SET SESSION app.secret TO 'y'; select 1 where token similar to 'a%'",
			want: "SET app.api_token = '***'; SET SESSION app.secret TO '***'; select 1 where token similar to '***'"},
		{name: "PASSWORD literals", in: "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password $$pw$$)",
			want: "CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password '***')", all: true},
		{name: "a password's parameter", in: "ALTER USER a PASSWORD $1", want: "ALTER USER a PASSWORD $1", all: true},
		{name: "the ON CONFLICT update", in: "insert into t (id, name) values (1, 'a') on conflict (id) do update set token = excluded.token, name = 'b'",
			want: "insert into t (id, name) values (1, 'a') on conflict (id) do update set token = excluded.token, name = 'b'"},
		{name: "no secret", in: "select password_hash from users where id = $1", want: "select password_hash from users where id = $1"},
	} {
		got, params, all := SQL(c.in)
		if got != c.want {
			t.Errorf("%s: SQL(%q)\n got %q\nwant %q", c.name, c.in, got, c.want)
		}
		if !slices.Equal(params, c.params) || all != c.all {
			t.Errorf("%s: SQL(%q) params %v, all %v; want %v, %v", c.name, c.in, params, all, c.params, c.all)
		}
	}
}

// TestTextSQL: SQL in free text is masked too, though the text around it
// is no SQL (apostrophes, quotations, a name=value that is quoted).
func TestTextSQL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"can't log in: update users set api_token = 'x' where id = 1", "can't log in: update users set api_token = '***' where id = 1"},
		{`step "update users set token = 'x', name = 'ann'" failed`, `step "update users set token = '***', name = 'ann'" failed`},
		{"update users set token='abc' where id = 1", "update users set token='***' where id = 1"},
		{"host=x password='hunter 2' dbname=app", "host=x password='***' dbname=app"},
		{`password="a b" user=c`, `password="***" user=c`},
		{"token_type = 'refresh'", "token_type = 'refresh'"},
		{"it's 'quoted' and token = $$x$$", "it's 'quoted' and token = '***'"},
		// A dollar-quoted string that does not end is a dollar sign.
		{"costs $USD$ 5; token = $$x$$", "costs $USD$ 5; token = '***'"},
		// Statements in a log need no semicolon between them.
		{"insert into t (token) select 'a'\ninsert into t (name) select 'b'", "insert into t (token) select '***'\ninsert into t (name) select 'b'"},
	} {
		if got := (*Masker)(nil).Text(c.in); got != c.want {
			t.Errorf("Text(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestSQLSecretColumn: the columns that hold a secret, not those about
// one, nor those whose name holds a secret word inside a longer word.
func TestSQLSecretColumn(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "api_token": true, "access_token": true, "user_password": true, "password_hash": true,
		"client_secret": true, "session_token": true, "reset_password_token": true, "encrypted_password": true,
		"password_digest": true, "secret_key": true, "api_key": true, "apikey": true, "private_key": true,
		"accessToken": true, "APIToken": true, "apitoken": true, "tokens": true, "password2": true,
		"secret_id": true, "token_id": true, "otp_secret": true, "code_verifier": true, "auth": true, "pwd": true,
		"token_type": false, "password_changed_at": false, "secret_version": false, "tokenType": false,
		"token_expires_at": false, "reset_password_sent_at": false, "api_token_last_used_at": false,
		"password_hash_algorithm": false, "private_key_path": false, "token_name": false,
		"tokenizer": false, "secretary": false, "passwordless": false, "author_id": false, "signup": false,
		"keyboard": false, "key": false, "name": false, "": false,
	} {
		if got := sqlSecretColumn(name); got != want {
			t.Errorf("sqlSecretColumn(%q) = %v, want %v", name, got, want)
		}
	}
}
