package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionLine(t *testing.T) {
	for _, tc := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261130201500-69995d6a1b2c+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "69995d6a1b2c3d4e"},
				{Key: "vcs.time", Value: "2026-11-30T20:15:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			"seam v0.0.0-20261130201500-69995d6a1b2c+dirty (revision 69995d6a1b2c3d4e of 2026-11-30T20:15:00Z, with uncommitted changes; go1.26.8)"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			"seam v1.2.0 (revision abc; go1.26.8)"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"seam (devel) (no VCS revision: built by go run or go test, with -buildvcs=false, or outside a git clone (a git worktree counts as outside); go1.26.8)"},
		{nil, "seam (unknown version: the binary carries no build information)"},
	} {
		if got := versionLine(tc.info, tc.info != nil); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}
