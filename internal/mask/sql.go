package mask

import (
	"slices"
	"strconv"
	"strings"
)

// SQL masks secrets in a statement: every literal given to a column whose
// name says it holds a secret (see sqlSecretColumn), and PASSWORD
// literals (CREATE or ALTER ROLE, USER MAPPING options). A value is given
// to a column when it is
//
//   - compared or assigned: col = v, col <> v, col LIKE v (ILIKE,
//     SIMILAR TO), col IN (v, …), col IS DISTINCT FROM v, v = col,
//     v = ANY(col), SET col = v, a named argument col => v, a setting's
//     SET app.col TO v, and a JSON member data->>'col' = v (the member
//     named like a column);
//   - at the column's place in a row: SET (a, col) = (x, v), the same with
//     ROW(…) or a sub-select, (a, col) IN ((x, v), …);
//   - inserted: INSERT INTO t [AS u] (a, col) VALUES (x, v), … (every
//     row) or SELECT x, v, and MERGE's INSERT (a, col) VALUES (x, v);
//   - in a VALUES list named by its alias: (VALUES (x, v)) AS t(a, col).
//
// v is a whole expression: each literal in it is masked, so that
// crypt('pw', gen_salt('bf')) and 'pw'::text lose the password too.
// Literals are read as PostgreSQL reads them (a quote doubled inside,
// E'it\'s', $$…$$, $tag$…$tag$, B'…', X'…', N'…', U&'…'), so neither
// quotes nor a dollar-quoted string ($$…$$ is no parameter) can hide a
// value or make up one; a literal that runs to the end (a statement cut
// short) is masked whole. The dollar-quoted body of a DO block or a
// function (AS $$ … $$) is masked as a statement of its own.
//
// SQL reports the parameters ($n, 1-based, sorted) given to such columns
// the same ways (params), and whether the statement mentions a password
// at all (all: then every parameter is taken as secret).
//
// MySQL reads MySQL's and MariaDB's statements.
func SQL(sql string) (masked string, params []int, all bool) {
	if !hint(sql) {
		return sql, nil, false
	}
	masked, params = maskSQL(sql, false, 0)
	all = containsFold(sql, "password") && sqlMention().MatchString(sql)
	return masked, params, all
}

// sqlText masks SQL met in free text (a log line, a failure message) as
// SQL does, read leniently (see sqlLex).
func sqlText(s string) string {
	s, _ = maskSQL(s, true, 0)
	return s
}

// sqlMention finds the word password anywhere in a statement (a literal
// too: set_config('app.password', $1, false)).
var sqlMention = lazyRE(`(?i)\bpassword\b`)

// sqlMaxNest is how deep dollar-quoted bodies are masked as statements
// of their own (a function created in a DO block, …); deeper ones are
// left as they are.
const sqlMaxNest = 4

// maskSQL masks s (text: free text, read leniently) and returns the
// parameters given to secret columns; nest counts the dollar-quoted
// bodies s is in.
func maskSQL(s string, text bool, nest int) (string, []int) {
	m := newSQLMask(s, sqlLex(s, text), false)
	m.find()
	return m.rewrite(nest), m.params()
}

// containsWordFold reports whether s holds the lower-case ASCII word w,
// in any case, as a word of its own: no letter, digit or _ on either
// side (sqlMention's \b, without a regexp's cost).
func containsWordFold(s, w string) bool {
	isWord := func(c byte) bool { return c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' }
	for i := 0; i+len(w) <= len(s); i++ {
		if hasFoldAt(s, i, w) && (i == 0 || !isWord(s[i-1])) && (i+len(w) == len(s) || !isWord(s[i+len(w)])) {
			return true
		}
	}
	return false
}

type sqlKind uint8

const (
	sqlIdent  sqlKind = iota + 1 // a bare word: a name or a keyword
	sqlQIdent                    // a quoted name: "a", U&"a"
	sqlString                    // a literal: 'a', E'a', B'1', X'f', N'a', U&'a', $$a$$, $t$a$t$
	sqlParam                     // $1
	sqlNumber                    // 1, 1.5, 1e3
	sqlOp                        // an operator: =, <>, ||, =>, :=, …
	sqlPunct                     // ( ) [ ] , ; . :: and any other byte
)

// sqlToken is a token of a statement: s[from:to].
type sqlToken struct {
	kind     sqlKind
	from, to int
}

// sqlLex reads s into tokens as PostgreSQL's lexer does; comments and
// space are left out. A literal, quoted name or comment that does not end
// runs to the end (the statement was cut short).
//
// text reads free text instead, where a quote is as often an apostrophe
// and a quoted name is as often a quotation, so that SQL in a sentence
// or in a quoted string is still found (a name may be quoted as MySQL
// quotes it, `a`, as well): a quote just after a letter or
// digit (can't, users') starts no literal (in a statement that is a
// typed literal without its space, date'2024-01-01', which is rare); a
// literal, dollar-quoted string or block comment that does not end is a
// stray character; a double-quoted name holds no space nor quote
// ("update t set token = 'x'" is a quotation); "--" starts no comment.
//
// In text, a block comment or dollar-quoted string that does not end is
// looked for to the end each time; after sqlMaxStrays of them, /* and $
// are read as characters, so that reading stays linear.
func sqlLex(s string, text bool) []sqlToken {
	var ts []sqlToken
	strays := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSQLSpace(c):
			i++
			continue
		case c == '-' && strings.HasPrefix(s[i:], "--") && !text:
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
			continue
		case c == '/' && strings.HasPrefix(s[i:], "/*") && strays < sqlMaxStrays:
			j, ok := sqlBlockComment(s, i)
			if ok || !text {
				i = j
				continue
			}
			strays++
		}
		t := sqlToken{kind: sqlPunct, from: i, to: i + 1}
		switch {
		case c == '\'':
			if text && i > 0 && isSQLWord(s[i-1]) {
				break // an apostrophe
			}
			if end, ok := sqlQuoted(s, i, '\'', false); ok || !text {
				t.kind, t.to = sqlString, end
			}
		case c == '"':
			if end, ok := sqlQuoted(s, i, '"', false); !text || ok && !strings.ContainsAny(s[i+1:end-1], " \t\r\n'") {
				t.kind, t.to = sqlQIdent, end
			}
		case c == '`' && text:
			// Free text holds MySQL's statements too (GORM's log of
			// INSERT INTO `users` (`api_token`) VALUES ('…')): a
			// backquoted name, read as the double-quoted one.
			if end, ok := sqlQuoted(s, i, '`', false); ok && !strings.ContainsAny(s[i+1:end-1], " \t\r\n'\"") {
				t.kind, t.to = sqlQIdent, end
			}
		case c == '$':
			j := i + 1
			for j < len(s) && '0' <= s[j] && s[j] <= '9' {
				j++
			}
			if j > i+1 {
				t.kind, t.to = sqlParam, j
				break
			}
			if strays >= sqlMaxStrays {
				break
			}
			end, ok, quote := sqlDollar(s, i)
			switch {
			case quote && (ok || !text):
				t.kind, t.to = sqlString, end
			case quote:
				strays++
			}
		case isSQLWordStart(c):
			j := i + 1
			for j < len(s) && (isSQLWord(s[j]) || s[j] == '$') {
				j++
			}
			t.kind, t.to = sqlIdent, j
			// A literal's or a name's prefix: E'…' (with backslash
			// escapes), B'…', X'…', N'…', U&'…', U&"…".
			switch {
			case j == i+1 && j < len(s) && s[j] == '\'' && strings.IndexByte("eEbBxXnN", c) >= 0:
				if end, ok := sqlQuoted(s, j, '\'', c == 'e' || c == 'E'); ok || !text {
					t.kind, t.to = sqlString, end
				}
			case j == i+1 && (c == 'u' || c == 'U') && j+1 < len(s) && s[j] == '&' && (s[j+1] == '\'' || s[j+1] == '"'):
				if end, ok := sqlQuoted(s, j+1, s[j+1], false); ok || !text {
					t.kind, t.to = sqlString, end
					if s[j+1] == '"' {
						t.kind = sqlQIdent
					}
				}
			}
		case '0' <= c && c <= '9' || c == '.' && i+1 < len(s) && '0' <= s[i+1] && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && (isSQLWord(s[j]) || s[j] == '.') {
				j++
			}
			t.kind, t.to = sqlNumber, j
		case c == ':':
			if i+1 < len(s) && (s[i+1] == ':' || s[i+1] == '=') {
				t.to = i + 2
				if s[i+1] == '=' {
					t.kind = sqlOp
				}
			}
		case strings.IndexByte(sqlOpChars, c) >= 0:
			t.kind, t.to = sqlOp, sqlOpEnd(s, i, text)
		}
		ts = append(ts, t)
		i = t.to
	}
	return ts
}

// sqlMaxStrays is how many block comments and dollar-quoted strings
// that do not end free text may start before /* and $ are read as
// characters.
const sqlMaxStrays = 16

const sqlOpChars = "+-*/<>=~!@#%^&|`?"

// sqlOpEnd returns the end of the operator at i, as PostgreSQL cuts one:
// it stops before a comment, and does not end in + or - unless it holds
// one of ~!@#%^&|`? (a=-1 is a = -1).
func sqlOpEnd(s string, i int, text bool) int {
	j := i
	for j < len(s) && strings.IndexByte(sqlOpChars, s[j]) >= 0 {
		if j > i && (strings.HasPrefix(s[j:], "/*") || !text && strings.HasPrefix(s[j:], "--")) {
			break
		}
		j++
	}
	if j-i > 1 && !strings.ContainsAny(s[i:j], "~!@#%^&|`?") {
		for j-i > 1 && (s[j-1] == '+' || s[j-1] == '-') {
			j--
		}
	}
	return j
}

// sqlQuoted returns the end of the quoted string or name at i (its
// closing quote doubled inside; backslash escapes it too in an E'…'
// string) and whether it ends; one that does not runs to the end.
func sqlQuoted(s string, i int, q byte, backslash bool) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return len(s), false
}

// sqlDollar reads a dollar-quoted string at i: quote says whether one
// starts there ($$ or $tag$), end is its end and ok whether it ends (one
// that does not runs to the end).
func sqlDollar(s string, i int) (end int, ok, quote bool) {
	j := i + 1
	if j < len(s) && isSQLWordStart(s[j]) {
		for j++; j < len(s) && isSQLWord(s[j]); j++ {
		}
	}
	if j >= len(s) || s[j] != '$' {
		return 0, false, false
	}
	tag := s[i : j+1]
	if k := strings.Index(s[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag), true, true
	}
	return len(s), false, true
}

// sqlDollarTag returns the length of a dollar-quoted string's tag ($$: 2).
func sqlDollarTag(lit string) int {
	return strings.IndexByte(lit[1:], '$') + 2
}

// sqlBlockComment returns the end of the block comment at i (they nest)
// and whether it ends.
func sqlBlockComment(s string, i int) (int, bool) {
	depth := 0
	for j := i; j+1 < len(s); j++ {
		switch {
		case s[j] == '/' && s[j+1] == '*':
			depth++
			j++
		case s[j] == '*' && s[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return len(s), false
}

func isSQLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isSQLWordStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= 0x80
}

func isSQLWord(c byte) bool { return isSQLWordStart(c) || '0' <= c && c <= '9' }

// sqlMask finds, on a statement's tokens, the literals and parameters
// given to secret columns.
type sqlMask struct {
	s      string
	ts     []sqlToken
	match  []int  // for a bracket or CASE, the index of what closes or opens it (END); -1: none
	secret []bool // tokens (literals and parameters) given to a secret column
	// taken counts, at each token, the spans of values (see values)
	// that start there less those that end there: a token is in one
	// when the sum up to it is positive. Nested spans (INSERT in INSERT)
	// then cost no more than one.
	taken []int

	// fellBack is the end of the values taken for an INSERT whose
	// source is not read here: an INSERT before it (inside that one's
	// statement) has its values taken already, and looking for each
	// one's end again would take time squared.
	fellBack int

	// mysql: the statement is MySQL's (tokens from mysqlLex), and
	// MySQL's forms are read too (see MySQL).
	mysql bool
}

func newSQLMask(s string, ts []sqlToken, mysql bool) *sqlMask {
	m := &sqlMask{s: s, ts: ts, mysql: mysql}
	m.match = make([]int, len(m.ts))
	m.secret = make([]bool, len(m.ts))
	m.taken = make([]int, len(m.ts)+1)
	var open, cases []int
	for i := range m.ts {
		m.match[i] = -1
		switch {
		case m.word(i, "case"):
			cases = append(cases, i)
		case m.word(i, "end") && len(cases) > 0:
			m.match[cases[len(cases)-1]], m.match[i] = i, cases[len(cases)-1]
			cases = cases[:len(cases)-1]
		case m.is(i, "(") || m.is(i, "["):
			open = append(open, i)
		case (m.is(i, ")") || m.is(i, "]")) && len(open) > 0:
			o := open[len(open)-1]
			if m.s[m.ts[o].from] == "(["[strings.IndexByte(")]", m.s[m.ts[i].from])] {
				open = open[:len(open)-1]
				m.match[o], m.match[i] = i, o
			}
		}
	}
	return m
}

// find marks the values given to secret columns.
func (m *sqlMask) find() {
	defer m.mark()
	for k, t := range m.ts {
		switch {
		case t.kind == sqlOp:
			switch m.tok(k) {
			case "=", "<>", "!=", "=>", ":=":
				m.compare(k, k+1, false)
			case "<=>":
				if m.mysql {
					m.compare(k, k+1, false)
				}
			}
		case m.word(k, "like"), m.word(k, "ilike"), m.mysql && (m.word(k, "regexp") || m.word(k, "rlike")):
			m.compare(m.notBefore(k), k+1, false)
		case m.word(k, "to"):
			// SET [SESSION] app.token TO 'x'; col [NOT] SIMILAR TO 'x%'.
			if m.word(k-1, "similar") {
				m.compare(m.notBefore(k-1), k+1, false)
			} else {
				m.compare(k, k+1, false)
			}
		case m.word(k, "in"):
			m.compare(m.notBefore(k), k+1, true)
		case m.word(k, "from") && m.word(k-1, "distinct"):
			if l := m.notBefore(k - 1); m.word(l-1, "is") {
				m.compare(l-1, k+1, false)
			}
		case m.word(k, "password"):
			// PASSWORD 'x': CREATE or ALTER ROLE and USER, a user
			// mapping's or a server's OPTIONS (password 'x').
			switch {
			case m.mysql:
				m.mysqlPassword(k)
			case k+1 < len(m.ts) && m.ts[k+1].kind == sqlString:
				m.values(k+1, k+2)
			}
		case m.word(k, "insert"):
			m.insert(k)
		case m.mysql && m.word(k, "replace") && !m.is(k+1, "("):
			m.insert(k) // REPLACE [INTO] t (cols) VALUES …, not the function
		case m.mysql && m.word(k, "identified"):
			m.identified(k)
		case m.mysql && m.word(k, "old_password") && m.is(k+1, "("):
			m.values(k+1, m.after(k+1))
		case m.word(k, "values") && m.is(k-1, "("):
			m.aliasedValues(k)
		}
	}
}

// replace marks the current password after REPLACE at i, if any (ALTER
// USER … IDENTIFIED BY 'new' REPLACE 'current', SET PASSWORD the same).
func (m *sqlMask) replace(i int) {
	if m.word(i, "replace") {
		m.secretValue(i + 1)
	}
}

// secretValue takes the expression at i as secret and returns its end.
func (m *sqlMask) secretValue(i int) int {
	end := m.expr(i)
	m.values(i, end)
	return end
}

// compare marks the values on one side of a comparison or assignment
// whose other side is a secret column: the left operand ends before
// lEnd, the right one starts at rStart; in: the right one is an IN list.
func (m *sqlMask) compare(lEnd, rStart int, in bool) {
	lFrom, rEnd := m.operandBack(lEnd), m.expr(rStart)
	if lFrom == lEnd || rEnd == rStart {
		return
	}
	if name, ok := m.column(lFrom, lEnd); ok || m.member(lFrom, lEnd, &name) {
		if sqlSecretColumn(name) {
			m.values(rStart, rEnd)
		}
	} else if cols := m.columns(lFrom, lEnd); anySecret(cols) {
		m.tuple(cols, rStart, rEnd, in)
	}
	if m.secretOperand(rStart, rEnd) {
		m.values(lFrom, lEnd)
	}
}

// member reports whether tokens [from, to) are a JSON member's name,
// data->>'token', and sets name to it: the member is a column of its own.
func (m *sqlMask) member(from, to int, name *string) bool {
	if to-from != 1 || m.ts[from].kind != sqlString || !m.is(from-1, "->>") && !m.is(from-1, "->") {
		return false
	}
	lit := m.tok(from)
	q := lit[0]
	if len(lit) < 2 || q != '\'' && (q != '"' || !m.mysql) || lit[len(lit)-1] != q {
		return false
	}
	*name = strings.ReplaceAll(lit[1:len(lit)-1], string(q)+string(q), string(q))
	return true
}

// notBefore returns where the operator at k starts when a NOT comes
// before it (NOT IN, NOT LIKE).
func (m *sqlMask) notBefore(k int) int {
	if m.word(k-1, "not") {
		return k - 1
	}
	return k
}

// secretOperand reports whether tokens [from, to) name a secret column:
// col, t.col, col::text, ANY(col), ALL(col).
func (m *sqlMask) secretOperand(from, to int) bool {
	if (m.word(from, "any") || m.word(from, "some") || m.word(from, "all")) && m.is(from+1, "(") && m.match[from+1] == to-1 {
		from, to = from+2, to-1
	}
	name, ok := m.column(from, to)
	return ok && sqlSecretColumn(name)
}

// tuple marks the values at a secret column's place in the rows on the
// right of (cols) = (…) or (cols) IN ((…), …); a right side of another
// shape has every value marked.
func (m *sqlMask) tuple(cols []string, rStart, rEnd int, in bool) {
	var rows [][][2]int
	if open := m.rowOpen(rStart); open >= 0 && m.after(open) == rEnd {
		if in && !m.word(open+1, "select") {
			for _, el := range m.elements(open) {
				o := m.rowOpen(el[0])
				if o < 0 || m.after(o) != el[1] {
					rows = nil
					break
				}
				rows = append(rows, m.row(o))
			}
		} else {
			rows = [][][2]int{m.row(open)}
		}
	}
	if rows == nil {
		m.values(rStart, rEnd)
		return
	}
	for _, row := range rows {
		m.place(cols, row)
	}
}

// place marks, in a row's values, those at a secret column's place; a
// value past the columns is marked too.
func (m *sqlMask) place(cols []string, row [][2]int) {
	for i, v := range row {
		if i >= len(cols) || sqlSecretColumn(cols[i]) {
			m.values(v[0], v[1])
		}
	}
}

// insert marks the values inserted into secret columns by the INSERT at
// k: INSERT INTO t [AS u] (cols) [OVERRIDING … VALUE] VALUES (…), … or
// SELECT …; MERGE's INSERT (cols) VALUES (…) names no table. MySQL's
// INSERT and REPLACE take [LOW_PRIORITY | DELAYED | HIGH_PRIORITY]
// [IGNORE] before INTO, PARTITION (p, …) after the table, VALUE for
// VALUES and ROW(…) for a row.
func (m *sqlMask) insert(k int) {
	i := k + 1
	for m.mysql && (m.word(i, "low_priority") || m.word(i, "delayed") || m.word(i, "high_priority") || m.word(i, "ignore")) {
		i++
	}
	if m.word(i, "into") {
		i++
	}
	if m.name(i) && !m.reserved(i) {
		for i++; m.is(i, ".") && m.name(i+1); i += 2 {
		}
	}
	if m.mysql && m.word(i, "partition") && m.is(i+1, "(") {
		i = m.after(i + 1)
	}
	if m.word(i, "as") && m.name(i+1) {
		i += 2
	}
	if !m.is(i, "(") {
		return
	}
	cols := m.columns(i, m.after(i))
	if !anySecret(cols) {
		return
	}
	i = m.after(i)
	if m.word(i, "overriding") {
		i += 3
	}
	switch {
	case m.word(i, "values"), m.mysql && m.word(i, "value"):
		m.rows(cols, i+1)
	case m.word(i, "select"):
		for i >= 0 {
			row, end := m.selectList(i)
			m.place(cols, row)
			i = m.nextSelect(end)
		}
	case m.word(i, "default"):
	case i < m.fellBack:
		// An INSERT inside one whose values are all taken already.
	default:
		// A source not read here (WITH …, TABLE t, a statement cut
		// short): every value up to the statement's end is taken as
		// secret rather than none.
		m.fellBack = m.statementEnd(i)
		m.values(i, m.fellBack)
	}
}

// aliasedValues marks the values given to secret columns by a VALUES list
// that its alias names: (VALUES (x, v), …) AS t(a, col); k is VALUES.
func (m *sqlMask) aliasedValues(k int) {
	close := m.match[k-1]
	if close < 0 {
		return
	}
	i := close + 1
	if m.word(i, "as") {
		i++
	}
	if !m.name(i) || m.reserved(i) || !m.is(i+1, "(") {
		return
	}
	if cols := m.columns(i+1, m.after(i+1)); anySecret(cols) {
		m.rows(cols, k+1)
	}
}

// rows marks the values at secret columns' places in a VALUES list's
// rows, from i (in MySQL, ROW(…) is a row too).
func (m *sqlMask) rows(cols []string, i int) {
	for {
		open := i
		if m.mysql {
			open = m.rowOpen(i)
		}
		if !m.is(open, "(") {
			return
		}
		m.place(cols, m.row(open))
		i = m.after(open)
		if !m.is(i, ",") {
			return
		}
		i++
	}
}

// row returns the values of the row whose opening parenthesis is at open
// (ROW( … ) too, or ( SELECT … )), as token ranges.
func (m *sqlMask) row(open int) [][2]int {
	if m.word(open+1, "select") {
		row, _ := m.selectList(open + 1)
		return row
	}
	return m.elements(open)
}

// rowOpen returns where the row at i opens: ( or ROW( ; -1: no row.
func (m *sqlMask) rowOpen(i int) int {
	if m.word(i, "row") {
		i++
	}
	if m.is(i, "(") {
		return i
	}
	return -1
}

// elements returns the comma-separated items inside the brackets that
// open at open, as token ranges.
func (m *sqlMask) elements(open int) [][2]int {
	end := m.after(open) - 1 // the closing bracket, or the end
	if m.match[open] < 0 {
		end = len(m.ts)
	}
	var els [][2]int
	from := open + 1
	for i := from; i < end; {
		switch {
		case m.is(i, "(") || m.is(i, "["):
			i = m.after(i)
		case m.is(i, ","):
			els = append(els, [2]int{from, i})
			i++
			from = i
		default:
			i++
		}
	}
	if from < end {
		els = append(els, [2]int{from, end})
	}
	return els
}

// selectList returns the items of the SELECT at k and where they end.
func (m *sqlMask) selectList(k int) ([][2]int, int) {
	i := k + 1
	switch {
	case m.word(i, "distinct") && m.word(i+1, "on") && m.is(i+2, "("):
		i = m.after(i + 2)
	case m.word(i, "distinct"), m.word(i, "all"):
		i++
	}
	var items [][2]int
	from := i
	for ; i < len(m.ts); i++ {
		if m.is(i, "(") || m.is(i, "[") {
			i = m.after(i) - 1
			continue
		}
		if m.is(i, ",") {
			items = append(items, [2]int{from, i})
			from = i + 1
			continue
		}
		if m.is(i, ")") || m.is(i, "]") || m.is(i, ";") || m.selectEnd(i) {
			break
		}
	}
	if from < i {
		items = append(items, [2]int{from, i})
	}
	return items, i
}

// selectEnd reports whether the word at i ends a SELECT's list: a
// clause, or another statement's first word (statements in free text
// need no semicolon between them).
func (m *sqlMask) selectEnd(i int) bool {
	if m.ts[i].kind != sqlIdent {
		return false
	}
	switch strings.ToLower(m.tok(i)) {
	case "from", "where", "group", "having", "window", "order", "limit", "offset", "fetch", "for",
		"union", "intersect", "except", "into", "returning", "on":
		return true
	}
	return m.statementWord(i)
}

// statementWord reports whether the word at i starts a statement that
// no SELECT list nor clause holds unbracketed.
func (m *sqlMask) statementWord(i int) bool {
	return m.word(i, "insert") || m.word(i, "update") || m.word(i, "delete") || m.word(i, "merge")
}

// nextSelect returns the SELECT that a UNION, INTERSECT or EXCEPT after i
// joins to the one before (in the same parentheses and statement, which
// another statement's first word ends too); -1: none.
func (m *sqlMask) nextSelect(i int) int {
	for ; i < len(m.ts); i++ {
		switch {
		case m.is(i, "(") || m.is(i, "["):
			i = m.after(i) - 1
		case m.is(i, ")") || m.is(i, "]") || m.is(i, ";") || m.word(i, "on") || m.word(i, "returning") ||
			m.word(i, "select") || m.statementWord(i):
			return -1
		case m.word(i, "union") || m.word(i, "intersect") || m.word(i, "except"):
			j := i + 1
			if m.word(j, "all") || m.word(j, "distinct") {
				j++
			}
			if m.word(j, "select") {
				return j
			}
			return -1
		}
	}
	return -1
}

// statementEnd returns the ; that ends the statement i is in, outside
// brackets, or the end.
func (m *sqlMask) statementEnd(i int) int {
	for ; i < len(m.ts); i++ {
		switch {
		case m.is(i, "(") || m.is(i, "["):
			i = m.after(i) - 1
		case m.is(i, ";"):
			return i
		}
	}
	return len(m.ts)
}

// expr returns the end of the expression that starts at i: operands
// joined by operators other than comparisons (so that a = 'x' AND b = 'y'
// and SET a = 'x', b = 'y' end at AND and the comma).
func (m *sqlMask) expr(i int) int {
	for {
		j := m.operand(i)
		if j == i {
			return i
		}
		i = j
		if i >= len(m.ts) || m.ts[i].kind != sqlOp {
			return i
		}
		switch m.tok(i) {
		case "=", "<>", "!=", "<", ">", "<=", ">=", "=>", ":=":
			return i
		case "<=>":
			if m.mysql {
				return i
			}
		}
		i++
	}
}

// operand returns the end of the operand that starts at i (i: none): a
// literal (adjacent ones on lines of their own are one), a parameter, a
// number, a name or call (t.col, crypt(…), ANY(…), ROW(…), ARRAY[…]), a
// typed literal (interval '1 day'), a parenthesized expression or CASE …
// END, with a sign before and casts and subscripts after.
func (m *sqlMask) operand(i int) int {
	start := i
	for m.is(i, "-") || m.is(i, "+") {
		i++
	}
	if i >= len(m.ts) {
		return start
	}
	switch t := m.ts[i]; {
	case t.kind == sqlString:
		// MySQL joins adjacent literals whatever is between them.
		for i++; i < len(m.ts) && m.ts[i].kind == sqlString && (m.mysql || strings.ContainsAny(m.s[m.ts[i-1].to:m.ts[i].from], "\n\r")); i++ {
		}
	case t.kind == sqlParam || t.kind == sqlNumber:
		i++
	case m.is(i, "("):
		i = m.after(i)
	case m.word(i, "case"):
		i = m.after(i)
	case m.name(i) && !m.reserved(i):
		for i++; m.is(i, ".") && m.name(i+1); i += 2 {
		}
		switch {
		case i < len(m.ts) && m.ts[i].kind == sqlString:
			i++
		case m.is(i, "(") || m.is(i, "["):
			i = m.after(i)
		}
	default:
		return start
	}
	for {
		switch {
		case m.is(i, "::") && m.name(i+1):
			for i += 2; m.is(i, "(") || m.is(i, "["); {
				i = m.after(i)
			}
		case m.is(i, "["):
			i = m.after(i)
		default:
			return i
		}
	}
}

// operandBack returns where the operand that ends before k starts (k:
// none): a literal or parameter, a column (t.col), a call or a
// parenthesized list ((a, b), ROW(a, b)), with casts after (in MySQL,
// COLLATE c too).
func (m *sqlMask) operandBack(k int) int {
	j := k - 1
	for {
		e := j
		for e >= 0 && (m.is(e, ")") || m.is(e, "]")) && m.match[e] >= 0 {
			e = m.match[e] - 1
		}
		if e >= 1 && m.name(e) && m.is(e-1, "::") {
			j = e - 2
			continue
		}
		if m.mysql && m.collation(j) {
			j -= 2
			continue
		}
		break
	}
	if j < 0 {
		return k
	}
	switch t := m.ts[j]; {
	case t.kind == sqlString || t.kind == sqlParam || t.kind == sqlNumber:
		return j
	case (m.is(j, ")") || m.is(j, "]")) && m.match[j] >= 0:
		j = m.match[j]
		if m.name(j-1) && !m.reserved(j-1) {
			j--
		}
	case m.name(j) && !m.reserved(j):
	default:
		return k
	}
	for m.is(j-1, ".") && m.name(j-2) {
		j -= 2
	}
	return j
}

// column returns the column that tokens [from, to) name: col, t.col,
// "col", s.t."col", with casts after (col::text; in MySQL, col COLLATE
// utf8mb4_bin too).
func (m *sqlMask) column(from, to int) (string, bool) {
	if from >= to || !m.colName(from) || m.reserved(from) {
		return "", false
	}
	i := from
	for m.is(i+1, ".") && m.colName(i+2) && i+2 < to {
		i += 2
	}
	name := i
	for i++; i < to; {
		if m.mysql && i+1 < to && m.collation(i+1) {
			i += 2
			continue
		}
		if !m.is(i, "::") || !m.name(i+1) {
			return "", false
		}
		for i += 2; i < to && (m.is(i, "(") || m.is(i, "[")); {
			i = m.after(i)
		}
	}
	if i != to {
		return "", false
	}
	return m.nameAt(name), true
}

// collation reports whether token i names a collation after COLLATE
// (MySQL's col COLLATE utf8mb4_bin, which reads as a cast).
func (m *sqlMask) collation(i int) bool {
	return i >= 1 && i < len(m.ts) && m.word(i-1, "collate") && (m.name(i) || m.ts[i].kind == sqlString)
}

// columns returns the columns listed by tokens [from, to): (a, t.b) or
// ROW(a, b); nil: they are no such list.
func (m *sqlMask) columns(from, to int) []string {
	open := m.rowOpen(from)
	if open < 0 || m.match[open] != to-1 {
		return nil
	}
	var cols []string
	for _, el := range m.elements(open) {
		c, ok := m.column(el[0], el[1])
		if !ok {
			return nil
		}
		cols = append(cols, c)
	}
	return cols
}

func anySecret(cols []string) bool { return slices.ContainsFunc(cols, sqlSecretColumn) }

// values takes the literals and parameters among tokens [from, to) as
// secret (mark marks them).
func (m *sqlMask) values(from, to int) {
	to = min(to, len(m.ts))
	if from < to {
		m.taken[from]++
		m.taken[to]--
	}
}

// mark marks the literals and parameters in the spans values took.
func (m *sqlMask) mark() {
	in := 0
	for i, t := range m.ts {
		in += m.taken[i]
		m.secret[i] = in > 0 && (t.kind == sqlString || t.kind == sqlParam)
	}
}

// after returns the index after the bracket (or END) that closes the one
// (or CASE) at i; the end when none does.
func (m *sqlMask) after(i int) int {
	if m.match[i] < 0 {
		return len(m.ts)
	}
	return m.match[i] + 1
}

func (m *sqlMask) tok(i int) string { return m.s[m.ts[i].from:m.ts[i].to] }

// is reports whether token i is the punctuation or operator p.
func (m *sqlMask) is(i int, p string) bool {
	return i >= 0 && i < len(m.ts) && (m.ts[i].kind == sqlPunct || m.ts[i].kind == sqlOp) && m.tok(i) == p
}

// word reports whether token i is the bare word w (lower-case), in any
// case.
func (m *sqlMask) word(i int, w string) bool {
	return i >= 0 && i < len(m.ts) && m.ts[i].kind == sqlIdent && m.ts[i].to-m.ts[i].from == len(w) && hasFoldAt(m.s, m.ts[i].from, w)
}

// name reports whether token i is a name, bare or quoted.
func (m *sqlMask) name(i int) bool {
	return i >= 0 && i < len(m.ts) && (m.ts[i].kind == sqlIdent || m.ts[i].kind == sqlQIdent)
}

// colName reports whether token i may name a column: a name, or in
// MySQL a double-quoted string too (a name under ANSI_QUOTES; taken as
// one in any mode, so that a value compared with it is masked rather
// than written).
func (m *sqlMask) colName(i int) bool {
	return m.name(i) || m.mysql && i >= 0 && i < len(m.ts) && m.ts[i].kind == sqlString && m.s[m.ts[i].from] == '"'
}

// nameAt returns the name token i spells: a quoted one without its
// quotes.
func (m *sqlMask) nameAt(i int) string {
	n := m.tok(i)
	switch {
	case m.ts[i].kind == sqlQIdent && n[0] == '`':
		n = strings.ReplaceAll(strings.Trim(n, "`"), "``", "`")
	case m.ts[i].kind == sqlQIdent || m.ts[i].kind == sqlString:
		n = strings.TrimPrefix(strings.TrimPrefix(n, "U&"), "u&")
		n = strings.ReplaceAll(strings.Trim(n, `"`), `""`, `"`)
	}
	return n
}

// reserved reports whether token i is a keyword that no operand is (nor
// a function's name before a parenthesis: WHERE (a, b) = …).
func (m *sqlMask) reserved(i int) bool {
	if m.ts[i].kind != sqlIdent || m.ts[i].to-m.ts[i].from > len("intersect") {
		return false
	}
	switch strings.ToLower(m.tok(i)) {
	case "and", "or", "not", "where", "from", "select", "set", "values", "in", "is", "like", "ilike",
		"on", "using", "when", "then", "else", "case", "end", "returning", "as", "into", "join", "by",
		"having", "limit", "offset", "union", "except", "intersect", "update", "insert", "delete",
		"do", "between", "with", "group", "order", "distinct", "conflict", "similar", "to":
		return true
	}
	return false
}

// rewrite writes the statement with the marked literals as '***' and
// the bodies of other dollar-quoted strings masked (nest: how deep
// those are).
func (m *sqlMask) rewrite(nest int) string {
	var b strings.Builder
	at := 0
	for i, t := range m.ts {
		var with string
		switch {
		case m.secret[i] && t.kind == sqlString:
			// '***' must read as the one literal it replaces, whatever
			// is written around it: a quote right before or after would
			// make a doubled quote of its own ('a'$$x$$, $$x$$'y'), a
			// letter before it a prefix (U&$$x$$) or a word.
			with = "'" + Masked + "'"
			if m.mysql {
				// The prefix stays: _utf8mb4'***', N'***', X'***'.
				lit := m.tok(i)
				if q := strings.IndexAny(lit, `'"`); q > 0 {
					with = lit[:q] + with
				}
			}
			prev := byte(' ')
			if t.from > at {
				prev = m.s[t.from-1]
			} else if b.Len() > 0 {
				prev = b.String()[b.Len()-1]
			}
			if prev == '\'' || prev == '&' || isSQLWord(prev) {
				with = " " + with
			}
			if t.to < len(m.s) && m.s[t.to] == '\'' {
				with += " "
			}
		case t.kind == sqlString && m.s[t.from] == '$' && nest < sqlMaxNest && m.body(i):
			lit := m.s[t.from:t.to]
			tag := sqlDollarTag(lit)
			if len(lit) < 2*tag || !strings.HasSuffix(lit, lit[:tag]) || !hint(lit) {
				continue // it does not end, or holds no secret's name
			}
			body, _ := maskSQL(lit[tag:len(lit)-tag], false, nest+1)
			if body == lit[tag:len(lit)-tag] {
				continue
			}
			with = lit[:tag] + body + lit[:tag]
		default:
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(m.s))
		}
		b.WriteString(m.s[at:t.from])
		b.WriteString(with)
		at = t.to
	}
	if at == 0 {
		return m.s
	}
	b.WriteString(m.s[at:])
	return b.String()
}

// body reports whether the literal at i is a body of code: DO $$ … $$,
// DO LANGUAGE plpgsql $$ … $$, CREATE FUNCTION … AS $$ … $$. Another
// literal is data, whatever it looks like.
func (m *sqlMask) body(i int) bool {
	return m.word(i-1, "do") || m.word(i-1, "as") || m.word(i-2, "language") && m.name(i-1)
}

// params returns the marked parameters' numbers, sorted, once each (in
// MySQL, a ? is numbered by its place).
func (m *sqlMask) params() []int {
	var ps []int
	place := 0
	for i, t := range m.ts {
		if t.kind != sqlParam {
			continue
		}
		place++
		switch {
		case !m.secret[i]:
		case m.mysql:
			ps = append(ps, place)
		default:
			if n, err := strconv.Atoi(m.tok(i)[1:]); err == nil {
				ps = append(ps, n)
			}
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// sqlSecretColumn reports whether a column's name says it holds a
// secret. The name is read as words: split at anything but a letter and
// where a lower-case letter meets an upper-case one, so that api_token,
// "apiToken" and api_token2 read alike (a word that ends in a long secret
// word counts too: apitoken, accesstoken). It holds a secret when
//
//   - one of its words is a secret word: password, passwd, passphrase,
//     secret, token, credential, signature (or their plural, or a word
//     that ends in one), pwd, auth, sig, or the pairs api key, access
//     key, private key, code verifier (or apikey, accesskey,
//     privatekey); and
//   - no word after the last secret word says the column is about the
//     secret rather than the secret itself: when (token_expires_at,
//     password_changed_at), what kind (token_type, secret_version,
//     token_name), how many or how long (password_length, token_ttl),
//     where (token_url, private_key_path), whether (password_required).
//
// Any other word after the secret word leaves the column secret: it more
// often names a form of the secret (password_hash, password_digest,
// token_salt, secret_key, password_new) than something about it, and a
// secret written out costs more than a value hidden. id is such a word:
// a token_id is as often the token (Vault's secret_id) as a reference to
// one. A secret word inside a longer word does not count (tokenizer,
// secretary, passwordless, author).
//
// This is stricter than SecretName (JSON members, parameters, headers),
// which takes any name containing a secret word: a column's name is
// read alone, and token_type = 'refresh' must stay readable.
func sqlSecretColumn(name string) bool {
	words := nameWords(name)
	last := -1
	for i := range words {
		if secretWord(words, i) {
			last = i
		}
	}
	if last < 0 {
		return false
	}
	for _, w := range words[last+1:] {
		if aboutWord(w) {
			return false
		}
	}
	return true
}

// nameWords splits a name into lower-case words of letters (see
// sqlSecretColumn).
func nameWords(name string) []string {
	var words []string
	start := -1
	for i := 0; i <= len(name); i++ {
		letter := i < len(name) && ('a' <= name[i] && name[i] <= 'z' || 'A' <= name[i] && name[i] <= 'Z')
		if start >= 0 && (!letter || 'A' <= name[i] && name[i] <= 'Z' && 'a' <= name[i-1] && name[i-1] <= 'z') {
			words = append(words, strings.ToLower(name[start:i]))
			start = -1
		}
		if letter && start < 0 {
			start = i
		}
	}
	return words
}

// secretWord reports whether words[i] is (or ends) a secret word.
func secretWord(words []string, i int) bool {
	w := words[i]
	switch w {
	case "pwd", "auth", "sig":
		return true
	}
	one := strings.TrimSuffix(w, "s")
	for _, s := range [...]string{"password", "passwd", "passphrase", "secret", "token", "credential", "signature", "apikey", "accesskey", "privatekey"} {
		if strings.HasSuffix(one, s) {
			return true
		}
	}
	if i > 0 {
		switch words[i-1] + " " + one {
		case "api key", "access key", "private key", "code verifier":
			return true
		}
	}
	return false
}

// aboutWord reports whether a word after a secret word says the column is
// about the secret, not the secret (see sqlSecretColumn).
func aboutWord(w string) bool {
	switch w {
	case "at", "on", "date", "time", "timestamp", "changed", "updated", "created", "modified", "sent",
		"used", "rotated", "issued", "expires", "expiry", "expiration", "expired", "last", "until",
		"type", "kind", "version", "format", "algorithm", "algo", "method", "scheme", "scope", "scopes",
		"name", "label", "description", "status", "policy", "strength", "provider",
		"length", "count", "attempts", "ttl", "lifetime", "size",
		"url", "uri", "endpoint", "path", "file",
		"enabled", "required":
		return true
	}
	return false
}
