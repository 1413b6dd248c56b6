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
		// MySQL's names in a log (GORM's, colored): backquoted.
		{"\x1b[0m[2.4ms] [rows:1]\x1b[0m INSERT INTO `users` (`email`,`password_hash`,`api_token`) VALUES ('c@x','H1','T1'),('d@x','H2','T2') RETURNING `id`",
			"\x1b[0m[2.4ms] [rows:1]\x1b[0m INSERT INTO `users` (`email`,`password_hash`,`api_token`) VALUES ('c@x','***','***'),('d@x','***','***') RETURNING `id`"},
		{"SELECT * FROM `users` WHERE `users`.`api_token` = 'T1' AND `name` = 'ann'", "SELECT * FROM `users` WHERE `users`.`api_token` = '***' AND `name` = 'ann'"},
		// A backquote that quotes words is no name.
		{"run `make test` then token = 'x'", "run `make test` then token = '***'"},
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

// TestMySQL: MySQL's and MariaDB's statements, read as they read them:
// their literals, names, comments and passwords.
func TestMySQL(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		params         []int
		all            bool
	}{
		// Double-quoted strings are literals.
		{name: "a double-quoted value", in: `UPDATE users SET password = "dq-secret" WHERE id = 1`,
			want: `UPDATE users SET password = '***' WHERE id = 1`, all: true},
		{name: "a double-quoted key", in: `update t set api_key = "k9", name = "n"`, want: `update t set api_key = '***', name = "n"`},
		{name: "PASSWORD() of a double-quoted string", in: `SELECT password("pw2")`, want: `SELECT password('***')`, all: true},
		{name: "an insert of double-quoted strings", in: `insert into users (name, password) values ('n', "pw\"inner")`,
			want: `insert into users (name, password) values ('n', '***')`, all: true},

		// A backslash escapes a quote, in '…' and "…".
		{name: "an escaped quote", in: `update users set password = 'it\'s-secret', name = 'n'`,
			want: `update users set password = '***', name = 'n'`, all: true},
		{name: "an escaped backslash", in: `update t set token = 'a\\', name = 'b\\' where id = 1`,
			want: `update t set token = '***', name = 'b\\' where id = 1`},
		{name: "escapes in double quotes", in: `update t set token = "x\"y\\", name = "it's"`,
			want: `update t set token = '***', name = "it's"`},
		{name: "adjacent literals are one", in: `update t set token = 'a' "b" _utf8mb4'c', name = 'n'`,
			want: `update t set token = '***' '***' _utf8mb4'***', name = 'n'`},

		// Passwords: IDENTIFIED, SET PASSWORD, PASSWORD().
		{name: "create user", in: "CREATE USER 'app'@'%' IDENTIFIED BY 'pw1'", want: "CREATE USER 'app'@'%' IDENTIFIED BY '***'", all: true},
		{name: "create users", in: `create user if not exists a@localhost identified by "pw1", 'b'@'%' identified by 'pw2' password expire`,
			want: `create user if not exists a@localhost identified by '***', 'b'@'%' identified by '***' password expire`, all: true},
		{name: "a password's hash", in: "CREATE USER u IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
			want: "CREATE USER u IDENTIFIED BY PASSWORD '***'", all: true},
		{name: "alter user, replace", in: "ALTER USER CURRENT_USER() IDENTIFIED BY 'new' REPLACE 'old' RETAIN CURRENT PASSWORD",
			want: "ALTER USER CURRENT_USER() IDENTIFIED BY '***' REPLACE '***' RETAIN CURRENT PASSWORD", all: true},
		{name: "grant", in: "GRANT ALL ON app.* TO 'app'@'%' IDENTIFIED BY 'pw' WITH GRANT OPTION",
			want: "GRANT ALL ON app.* TO 'app'@'%' IDENTIFIED BY '***' WITH GRANT OPTION", all: true},
		{name: "a plugin's password", in: "CREATE USER u IDENTIFIED WITH caching_sha2_password BY 'pw' AND IDENTIFIED WITH authentication_ldap_sasl AS 'uid=u'",
			want: "CREATE USER u IDENTIFIED WITH caching_sha2_password BY '***' AND IDENTIFIED WITH authentication_ldap_sasl AS '***'", all: true},
		{name: "MariaDB's plugins", in: "CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('pw') OR mysql_native_password USING '*AB12' OR unix_socket",
			want: "CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('***') OR mysql_native_password USING '***' OR unix_socket", all: true},
		{name: "a quoted plugin", in: "alter user u identified with 'mysql_native_password' as 'h'", want: "alter user u identified with 'mysql_native_password' as '***'", all: true},
		{name: "a random password", in: "ALTER USER u IDENTIFIED BY RANDOM PASSWORD COMMENT 'c'", want: "ALTER USER u IDENTIFIED BY RANDOM PASSWORD COMMENT 'c'", all: true},
		{name: "set password", in: "SET PASSWORD = 'x'", want: "SET PASSWORD = '***'", all: true},
		{name: "set password for a user", in: "SET PASSWORD FOR 'u'@'%' = PASSWORD('x')", want: "SET PASSWORD FOR 'u'@'%' = PASSWORD('***')", all: true},
		{name: "set password for a named user", in: "set password for u = 'x' replace 'y'", want: "set password for u = '***' replace '***'", all: true},
		{name: "set password for the current user", in: "SET PASSWORD FOR CURRENT_USER() = OLD_PASSWORD(\"x\")",
			want: "SET PASSWORD FOR CURRENT_USER() = OLD_PASSWORD('***')", all: true},
		{name: "a server's password", in: "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'u', PASSWORD 'p', HOST 'h')",
			want: "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'u', PASSWORD '***', HOST 'h')", all: true},
		{name: "a replica's password", in: "CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD='p'", want: "CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD='***'"},

		// Names: backticks, variables, a digit first; double quotes where a
		// name goes (ANSI_QUOTES).
		{name: "a backtick-quoted column", in: "UPDATE `users` SET `password` = 'pw12', `name` = 'n' WHERE `t`.`api_token` = 'a'",
			want: "UPDATE `users` SET `password` = '***', `name` = 'n' WHERE `t`.`api_token` = '***'", all: true},
		{name: "an insert with backticks", in: "INSERT INTO `users` (`name`, `api_token`) VALUES ('a', 'b'), ('c', 'd')",
			want: "INSERT INTO `users` (`name`, `api_token`) VALUES ('a', '***'), ('c', '***')"},
		{name: "a variable", in: "SET @api_token := 'x', @name = 'n'", want: "SET @api_token := '***', @name = 'n'"},
		{name: "a name that starts with a digit", in: "update t set 2fa_secret = 'x', `t`.1password = 'y', n = .5e1 where t.2fa_secret = 'z'",
			want: "update t set 2fa_secret = '***', `t`.1password = '***', n = .5e1 where t.2fa_secret = '***'"},
		{name: "a double-quoted name", in: `update t set "token" = 'x', "name" = 'n'`, want: `update t set "token" = '***', "name" = 'n'`},
		{name: "$ is a name's", in: "update t set token = $$x$$, name = $a", want: "update t set token = $$x$$, name = $a"},

		// ? is a parameter, numbered by its place.
		{name: "parameters", in: "UPDATE users SET name=?, password=? WHERE id=?", want: "UPDATE users SET name=?, password=? WHERE id=?", params: []int{2}, all: true},
		{name: "parameters in rows", in: "insert into t (a, token) values (?, ?), (?, ?)", want: "insert into t (a, token) values (?, ?), (?, ?)", params: []int{2, 4}},
		{name: "a parameter then a literal", in: "select 1 from t where token=? or token='x'", want: "select 1 from t where token=? or token='***'", params: []int{1}},

		// Comments: #, -- and a space, /* */ (no nesting); /*! */ is code.
		{name: "a # comment with a quote", in: "# it's a comment\nUPDATE users SET password = 'x'", want: "# it's a comment\nUPDATE users SET password = '***'", all: true},
		{name: "-- and a quote", in: "-- it's a comment\nupdate t set token = 'x'", want: "-- it's a comment\nupdate t set token = '***'"},
		{name: "-- without a space", in: "update t set token = 'a'--'b'\n, name = 'n'", want: "update t set token = '***'--'***'\n, name = 'n'"},
		{name: "comments do not nest", in: "update t /* a /* b */ set token = 'x' /* c */", want: "update t /* a /* b */ set token = '***' /* c */"},
		{name: "version comments", in: "CREATE USER u /*!50706 IDENTIFIED BY 'pw' */ /*M!100100 , v IDENTIFIED BY 'q' */ /* IDENTIFIED BY 'r' */",
			want: "CREATE USER u /*!50706 IDENTIFIED BY '***' */ /*M!100100 , v IDENTIFIED BY '***' */ /* IDENTIFIED BY 'r' */", all: true},
		{name: "a version comment's end in a string", in: "update t set /*! token = '*/', name = 'n' */", want: "update t set /*! token = '***', name = 'n' */"},

		// Prefixes stay; 0x… and 0b… are strings.
		{name: "an introducer", in: "update t set token = _utf8mb4'x' COLLATE utf8mb4_bin, secret = _binary\"y\", name = _latin1'n'",
			want: "update t set token = _utf8mb4'***' COLLATE utf8mb4_bin, secret = _binary'***', name = _latin1'n'"},
		{name: "hexadecimal and bits", in: "update t set token = x'6b39', secret = 0x6b39, private_key = B'0110', pwd = 0b1, name = 0x6e, n = 1e-3",
			want: "update t set token = x'***', secret = '***', private_key = B'***', pwd = '***', name = 0x6e, n = 1e-3"},
		{name: "N", in: "update t set token = N'x', name = N'n'", want: "update t set token = N'***', name = N'n'"},

		// MySQL's operators and statements.
		{name: "<=>, REGEXP, RLIKE", in: "select 1 from t where token <=> 'a' and secret regexp '^b' and api_key not rlike 'c' and name <=> 'n'",
			want: "select 1 from t where token <=> '***' and secret regexp '***' and api_key not rlike '***' and name <=> 'n'"},
		// A collation named by a string is masked with the value.
		{name: "COLLATE", in: "select 1 from t where password COLLATE utf8mb4_bin = 'x' and 'y' collate 'utf8mb4_bin' = token and name collate latin1_bin = 'n'",
			want: "select 1 from t where password COLLATE utf8mb4_bin = '***' and '***' collate '***' = token and name collate latin1_bin = 'n'", all: true},
		{name: "replace", in: "REPLACE INTO users (name, password_hash) VALUES ('a', 'h')", want: "REPLACE INTO users (name, password_hash) VALUES ('a', '***')"},
		{name: "insert's modifiers", in: "insert low_priority ignore into t partition (p0) (a, token) value ('x', 'y')",
			want: "insert low_priority ignore into t partition (p0) (a, token) value ('x', '***')"},
		{name: "rows", in: "insert into t (a, token) values row('x', 'y'), row('z', ?)", want: "insert into t (a, token) values row('x', '***'), row('z', ?)", params: []int{1}},
		{name: "on duplicate key", in: "insert into t (id, token) values (1, 'a') as n on duplicate key update token = 'b', name = 'c'",
			want: "insert into t (id, token) values (1, '***') as n on duplicate key update token = '***', name = 'c'"},
		{name: "insert … set", in: "INSERT INTO t SET name = 'n', api_token = 'a'", want: "INSERT INTO t SET name = 'n', api_token = '***'"},
		{name: "the function replace", in: "update t set token = replace(token, 'a', 'b'), name = replace(name, 'c', 'd')",
			want: "update t set token = replace(token, '***', '***'), name = replace(name, 'c', 'd')"},
		{name: "a JSON member", in: `select 1 from t where data->>'$.api_token' = 'a' and data->>"$.name" = 'n'`,
			want: `select 1 from t where data->>'$.api_token' = '***' and data->>"$.name" = 'n'`},
		{name: "a cut statement", in: `update t set token = 'abc\' where`, want: `update t set token = '***'`},
		{name: "no secret", in: `select "token" from t where id = ?`, want: `select "token" from t where id = ?`},
	} {
		got, params, all := MySQL(c.in)
		if got != c.want {
			t.Errorf("%s: MySQL(%q)\n got %q\nwant %q", c.name, c.in, got, c.want)
		}
		if !slices.Equal(params, c.params) || all != c.all {
			t.Errorf("%s: MySQL(%q) params %v, all %v; want %v, %v", c.name, c.in, params, all, c.params, c.all)
		}
	}
}

// BenchmarkMySQL: MySQL against SQL on typical statements: one that
// names no secret (most traffic), an insert and an update that do.
func BenchmarkMySQL(b *testing.B) {
	for _, c := range []struct{ name, mysql, pg string }{
		{"no secret", "SELECT id, name, email FROM `users` WHERE id = ? AND deleted_at IS NULL",
			`SELECT id, name, email FROM "users" WHERE id = $1 AND deleted_at IS NULL`},
		{"insert", "INSERT INTO `users` (`email`, `name`, `password_hash`, `created_at`) VALUES ('a@example.com', 'Ann', '$2a$10$abcdefghijklmnopqrstuv', '2024-01-01 00:00:00')",
			`INSERT INTO "users" ("email", "name", "password_hash", "created_at") VALUES ('a@example.com', 'Ann', '$2a$10$abcdefghijklmnopqrstuv', '2024-01-01 00:00:00')`},
		{"update", "UPDATE `users` SET `api_token` = 'tok-1', `updated_at` = NOW() WHERE `id` = 42",
			`UPDATE "users" SET "api_token" = 'tok-1', "updated_at" = NOW() WHERE "id" = 42`},
	} {
		b.Run(c.name+"/MySQL", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MySQL(c.mysql)
			}
		})
		b.Run(c.name+"/SQL", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				SQL(c.pg)
			}
		})
	}
}

// TestContainsWordFold: as sqlMention finds the word password.
func TestContainsWordFold(t *testing.T) {
	for _, s := range []string{"password", "SET PASSWORD = 'x'", "x.password=1", "password_hash", "passwords", "a_password",
		"apassword", "password2", "(Password)", "pass word", "", "passwor", "[password]", "`password`", "password\x80"} {
		if got, want := containsWordFold(s, "password"), sqlMention().MatchString(s); got != want {
			t.Errorf("containsWordFold(%q) = %v, want %v (as sqlMention)", s, got, want)
		}
	}
}
