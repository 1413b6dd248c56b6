package html

import (
	"encoding/json"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// quote is a JSON string with <, > and & escaped, as encoding/json does,
// so no text can end the script element the data lives in.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
