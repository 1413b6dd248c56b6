package wire

import (
	"slices"
	"strings"

	"github.com/seamtest/seam/internal/mask"
)

// Secrets never reach a timeline or a report: what the proxy records of a
// password, a token or a key is "***": query parameters, JSON and form
// fields in bodies, header lines named like a secret (Authorization,
// Cookie, X-Api-Key, …) and SQL that sets a password. Redis's AUTH and HELLO are masked where they are decoded.
// The rules themselves live in internal/mask, which every writer of seam
// shares; this file applies them to an interaction by its protocol.

// Masker is the suite's masking (mask: patterns and the run's secret
// values); see internal/mask.
type Masker = mask.Masker

// NewMasker compiles a suite's mask: patterns; see mask.New.
func NewMasker(patterns []string) (*Masker, error) { return mask.New(patterns) }

const masked = mask.Masked

func maskShape(s string) string { return mask.Shape(s) }

func maskTarget(t string) string { return mask.Target(t) }

func maskBody(b []byte) []byte { return mask.Body(b) }

func maskSQL(sql string) (string, []int, bool) { return mask.SQL(sql) }

func shapeSecret() interface{ String() string } { return mask.ShapeRE() }

// Mask masks what an interaction recorded outside a proxy holds (the
// browser's requests), as a proxy masks its own (m may be nil).
func Mask(m *Masker, in *Interaction) { maskWith(m, in) }

// maskWith masks everything an interaction records (m may be nil: the
// built-in rules only).
func maskWith(m *Masker, in *Interaction) {
	maskProtocol(in)
	in.Op, in.Target, in.Note, in.Result = m.Str(in.Op), m.Str(in.Target), m.Str(in.Note), m.Str(in.Result)
	in.Key = m.Str(in.Key)
	in.RequestBody, in.ResponseBody = m.Bytes(in.RequestBody), m.Bytes(in.ResponseBody)
	in.headerMask = m
}

// maskMemo remembers what a connection's last interaction was masked
// from and to: a connection's calls repeat their operation, target, note
// and result, and masking each is a scan (and the suite's patterns).
type maskMemo struct {
	ok                                 bool
	m                                  *Masker
	version                            uint64
	protocol, op, target, note, result string // as recorded
	mOp, mTarget, mNote, mResult       string // as masked
}

// maskMemoized masks in as maskWith does, through memo (when not nil)
// when in holds no key nor bodies (which are masked by their content each
// time).
func maskMemoized(m *Masker, in *Interaction, memo *maskMemo) {
	if memo == nil || in.Key != "" || in.RequestBody != nil || in.ResponseBody != nil {
		maskWith(m, in)
		return
	}
	v := m.Version()
	if memo.ok && memo.m == m && memo.version == v && memo.protocol == in.Protocol && memo.op == in.Op &&
		memo.target == in.Target && memo.note == in.Note && memo.result == in.Result {
		in.Op, in.Target, in.Note, in.Result = memo.mOp, memo.mTarget, memo.mNote, memo.mResult
		in.headerMask = m
		return
	}
	*memo = maskMemo{ok: true, m: m, version: v, protocol: in.Protocol, op: in.Op, target: in.Target, note: in.Note, result: in.Result}
	maskWith(m, in)
	memo.mOp, memo.mTarget, memo.mNote, memo.mResult = in.Op, in.Target, in.Note, in.Result
}

// Headers is an HTTP or HTTP/2 interaction's header lines each way,
// "Name: value" a line, masked (Authorization, Cookie, X-Api-Key and
// other secret-named headers are "***"); HTTP/2's response lines hold its
// trailers after its headers. They are masked when read, not when
// recorded: the forwarding path stays as cheap as it was before headers
// were kept (a report reads every interaction's; a benchmark few).
func (i Interaction) Headers() (req, resp string) {
	req, resp = i.reqHeader, i.respHeader
	if i.reqFields != nil || i.respFields != nil {
		req, resp = fieldLines(i.reqFix.apply(i.reqFields)), fieldLines(i.respFields)
	}
	if req != "" {
		req = i.headerMask.Text(req)
	}
	if resp != "" {
		resp = i.headerMask.Text(resp)
	}
	return req, resp
}

// SetHeaders gives an interaction recorded outside the wire (a browser's
// call, seen by the browser) its header lines each way, "Name: value" a
// line; they are masked when read, as the wire's are.
func (i *Interaction) SetHeaders(req, resp string) { i.reqHeader, i.respHeader = req, resp }

// maskProtocol applies the by-name rules that fit the interaction's
// protocol before anyone sees it.
func maskProtocol(in *Interaction) {
	switch in.Protocol {
	case "http", "http2", "grpc":
		if t := maskTarget(in.Target); t != in.Target {
			in.Op = strings.Replace(in.Op, in.Target, t, 1)
			in.Target = t
		}
		in.RequestBody = maskBody(in.RequestBody)
		in.ResponseBody = maskBody(in.ResponseBody)
	case "postgres", "mysql":
		if in.Method != "SQL" && !strings.HasPrefix(in.Op, "SQL") {
			return // no statement: an event of the connection (a cancel request, masked as made), a COM_PING
		}
		// The decoder hands the statement over whole: it is masked, by
		// shape and by name, before it is cut to what is kept (Target,
		// which interactions: steps match) and shown (Op).
		read := maskSQL
		if in.Protocol == "mysql" {
			read = mask.MySQL // its strings, quotes and IDENTIFIED BY
		}
		sql, secret, all := read(maskShape(in.Target))
		sql = oneLine(sql, maxSQLKept)
		in.Op, in.Target = "SQL "+oneLine(sql, maxOpSQL), sql
		maskParams(in, secret, all)
		// The server's error may quote a secret the parameters held:
		// Duplicate entry 'tok-1' for key 'idx_users_api_token'.
		in.Result = mask.ErrorDetail(in.Result)
	}
}

// maskParams masks a statement's parameters (as Note renders them): those
// given to a secret column (secret: their numbers, 1-based, as
// api_token = $2), or all of them (all: the statement sets a password).
func maskParams(in *Interaction, secret []int, all bool) {
	switch {
	case all && in.Note != "":
		in.Note, in.params = "[parameters masked: the statement sets a password]", nil
	case len(secret) > 0 && len(in.params) > 0:
		ps := slices.Clone(in.params)
		for _, n := range secret {
			if n >= 1 && n <= len(ps) && ps[n-1] != "…" {
				ps[n-1] = `"` + mask.Masked + `"`
			}
		}
		in.Note, in.params = paramsNote(ps), ps
	}
}
