package mask

import (
	"strings"
)

// MySQL's and MariaDB's dialect of the SQL masking (sql.go): their
// lexer, and their ways of giving a password.

// MySQL masks secrets in a MySQL or MariaDB statement as SQL does in
// PostgreSQL's, read as MySQL reads it in its default sql_mode (see
// mysqlLex): 'it\'s' and "it\"s" are literals, `token` a column, ? a
// parameter, # a comment and /*! … */ code. It masks the same values
// and, as well, MySQL's passwords: IDENTIFIED BY 'x' (CREATE USER, ALTER
// USER, GRANT), IDENTIFIED {WITH | VIA} plugin {BY | AS | USING} 'x'
// (MariaDB's OR between plugins too), the current password after
// REPLACE, SET PASSWORD [FOR user] = 'x', and PASSWORD('x') and
// OLD_PASSWORD('x') wherever they are called; a column compared with
// <=>, REGEXP or RLIKE, and the rows of VALUES ROW(…), ….
//
// A masked literal keeps its prefix: _utf8mb4'***', N'***', X'***'; a
// number written in hexadecimal or bits (0x70, 0b1) is a string to
// MySQL and is masked as '***'. A double-quoted string where a column's
// name goes ("token" = 'x') is taken as that name too, as it is under
// ANSI_QUOTES: a value compared with a string is masked rather than
// written.
//
// params are the parameters given to secret columns, as SQL's are: each
// ? numbered by its place (1-based, sorted); all reports whether the
// statement mentions a password or IDENTIFIED at all (then every
// parameter is taken as secret).
//
// Source: the MySQL 8.4 and MariaDB reference manuals, "String
// Literals", "Hexadecimal Literals", "Bit-Value Literals", "Schema
// Object Names", "Comments", CREATE USER, ALTER USER and SET PASSWORD.
func MySQL(sql string) (masked string, params []int, all bool) {
	if !mysqlHint(sql) {
		return sql, nil, false
	}
	m := newSQLMask(sql, mysqlLex(sql), true)
	m.find()
	all = containsFold(sql, "identified") || containsWordFold(sql, "password")
	return m.rewrite(0), m.params(), all
}

// mysqlHint is hint, IDENTIFIED counted too, in one pass.
func mysqlHint(s string) bool {
	for i := 0; i+3 <= len(s); i++ {
		c := s[i] | 0x20
		if c == 'i' && hasFoldAt(s, i, "identified") {
			return true
		}
		for _, w := range hintWords[c] {
			if hasFoldAt(s, i, w) {
				return true
			}
		}
	}
	return false
}

// mysqlLex reads s into tokens as MySQL's and MariaDB's lexers do in the
// default sql_mode (the reference manuals' "String Literals", "Schema
// Object Names" and "Comments"); comments and space are left out.
//
//   - A literal is quoted with ' or " (its quote doubled inside or
//     escaped with a backslash), its prefix attached: N'…', X'…', B'…'
//     and a character set's introducer, _utf8mb4'…' or _binary"…". A
//     number in hexadecimal or bits, 0x41 or 0b1, is a literal too: a
//     string of bytes.
//   - A name is a word of letters, digits, $ and _ (2fa_secret is one:
//     a name may start with a digit), or quoted with backticks (one
//     doubled inside). A variable, @a or @@a, is a name too.
//   - ? is a parameter; $ starts neither a parameter nor a string.
//   - A comment runs from # or from -- and a space (or a control
//     character) to the end of the line, or from /* to the first */
//     (they do not nest). But /*! … */, /*!50700 … */ and MariaDB's
//     /*M! … */ hold code, read as the statement's own.
//
// A literal, quoted name or comment that does not end runs to the end.
// Under sql_mode's NO_BACKSLASH_ESCAPES a backslash escapes nothing and
// under ANSI_QUOTES a double-quoted string is a name: neither is read
// here (see MySQL).
func mysqlLex(s string) []sqlToken {
	var ts []sqlToken
	code := false // in a /*! … */ comment
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSQLSpace(c):
			i++
			continue
		case c == '#' || c == '-' && strings.HasPrefix(s[i:], "--") && (i+2 == len(s) || s[i+2] <= ' ' || s[i+2] == 0x7f):
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
			continue
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			if j := mysqlCode(s, i); j > i {
				i, code = j, true
			} else if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(s)
			}
			continue
		case c == '*' && code && strings.HasPrefix(s[i:], "*/"):
			i, code = i+2, false
			continue
		}
		t := sqlToken{kind: sqlPunct, from: i, to: i + 1}
		switch {
		case c == '\'' || c == '"':
			t.kind = sqlString
			t.to, _ = sqlQuoted(s, i, c, true)
		case c == '`':
			t.kind = sqlQIdent
			t.to, _ = sqlQuoted(s, i, c, false)
		case c == '?':
			t.kind = sqlParam
		case '0' <= c && c <= '9' || c == '.' && i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9' && !mysqlQualifier(ts, i):
			t.kind, t.to = mysqlNumber(s, i)
		case c == '@':
			j := i + 1
			if j < len(s) && s[j] == '@' {
				j++
			}
			if j < len(s) && isMySQLWord(s[j]) {
				for j++; j < len(s) && isMySQLWord(s[j]); j++ {
				}
				t.kind, t.to = sqlIdent, j
			}
		case isMySQLWord(c):
			j := i + 1
			for j < len(s) && isMySQLWord(s[j]) {
				j++
			}
			t.kind, t.to = sqlIdent, j
			// A literal's prefix: N'…' (escapes as in '…'), X'…' and
			// B'…' (hexadecimal and binary digits only), an
			// introducer _charset'…' or _charset"…".
			if j < len(s) && (s[j] == '\'' || s[j] == '"' && c == '_') && (c == '_' || j == i+1 && strings.IndexByte("nNxXbB", c) >= 0) {
				t.kind = sqlString
				t.to, _ = sqlQuoted(s, j, s[j], strings.IndexByte("xXbB", c) < 0)
			}
		case c == ':':
			if i+1 < len(s) && s[i+1] == '=' {
				t.kind, t.to = sqlOp, i+2
			}
		case strings.IndexByte(mysqlOpChars, c) >= 0:
			t.kind, t.to = sqlOp, i+1
			for _, op := range mysqlOps {
				if strings.HasPrefix(s[i:], op) {
					t.to = i + len(op)
					break
				}
			}
		}
		ts = append(ts, t)
		i = t.to
	}
	return ts
}

// mysqlQualifier reports whether a dot at i qualifies the name before
// it (t.2fa_secret): a name follows, not a number (.5).
func mysqlQualifier(ts []sqlToken, i int) bool {
	if len(ts) == 0 {
		return false
	}
	t := ts[len(ts)-1]
	return t.to == i && (t.kind == sqlIdent || t.kind == sqlQIdent)
}

// mysqlOpChars are the characters MySQL's operators are made of; an
// operator is one of them, or one of mysqlOps (longest first).
const mysqlOpChars = "=<>!~^|&+-*/%"

var mysqlOps = [...]string{"<=>", "->>", "<>", "!=", "<=", ">=", "<<", ">>", "||", "&&", "->"}

// mysqlCode returns where the code of a /*! … */ or /*M! … */ comment at
// i starts, past its version (/*!50700); i when the comment at i is
// another.
func mysqlCode(s string, i int) int {
	j := i + 3
	switch {
	case strings.HasPrefix(s[i:], "/*!"):
	case strings.HasPrefix(s[i:], "/*M!"):
		j++
	default:
		return i
	}
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	return j
}

// mysqlNumber reads the token at i, a digit or a dot before one: a
// number (1, 1.5, .5, 1e-3), a literal in hexadecimal or bits (0x41,
// 0b1) or a name that starts with digits (2fa_secret).
func mysqlNumber(s string, i int) (sqlKind, int) {
	if s[i] == '0' && i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'b') {
		digits := "0123456789abcdefABCDEF"
		if s[i+1] == 'b' {
			digits = "01"
		}
		j := i + 2
		for j < len(s) && strings.IndexByte(digits, s[j]) >= 0 {
			j++
		}
		if j > i+2 && (j == len(s) || !isMySQLWord(s[j])) {
			return sqlString, j
		}
	}
	j := i
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j < len(s) && isMySQLWord(s[j]) && !mysqlExponent(s, j) {
		for j++; j < len(s) && isMySQLWord(s[j]); j++ {
		}
		return sqlIdent, j
	}
	if j < len(s) && s[j] == '.' {
		for j++; j < len(s) && '0' <= s[j] && s[j] <= '9'; j++ {
		}
	}
	if mysqlExponent(s, j) {
		for j += 2; j < len(s) && '0' <= s[j] && s[j] <= '9'; j++ {
		}
	}
	return sqlNumber, j
}

// mysqlExponent reports whether a number's exponent starts at j: e or E,
// a sign or not, a digit.
func mysqlExponent(s string, j int) bool {
	if j+1 >= len(s) || s[j] != 'e' && s[j] != 'E' {
		return false
	}
	if s[j+1] == '+' || s[j+1] == '-' {
		j++
	}
	return j+1 < len(s) && '0' <= s[j+1] && s[j+1] <= '9'
}

func isMySQLWord(c byte) bool { return isSQLWord(c) || c == '$' }

// mysqlPassword marks the password that MySQL's word PASSWORD at k
// gives: PASSWORD 'x' (IDENTIFIED BY PASSWORD '*hash', a server's
// OPTIONS), PASSWORD('x') (a function), SET PASSWORD [FOR user] = 'x'
// [REPLACE 'current'].
func (m *sqlMask) mysqlPassword(k int) {
	switch {
	case k+1 < len(m.ts) && m.ts[k+1].kind == sqlString:
		m.secretValue(k + 1)
	case m.is(k+1, "("):
		m.values(k+1, m.after(k+1))
	case m.word(k-1, "set"):
		// The user is a name, 'u'@'h' or CURRENT_USER(): three tokens
		// at most.
		i := k + 1
		if m.word(i, "for") {
			for i += 2; i < k+6 && !m.is(i, "="); i++ {
			}
		}
		if m.is(i, "=") {
			m.replace(m.secretValue(i + 1))
		}
	}
}

// identified marks the passwords of MySQL's IDENTIFIED at k: BY 'x', BY
// PASSWORD '*hash', {WITH | VIA} plugin [{BY | AS | USING} 'x'] (MariaDB
// joins plugins with OR, and its USING takes PASSWORD('x') too), each
// with REPLACE 'current' after.
func (m *sqlMask) identified(k int) {
	i := k + 1
	switch {
	case m.word(i, "by"):
		if m.word(i+1, "password") {
			i++
		}
		i = m.secretValue(i + 1)
	case m.word(i, "with"), m.word(i, "via"):
		for {
			i += 2 // WITH, VIA or OR, and the plugin
			if m.word(i, "by") || m.word(i, "as") || m.word(i, "using") {
				i = m.secretValue(i + 1)
			}
			if !m.word(i, "or") {
				break
			}
		}
	default:
		return
	}
	m.replace(i)
}
