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
	// Keys are the other keys the outer mapping may hold beside its probe
	// (ready:'s timeout and interval), read by the caller: a misspelt one
	// is reported as an unknown key, with the closest of these and the
	// probes' names as the hint.
	Keys []string
}

// Probe decodes a mapping with exactly one probe key (and, at the top,
// the caller's Keys, taken out before).
func (c *Compiler) Probe(n *yaml.Node, what string) service.Probe {
	return c.probe(n, what, c.Keys)
}

// probe decodes a mapping with one probe key; keys are those its caller
// reads beside it, for hints.
func (c *Compiler) probe(n *yaml.Node, what string, keys []string) service.Probe {
	fields := c.D.Fields(n, what)
	names := c.Table.Names()
	var probes []decode.Field
	unknown := false
	for _, f := range fields {
		if _, ok := c.Table[f.Key]; ok {
			probes = append(probes, f)
			continue
		}
		unknown = true
		switch {
		case len(fields) > 1 || diag.Closest(f.Key, keys) != "" && diag.Closest(f.Key, names) == "":
			// Beside a probe, or closest to one of the caller's keys: a
			// misspelt key rather than a probe.
			c.D.UnknownKey(f.KeyN, what, append(append([]string(nil), names...), keys...))
		default:
			e := c.D.Errorf(f.KeyN, "%s: unknown probe %q", what, f.Key)
			if s := diag.Closest(f.Key, names); s != "" {
				e.WithHint("did you mean %q?", s)
			} else {
				e.WithHint("probes: %s", strings.Join(names, ", "))
			}
		}
	}
	switch {
	case len(probes) > 1:
		c.D.Errorf(probes[1].KeyN, "%s: one probe per entry, but it has %q and %q", what, probes[0].Key, probes[1].Key).
			WithHint("combine several with all: or any:, like all: [{%s: …}, {%s: …}]", probes[0].Key, probes[1].Key)
		return nil
	case unknown:
		return nil
	case len(probes) == 0:
		c.D.Errorf(n, "%s: want a probe, one of %s", what, strings.Join(names, ", "))
		return nil
	}
	f := probes[0]
	return c.Table[f.Key].Decode(c, decode.Resolve(f.Value))
}

// PortRef is a port of its service a probe names, where it is written.
type PortRef struct {
	Name string
	Pos  diag.Pos
}

// PortUser is a Probe that names ports of its service (tcp: admin): the
// loader checks at validate that the service has them, rather than the
// probe failing until the ready timeout.
type PortUser interface {
	PortRefs() []PortRef
}

// PortRefs lists the ports p names, in the probes it is made of too.
func PortRefs(p service.Probe) []PortRef {
	if pu, ok := p.(PortUser); ok {
		return pu.PortRefs()
	}
	return nil
}
