//go:build seamcrashtest

package cli

import (
	"context"
	"time"

	"github.com/seamtest/seam/internal/crash"
)

const crashHook = true

// testCrash panics on a background goroutine SEAM_TEST_PANIC_AFTER (a
// duration) after the command starts, as a bug in seam's own goroutines
// would. Only in a binary built with -tags seamcrashtest.
func testCrash(ctx context.Context, getenv func(string) string) {
	d, err := time.ParseDuration(getenv("SEAM_TEST_PANIC_AFTER"))
	if err != nil {
		return
	}
	crash.Go(ctx, func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
			panic("seamcrashtest: a planted panic on a background goroutine")
		}
	})
}
