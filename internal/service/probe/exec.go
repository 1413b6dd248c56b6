package probe

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seamtest/seam/internal/service"
	"go.yaml.in/yaml/v4"
)

type execKind struct{}

func (execKind) Name() string { return "exec" }
func (execKind) Doc() string {
	return "a command exits 0; $SEAM_HOST and $SEAM_PORT name the service's main address"
}

func (execKind) Decode(c *Compiler, n *yaml.Node) service.Probe {
	var argv []string
	if n.Kind == yaml.ScalarNode {
		argv = []string{"sh", "-c", n.Value}
	} else {
		c.D.Decode(n, &argv, "exec")
	}
	if len(argv) == 0 {
		c.D.Errorf(n, "exec: want a command")
		return nil
	}
	return execProbe{argv: argv}
}

type execProbe struct{ argv []string }

// AfterLine implements service.LineProbe: each try starts a process, so
// output lines start none.
func (execProbe) AfterLine() time.Duration { return -1 }

func (p execProbe) String() string { return "exec " + strings.Join(p.argv, " ") }

func (p execProbe) Check(ctx context.Context, t service.Target) error {
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.Env = append(cmd.Environ(), "SEAM_HOST="+t.Host, "SEAM_PORT="+strconv.Itoa(t.MainPort()))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		if msg != "" {
			return fmt.Errorf("%s: %v: %s", p.argv[0], err, msg)
		}
		return fmt.Errorf("%s: %v", p.argv[0], err)
	}
	return nil
}
