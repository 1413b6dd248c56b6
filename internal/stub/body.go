package stub

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// errTooLarge is a request body over the server's limit: answered 413,
// never read into memory whole.
var errTooLarge = errors.New("the request body is over the stub's limit")

// tooLarge says so with the limit.
func tooLarge(limit int64) string {
	return fmt.Sprintf("seam stub: %v (%d bytes)", errTooLarge, limit)
}

// readLimited reads r whole, or fails with errTooLarge past limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// decodeBody undoes a request's Content-Encoding (gzip, deflate), as
// WireMock does before matching: a compressed body is matched, journaled
// and templated as what it holds. An encoding seam does not know, or a
// body that does not decode, is kept as sent.
func decodeBody(encoding string, body []byte, limit int64) ([]byte, error) {
	var r io.ReadCloser
	var err error
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "gzip", "x-gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r = flate.NewReader(bytes.NewReader(body))
	default:
		return body, nil
	}
	if err != nil {
		return body, nil
	}
	defer r.Close()
	out, err := readLimited(r, limit)
	if errors.Is(err, errTooLarge) {
		return nil, err // a zip bomb is as large as what it holds
	}
	if err != nil {
		return body, nil
	}
	return out, nil
}
