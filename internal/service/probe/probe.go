// Package probe holds the readiness probes: small plug-ins that check once
// whether a service is ready, composed with all and any.
package probe

import (
	"sort"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

// Kind decodes one probe from a suite.
type Kind interface {
	Name() string
	Doc() string
	Decode(c *Compiler, n *yaml.Node) service.Probe
}

// Table lists probe kinds.
type Table map[string]Kind

// Builtin returns seam's probes.
func Builtin() Table {
	t := Table{}
	for _, k := range []Kind{tcpKind{}, httpKind{}, logKind{}, execKind{}, allKind{}, anyKind{}} {
		t[k.Name()] = k
	}
	return t
}

// Names lists the probe names.
func (t Table) Names() []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Compiler decodes probes, nested ones included.
type Compiler struct {
	D     *decode.Decoder
	Table Table
}

// Probe decodes a mapping with exactly one probe key.
func (c *Compiler) Probe(n *yaml.Node, what string) service.Probe {
	fields := c.D.Fields(n, what)
	if len(fields) != 1 {
		if len(fields) > 1 {
			c.D.Errorf(n, "%s: one probe per entry; combine several with all: or any:", what)
		} else {
			c.D.Errorf(n, "%s: want a probe, one of %s", what, strings.Join(c.Table.Names(), ", "))
		}
		return nil
	}
	f := fields[0]
	k, ok := c.Table[f.Key]
	if !ok {
		e := c.D.Errorf(f.KeyN, "%s: unknown probe %q", what, f.Key)
		if s := diag.Closest(f.Key, c.Table.Names()); s != "" {
			e.WithHint("did you mean %q?", s)
		} else {
			e.WithHint("probes: %s", strings.Join(c.Table.Names(), ", "))
		}
		return nil
	}
	return k.Decode(c, decode.Resolve(f.Value))
}
