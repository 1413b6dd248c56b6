package wire

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Content renders what an interaction carried, for the reports that show
// it whole (report.Exchange): the request as sent (an HTTP request line
// and its header lines; "GRPC /pkg.Svc/Method" and its metadata; an SQL
// statement whole, with its parameters; a Redis command), its body, the
// answer (status line and header lines, then trailers, HTTP/2 or HTTP/1.1 chunked; an SQL or
// Redis result) and its body. Everything in it is masked already (the
// proxy masks before it reports). A connection or a fault has no content:
// all four are "".
func (i Interaction) Content() (request, requestBody, response, responseBody string) {
	switch i.Protocol {
	case "http", "http2":
		reqHeader, respHeader := i.Headers()
		request = withLines(i.Method+" "+i.Target, reqHeader)
		response = withLines(i.Result, respHeader)
		return request, bodyText(i.RequestBody, i.reqCut), response, bodyText(i.ResponseBody, i.respCut)
	case "grpc":
		reqHeader, respHeader := i.Headers()
		request = withLines(i.Op, reqHeader)
		response = withLines(i.Result, respHeader)
		req, resp := i.Bodies()
		requestBody, responseBody = string(req), string(resp)
		reqWhy, respWhy, unknown := i.messagesWhy()
		if requestBody == "" {
			requestBody = messagesText(i.RequestMessages, i.RequestSize, reqWhy, unknown)
		}
		if responseBody == "" {
			responseBody = messagesText(i.ResponseMessages, i.ResponseSize, respWhy, unknown)
		}
		return request, requestBody, response, responseBody
	case "postgres", "mysql":
		request = i.Target
		if request == "" {
			request = i.Op // a command that runs no SQL (COM_PING), a connection's event
		}
		if i.Note != "" {
			request += "\nparameters: " + i.Note
		}
		return request, "", i.Result, ""
	case "redis":
		return strings.TrimPrefix(i.Op, "REDIS "), "", i.Result, ""
	}
	return "", "", "", ""
}

func withLines(first, lines string) string {
	if lines == "" {
		return first
	}
	return first + "\n" + lines
}

// bodyText is a body as text: as sent when it is UTF-8 text, else its
// size; a body kept only in part (cut) says so.
func bodyText(b []byte, cut bool) string {
	if len(b) == 0 {
		return ""
	}
	if !printable(b) {
		s := "(" + strconv.Itoa(len(b)) + " bytes of binary data"
		if cut {
			s += ", the first of more"
		}
		return s + ")"
	}
	s := string(b)
	if cut {
		s += "\n… (the first " + strconv.Itoa(maxBodyKept/1024) + " KiB)"
	}
	return s
}

// printable reports whether b is text: UTF-8 (its last rune may be cut)
// without control characters other than white space.
func printable(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return len(b)-i < utf8.UTFMax && !utf8.FullRune(b[i:]) // a rune cut at the end
		}
		i += n
	}
	return true
}

// messagesText stands for a call's messages one way that are not shown
// as JSON: how many, and why (unknown: their types are not known).
func messagesText(n int, size int64, why string, unknown bool) string {
	switch {
	case n == 0:
		return ""
	case unknown:
		return "(" + msgCount(n, size) + "; their types are unknown: name the service's protos, or let seam ask it by reflection)"
	case why == "":
		why = "not shown" // not reached: renderMessages says why whenever it shows none
	}
	return "(" + msgCount(n, size) + "; " + why + ")"
}

// HeaderMap is header lines ("Name: value" a line, as Headers gives
// them) as a map of lower-case names to values, a name sent more than
// once with its values joined by ", " (as HTTP folds them).
func HeaderMap(lines string) map[string]string {
	if lines == "" {
		return nil
	}
	m := map[string]string{}
	for _, l := range strings.Split(lines, "\n") {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if old, ok := m[name]; ok {
			value = old + ", " + value
		}
		m[name] = value
	}
	return m
}

// lineSafe is s with its control characters shown escaped, as Go quotes
// them ("\n", "\x1b", "\u0085"), and the bidirectional overrides and
// isolates too: a line of a timeline is one line, whatever a callee put
// in a status message or a reason phrase.
func lineSafe(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if r, n := utf8.DecodeRuneInString(s[i:]); !escapedRune(r) {
				i += n
				continue
			}
		}
		break
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	b = append(b, s[:i]...)
	for i < len(s) {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		if r < utf8.RuneSelf && (r < 0x20 || r == 0x7f) || escapedRune(r) {
			q := strconv.QuoteRuneToASCII(r) // '\n', '\x1b', '\u202e'
			b = append(b, q[1:len(q)-1]...)
		} else {
			b = append(b, s[i:i+n]...) // as it is (a byte that is not UTF-8 too)
		}
		i += n
	}
	return string(b)
}

// escapedRune reports the runes above ASCII that lineSafe escapes: C1
// controls, bidirectional overrides (U+202A–U+202E) and isolates
// (U+2066–U+2069).
func escapedRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}
