package probe

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

type tcpKind struct{}

func (tcpKind) Name() string { return "tcp" }
func (tcpKind) Doc() string {
	return "a TCP connection to the main port (tcp: true) or a named port (tcp: admin) succeeds"
}

func (tcpKind) Decode(c *Compiler, n *yaml.Node) service.Probe {
	if n.Kind != yaml.ScalarNode {
		c.D.Errorf(n, "tcp: want true or a port name")
		return nil
	}
	if n.ShortTag() == "!!bool" {
		return tcpProbe{}
	}
	return tcpProbe{port: n.Value, pos: c.D.Pos(n)}
}

type tcpProbe struct {
	port string
	pos  diag.Pos // where port is written
}

// PortRefs implements PortUser.
func (p tcpProbe) PortRefs() []PortRef {
	if p.port == "" {
		return nil
	}
	return []PortRef{{Name: p.port, Pos: p.pos}}
}

func (p tcpProbe) String() string {
	if p.port == "" {
		return "tcp"
	}
	return "tcp " + p.port
}

func (p tcpProbe) Check(ctx context.Context, t service.Target) error {
	name := p.port
	if name == "" {
		name = t.Main
	}
	port, ok := t.Ports[name]
	if !ok {
		return fmt.Errorf("no port named %q", name)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(t.Host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return conn.Close()
}

// Default is the probe used when a service names none: a TCP connection to
// its main port.
func Default() service.Probe { return tcpProbe{} }
