// Package grpcstatus holds what the wire and the stub both need of gRPC's
// status: the codes' names (google.golang.org/grpc/codes spells them in
// CamelCase; gRPC's documentation and grpc-status-name headers use
// UPPER_SNAKE), grpc-message's percent-encoding, and the code a caller
// sees for an HTTP status. The source is gRPC's PROTOCOL-HTTP2.md and
// http-grpc-status-mapping.md.
package grpcstatus

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// codes are gRPC's status codes by number.
var codes = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// Well-known codes by number.
const (
	OK            = 0
	Unknown       = 2
	NotFound      = 5
	Unimplemented = 12
	Internal      = 13
	Unavailable   = 14
)

// Name is a status code's name ("UNAUTHENTICATED"), or "code N" for one
// gRPC does not define.
func Name(code int) string {
	if code >= 0 && code < len(codes) {
		return codes[code]
	}
	return "code " + strconv.Itoa(code)
}

// Parse reads a status code given by name (any case; CANCELED too) or
// number.
func Parse(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, true
	}
	u := strings.ToUpper(s)
	if u == "CANCELED" {
		u = "CANCELLED"
	}
	for i, n := range codes {
		if n == u {
			return i, true
		}
	}
	return 0, false
}

// Names lists the codes' names, in number order.
func Names() []string { return append([]string(nil), codes[:]...) }

// FromHTTP is the code a gRPC caller reports for an answer with HTTP
// status s and no grpc-status (http-grpc-status-mapping.md).
func FromHTTP(s int) int {
	switch s {
	case 400:
		return Internal
	case 401:
		return 16 // UNAUTHENTICATED
	case 403:
		return 7 // PERMISSION_DENIED
	case 404:
		return Unimplemented
	case 429, 502, 503, 504:
		return Unavailable
	}
	return Unknown
}

// PercentEncode is grpc-message's encoding: bytes outside printable
// ASCII, and %, as %XX.
func PercentEncode(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// PercentDecode undoes grpc-message's percent-encoding; a malformed
// escape stays as it is.
func PercentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
