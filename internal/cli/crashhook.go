//go:build !seamcrashtest

package cli

import "context"

// crashHook is true only in a binary built with -tags seamcrashtest, for
// the end-to-end test of a panic on a background goroutine.
const crashHook = false

func testCrash(context.Context, func(string) string) {}
