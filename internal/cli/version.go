package cli

import (
	"fmt"
	"runtime/debug"
)

// versionLine renders what `seam version` prints from the binary's build
// information: the module version (a release tag such as v1.2.0 when
// installed with go install MODULE@VERSION, a pseudo-version such as
// v0.0.0-20261130201500-69995d6a1b2c+dirty when built in a checkout,
// "(devel)" otherwise), then the VCS revision and whether the tree had
// uncommitted changes, and the Go version.
func versionLine(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "seam (unknown version: the binary carries no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	vcs := "no VCS revision: built by go run or go test, with -buildvcs=false, or outside a git clone (a git worktree counts as outside)"
	if rev != "" {
		vcs = "revision " + rev
		if when != "" {
			vcs += " of " + when
		}
		if modified == "true" {
			vcs += ", with uncommitted changes"
		}
	}
	return fmt.Sprintf("seam %s (%s; %s)", v, vcs, info.GoVersion)
}

func cmdVersion(stdio IO) int {
	info, ok := debug.ReadBuildInfo()
	fmt.Fprintln(stdio.Stdout, versionLine(info, ok))
	return ExitPass
}
