package probe

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

type logKind struct{}

func (logKind) Name() string { return "log" }
func (logKind) Doc() string {
	return "a line of the service's output matches a regular expression"
}

func (logKind) Decode(c *Compiler, n *yaml.Node) service.Probe {
	if n.Kind != yaml.ScalarNode {
		c.D.Errorf(n, "log: want a regular expression")
		return nil
	}
	re, err := regexp.Compile(n.Value)
	if err != nil {
		c.D.Errorf(n, "log: bad regular expression %q: %v", n.Value, err)
		return nil
	}
	return logProbe{re: re}
}

type logProbe struct{ re *regexp.Regexp }

func (logProbe) AfterLine() time.Duration { return 0 }

func (p logProbe) String() string { return "log /" + p.re.String() + "/" }

func (p logProbe) Check(_ context.Context, t service.Target) error {
	if t.Lines != nil {
		for _, l := range t.Lines() {
			if p.re.MatchString(l) {
				return nil
			}
		}
	}
	return fmt.Errorf("no output line matches /%s/ yet", p.re)
}
