package probe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

type allKind struct{}

func (allKind) Name() string { return "all" }
func (allKind) Doc() string  { return "every listed probe succeeds" }
func (allKind) Decode(c *Compiler, n *yaml.Node) service.Probe {
	return allProbe(list(c, n, "all"))
}

type anyKind struct{}

func (anyKind) Name() string { return "any" }
func (anyKind) Doc() string  { return "at least one listed probe succeeds" }
func (anyKind) Decode(c *Compiler, n *yaml.Node) service.Probe {
	return anyProbe(list(c, n, "any"))
}

func list(c *Compiler, n *yaml.Node, what string) []service.Probe {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		c.D.Errorf(n, "%s: want a list of probes", what)
		return nil
	}
	var out []service.Probe
	for i, x := range n.Content {
		if p := c.probe(x, fmt.Sprintf("%s[%d]", what, i), nil); p != nil {
			out = append(out, p)
		}
	}
	return out
}

type allProbe []service.Probe

func (a allProbe) AfterLine() time.Duration { return afterLine(a) }
func (a anyProbe) AfterLine() time.Duration { return afterLine(a) }

// afterLine is the longest spacing of ps, or negative if any of them must
// not be tried on lines.
func afterLine(ps []service.Probe) time.Duration {
	var d time.Duration
	for _, p := range ps {
		pd := service.AfterLine(p)
		if pd < 0 {
			return pd
		}
		d = max(d, pd)
	}
	return d
}

func (a allProbe) PortRefs() []PortRef { return portRefs(a) }
func (a anyProbe) PortRefs() []PortRef { return portRefs(a) }

func portRefs(ps []service.Probe) []PortRef {
	var out []PortRef
	for _, p := range ps {
		out = append(out, PortRefs(p)...)
	}
	return out
}

func (a allProbe) String() string { return "all(" + names(a) + ")" }

func (a allProbe) Check(ctx context.Context, t service.Target) error {
	for _, p := range a {
		if err := p.Check(ctx, t); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

type anyProbe []service.Probe

func (a anyProbe) String() string { return "any(" + names(a) + ")" }

func (a anyProbe) Check(ctx context.Context, t service.Target) error {
	var errs []error
	for _, p := range a {
		err := p.Check(ctx, t)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p, err))
	}
	return errors.Join(errs...)
}

func names(ps []service.Probe) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
