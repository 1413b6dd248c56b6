// Package impact selects the tests a change can affect (seam run --changed
// REF): those whose recorded interactions in earlier runs touched a
// service whose files changed, those defined in a changed suite file,
// those never recorded, and the critical ones. Each selected test carries
// why.
package impact

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/report"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
	"github.com/seamtest/seam/internal/suite"
)

// RefError is a revision git does not know, or a folder that is not in a
// git repository: the command line is wrong.
type RefError struct{ Msg string }

func (e *RefError) Error() string { return e.Msg }

// Changed lists the files (absolute paths) that differ between REF and
// the working tree of the git repository holding dir: committed since,
// staged, unstaged, and new files git does not ignore.
func Changed(ctx context.Context, dir, ref string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return "", fmt.Errorf("git %s: %s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
			}
			return "", fmt.Errorf("git: %w (--changed needs git installed)", err)
		}
		return string(out), nil
	}
	top, err := git("rev-parse", "--show-toplevel")
	if err != nil {
		return nil, &RefError{fmt.Sprintf("--changed %s: %s is not in a git repository (%v)", ref, dir, err)}
	}
	top = strings.TrimSpace(top)
	if strings.HasPrefix(ref, "-") {
		return nil, &RefError{fmt.Sprintf("--changed %s: want a git revision (a branch, tag or commit), not an option", ref)}
	}
	if _, err := git("rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		return nil, &RefError{fmt.Sprintf("--changed %s: no such revision in the git repository at %s (fetch it first: a shallow CI clone may lack it)", ref, top)}
	}
	diff, err := git("diff", "--name-only", "-z", ref, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := git("ls-files", "--others", "--exclude-standard", "-z", "--full-name", ":/")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.Split(diff+"\x00"+untracked, "\x00") {
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, filepath.Join(top, filepath.FromSlash(f)))
	}
	sort.Strings(out)
	return out, nil
}

// Choice is a selected test and why.
type Choice struct {
	Test *suite.Test
	Why  string
}

// Input is what Select weighs.
type Input struct {
	Suite   *suite.Suite
	Tests   []*suite.Test // the candidates, in suite order
	Changed []string      // absolute paths
	Runs    [][]report.Event
	Vars    expr.Vars // the suite's evaluated variables, for sources that use them
}

// Result is a selection.
type Result struct {
	Selected []Choice
	// Sources are each service's files, as Select matched them.
	Sources map[string][]string
	// Touched are the services each test touched, by name.
	Touched map[string][]string
}

// Select picks the tests of in that a change can affect, in suite order.
func Select(ctx context.Context, in Input) (*Result, error) {
	res := &Result{Sources: map[string][]string{}, Touched: map[string][]string{}}
	s := in.Suite
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	dir := abs(s.Dir)
	if s.System != nil {
		for _, svc := range s.System.Services {
			var srcs []string
			for _, spec := range []service.Spec{svc.Spec, standIn(svc)} {
				if src, ok := spec.(service.Sourcer); ok {
					got, err := src.Sources(ctx, dir, in.Vars)
					if err != nil {
						return nil, fmt.Errorf("service %s: its files: %w", svc.Name, err)
					}
					for _, g := range got {
						srcs = append(srcs, absKeep(g))
					}
				}
			}
			res.Sources[svc.Name] = srcs
		}
	}
	// What each test touched: both ends of every edge it had interactions
	// on, every service that printed during it, every service its steps
	// name.
	recorded := map[string]bool{}
	touched := map[string]map[string]bool{}
	touch := func(test, svc string) {
		if touched[test] == nil {
			touched[test] = map[string]bool{}
		}
		touched[test][svc] = true
	}
	for _, events := range in.Runs {
		for _, e := range events {
			switch {
			case e.Type == report.TestEnd && e.Status != report.Skipped:
				recorded[e.Test] = true
			case e.Type == report.Log && e.Test != "" && e.Service != "":
				if e.Stream == report.WireStream {
					from, to, _ := strings.Cut(e.Service, "→")
					to, _, _ = strings.Cut(to, ":") // orders→auth:grpc
					touch(e.Test, from)
					touch(e.Test, to)
				} else {
					touch(e.Test, e.Service)
				}
			}
		}
	}
	for _, t := range in.Tests {
		for _, phase := range [][]*suite.Step{t.Setup, t.Steps, t.Teardown} {
			for _, st := range phase {
				if su, ok := st.Action.(step.ServiceUser); ok {
					for _, ref := range su.ServiceRefs() {
						touch(t.Name, ref.Name)
					}
				}
			}
		}
	}
	for name, set := range touched {
		for svc := range set {
			res.Touched[name] = append(res.Touched[name], svc)
		}
		sort.Strings(res.Touched[name])
	}
	// Which services each changed file belongs to; a file under the
	// suite's folder that belongs to none is a change seam cannot place.
	changedSvc := map[string][]string{} // service → its changed files
	suiteFiles := map[string]bool{}
	for _, t := range in.Tests {
		suiteFiles[abs(t.Pos.File)] = true
	}
	rootFile := abs(s.File)
	var suiteChanged, unplaced []string
	changedTestFiles := map[string]bool{}
	for _, f := range in.Changed {
		placed := false
		for svc, srcs := range res.Sources {
			if matches(f, srcs) {
				changedSvc[svc] = append(changedSvc[svc], f)
				placed = true
			}
		}
		switch {
		case f == rootFile:
			suiteChanged = append(suiteChanged, f)
		case suiteFiles[f]:
			changedTestFiles[f] = true
		case !placed && within(f, dir):
			unplaced = append(unplaced, f)
		}
	}
	rel := func(p string) string {
		if r, err := filepath.Rel(dir, p); err == nil {
			return filepath.ToSlash(r)
		}
		return p
	}
	for _, t := range in.Tests {
		var why []string
		switch {
		case len(suiteChanged) > 0:
			why = append(why, "the suite file "+rel(suiteChanged[0])+" changed")
		case len(unplaced) > 0:
			why = append(why, fmt.Sprintf("%s changed, which is no service's file (every test runs)", rel(unplaced[0])))
		}
		if changedTestFiles[abs(t.Pos.File)] {
			why = append(why, "its file "+rel(abs(t.Pos.File))+" changed")
		}
		if t.Priority == suite.Critical {
			why = append(why, "critical")
		}
		if !recorded[t.Name] {
			why = append(why, "never recorded in an earlier run")
		}
		for _, svc := range res.Touched[t.Name] {
			if files := changedSvc[svc]; len(files) > 0 {
				more := ""
				if len(files) > 1 {
					more = fmt.Sprintf(" and %d more", len(files)-1)
				}
				why = append(why, fmt.Sprintf("touched %s, whose %s%s changed", svc, rel(files[0]), more))
			}
		}
		if len(why) > 0 {
			res.Selected = append(res.Selected, Choice{Test: t, Why: strings.Join(why, "; ")})
		}
	}
	return res, nil
}

func standIn(svc *service.Service) service.Spec {
	if svc.StandIn == nil {
		return nil
	}
	return svc.StandIn.Spec
}

// absKeep makes p absolute, keeping a trailing separator.
func absKeep(p string) string {
	trail := strings.HasSuffix(p, string(filepath.Separator))
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if trail {
		a += string(filepath.Separator)
	}
	return a
}

// matches says whether file f is one of srcs: the path itself, under a
// folder, or directly in a folder given with a trailing separator. A
// folder that does not exist any more (deleted since REF) still holds
// what was under it.
func matches(f string, srcs []string) bool {
	for _, s := range srcs {
		if d, ok := strings.CutSuffix(s, string(filepath.Separator)); ok {
			if filepath.Dir(f) == d {
				return true
			}
			continue
		}
		if f == s || within(f, s) {
			return true
		}
	}
	return false
}

func within(p, dir string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && r != "." && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}
