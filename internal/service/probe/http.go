package probe

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

type httpKind struct{}

func (httpKind) Name() string { return "http" }
func (httpKind) Doc() string {
	return "GET a path on the main port answers a 2xx status (or status:), and the body contains body: when given"
}

type httpProbe struct {
	Path   string   `yaml:"path"`
	Port   string   `yaml:"port"`
	Status int      `yaml:"status"`
	Body   string   `yaml:"body"`
	portAt diag.Pos // where Port is written
}

// PortRefs implements PortUser.
func (p *httpProbe) PortRefs() []PortRef {
	if p.Port == "" {
		return nil
	}
	return []PortRef{{Name: p.Port, Pos: p.portAt}}
}

// client is shared so probes reuse one transport; redirects are not
// followed, a redirect is an answer.
var client = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true,
		DialContext: (&net.Dialer{Timeout: time.Second}).DialContext},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (httpKind) Decode(c *Compiler, n *yaml.Node) service.Probe {
	p := &httpProbe{}
	if n.Kind == yaml.ScalarNode {
		p.Path = n.Value
	} else {
		c.D.Decode(n, p, "http")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "port" {
				p.portAt = c.D.Pos(n.Content[i+1])
			}
		}
	}
	if !strings.HasPrefix(p.Path, "/") {
		c.D.Errorf(n, "http: want a path starting with /, got %q", p.Path)
		return nil
	}
	return p
}

func (p *httpProbe) String() string { return "http GET " + p.Path }

func (p *httpProbe) Check(ctx context.Context, t service.Target) error {
	name := p.Port
	if name == "" {
		name = t.Main
	}
	port, ok := t.Ports[name]
	if !ok {
		return fmt.Errorf("no port named %q", name)
	}
	url := "http://" + net.JoinHostPort(t.Host, strconv.Itoa(port)) + p.Path
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if p.Status != 0 && resp.StatusCode != p.Status {
		return fmt.Errorf("GET %s: status %d, want %d", p.Path, resp.StatusCode, p.Status)
	}
	if p.Status == 0 && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		return fmt.Errorf("GET %s: status %d, want 2xx", p.Path, resp.StatusCode)
	}
	if p.Body != "" && !strings.Contains(string(body), p.Body) {
		return fmt.Errorf("GET %s: body does not contain %q", p.Path, p.Body)
	}
	return nil
}
