package seam_test

import (
	"testing"

	"github.com/seamtest/seam"
)

// seam.Var values keep their type: "01234" stays a string for a var the
// suite declares as text, "0x1F" is 31 for one it declares a number (the
// suite's tests check both on what an HTTP service was sent).
func TestVarsKeepTheirType(t *testing.T) {
	seam.Run(t, "cmd/seam/testdata/modes", seam.Var("zip", "01234"), seam.Var("count", "0x1F"))
}
