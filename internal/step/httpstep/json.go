package httpstep

import (
	"encoding/json"
	"io"
)

// newJSONEncoder writes JSON the way a person would write it by hand: no
// HTML escaping of <, > and &.
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}
