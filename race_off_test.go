//go:build !race

package seam_test

// raceFlags build helper binaries the way this one was built, so they
// reuse its compiled packages.
var raceFlags []string
