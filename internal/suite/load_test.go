package suite_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/suite"
)

var wantRE = regexp.MustCompile(`^# want: (\d+):(\d+): (.*)$`)

type want struct {
	line, col int
	text      string
}

func readWants(t *testing.T, file string) []want {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []want
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := wantRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		l, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		out = append(out, want{l, c, m[3]})
	}
	return out
}

// TestInvalidFixtures loads every broken suite under testdata/invalid and
// checks that each problem its "# want: LINE:COL: text" comments name is
// reported at exactly that position, and nothing else is.
func TestInvalidFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/invalid/*.yaml")
	if len(files) < 9 {
		t.Fatalf("found %d fixtures, want at least 9", len(files))
	}
	reg := builtin.New()
	defer reg.Close()
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			wants := readWants(t, file)
			_, err := suite.Load(file, suite.Options{Steps: reg.Steps, Ops: reg.Ops, Services: reg.Services, Probes: reg.Probes})
			var list *diag.List
			if !errors.As(err, &list) {
				t.Fatalf("Load = %v, want a list of positioned problems", err)
			}
			got := list.Errors()
			for _, e := range got {
				if e.Pos.File != file {
					t.Errorf("problem in %q, want in %q: %v", e.Pos.File, file, e)
				}
			}
			if len(wants) == 0 {
				// Whole-file problems: the file itself is named.
				if len(got) != 1 || got[0].Pos.Line > 1 {
					t.Fatalf("got %v, want one problem for the whole file", err)
				}
				return
			}
			for _, w := range wants {
				found := false
				for _, e := range got {
					if e.Pos.Line == w.line && e.Pos.Col == w.col && strings.Contains(e.Error(), w.text) {
						found = true
					}
				}
				if !found {
					t.Errorf("no problem at %d:%d containing %q; got:\n%v", w.line, w.col, w.text, err)
				}
			}
			if len(got) != len(wants) {
				t.Errorf("got %d problems, want %d:\n%v", len(got), len(wants), err)
			}
		})
	}
}
