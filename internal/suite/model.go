// Package suite loads suite files (seam.yaml and the files it includes) into
// a validated model in which every node keeps its file:line:col.
package suite

import (
	maskpkg "github.com/seamtest/seam/internal/mask"
	"time"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expect"
	"github.com/seamtest/seam/internal/expr"
	"github.com/seamtest/seam/internal/service"
	"github.com/seamtest/seam/internal/step"
)

// Suite is a loaded, validated suite.
type Suite struct {
	Name     string
	File     string // the root file
	Dir      string // its folder; relative paths start here
	Pos      diag.Pos
	Vars     []Var // evaluated in order at run start; --var values override
	Defaults Defaults
	System   *service.System // nil when the suite declares no services
	Tests    []*Test
	// Count is the number of tests loaded: len(Tests), or with
	// Options.Discard the tests checked and let go.
	Count int
	// Mask is the suite's own secret patterns (mask:): what they match is
	// recorded as *** on the wire, beside the built-in rules.
	Mask *maskpkg.Masker
	// Warnings are what loading found that does not stop the suite (a
	// --var its vars: do not declare), for the caller to show.
	Warnings []*diag.Error
}

// Var is a named value; templates in it may read earlier variables.
type Var struct {
	Name  string
	Value expr.Value
	Pos   diag.Pos
}

// Defaults apply where a test or step sets nothing.
type Defaults struct {
	StepTimeout time.Duration
	TestTimeout time.Duration // 0: none
	// ExpectTimeout bounds how long a step whose result can be read
	// again (a browser step) waits for its expectations to hold, within
	// its StepTimeout: a page that shows something else fails in this
	// time, not the whole step's.
	ExpectTimeout time.Duration
}

// Priority ranks tests by risk; critical tests are scheduled first.
type Priority int

const (
	Critical Priority = iota
	High
	Medium
	Low
)

// PriorityNames lists the priorities in order.
var PriorityNames = []string{"critical", "high", "medium", "low"}

func (p Priority) String() string { return PriorityNames[p] }

// Test is one named test.
type Test struct {
	Name     string
	Pos      diag.Pos
	Tags     []string
	Priority Priority
	Serial   bool          // never runs at the same time as another test
	Fresh    bool          // gets an environment of its own, started for it and stopped after
	Timeout  time.Duration // whole test, setup and steps; teardown gets its own budget
	Skip     string        // reason; non-empty means skipped
	Vars     []Var
	Setup    []*Step
	Steps    []*Step
	Teardown []*Step
}

// Step is one action with its expectations and captures.
type Step struct {
	Name       string // given or derived from the action
	Kind       string
	Pos        diag.Pos
	Action     step.Action
	Expect     *expect.Expectation
	Captures   []Capture
	Timeout    time.Duration
	Eventually *Eventually
	// ExpectTimeout is the step's own Defaults.ExpectTimeout; 0: the
	// suite's.
	ExpectTimeout time.Duration
	// Vars are set, in order, as the step starts: the parameters of the
	// reusable steps it is the first of (use:).
	Vars []Var
}

// Eventually repeats a step until its expectations hold.
type Eventually struct {
	Timeout  time.Duration
	Interval time.Duration
}

// Capture stores a query's result under a variable name for later steps.
type Capture struct {
	Name  string
	Query *expr.Query
	Pos   diag.Pos
}
