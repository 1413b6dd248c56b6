package wire

import (
	"context"

	"github.com/seamtest/seam/internal/crash"
)

// A callee may listen on several named ports (`ports: [api, grpc]`); each
// port a dependant reaches gets a proxy of its own, all on the same edge.

// ListenPort starts a proxy on a free loopback port for one of the callee's
// named ports on edge. The main port's proxy is named like the edge
// ("orders→auth") in Toxiproxy's API, another port's "orders→auth:grpc";
// every interaction it reports carries port. A panic on one of the proxy's
// goroutines goes to ctx's crash.Handler.
func ListenPort(ctx context.Context, edge, port string, main bool, target string, report func(Interaction)) (*Proxy, error) {
	name := edge
	if !main {
		name = edge + ":" + port
	}
	return listen(crash.From(ctx), "127.0.0.1:0", edge, port, name, target, report)
}

// Name is the proxy's name in Toxiproxy's API: the edge, and for a port
// that is not the callee's main one, ":" and the port's name.
func (p *Proxy) Name() string {
	if p.name == "" {
		return p.Edge
	}
	return p.name
}
