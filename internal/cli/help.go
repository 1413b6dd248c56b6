package cli

import (
	"context"
	"fmt"
	"github.com/seamtest/seam/internal/stub"
	"strings"

	"github.com/seamtest/seam/internal/builtin"
)

func cmdHelp(args []string, stdio IO) int {
	topic := ""
	if len(args) > 0 {
		topic = args[0]
	}
	switch topic {
	case "":
		fmt.Fprint(stdio.Stdout, usage)
	case "steps":
		reg := builtin.New()
		defer reg.Close()
		fmt.Fprint(stdio.Stdout, StepsHelp(reg))
	case "expect":
		reg := builtin.New()
		defer reg.Close()
		fmt.Fprint(stdio.Stdout, ExpectHelp(reg))
	case "services":
		reg := builtin.New()
		defer reg.Close()
		fmt.Fprint(stdio.Stdout, ServicesHelp(reg))
	case "stubs":
		fmt.Fprint(stdio.Stdout, stub.Help())
	case "run", "validate", "list", "up", "down", "reset":
		Run(context.Background(), []string{topic, "-h"}, IO{Stdout: stdio.Stdout, Stderr: stdio.Stdout, Getenv: stdio.Getenv})
	default:
		fmt.Fprintf(stdio.Stderr, "seam help: unknown topic %q (topics: steps, expect, services, stubs, run, validate, list, up, down, reset)\n", topic)
		return ExitUsage
	}
	return ExitPass
}

// StepsHelp documents every step kind from the registry's metadata; the
// committed docs/steps.md is this text and a test keeps them equal.
func StepsHelp(reg *builtin.Registry) string {
	var b strings.Builder
	b.WriteString("# Step kinds\n\nEvery step has one kind key and may add name:, expect:, capture:, timeout: and eventually:.\n")
	for _, name := range reg.Steps.Names() {
		u := reg.Steps[name].Usage()
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n\nInputs:\n\n", u.Name, u.Summary)
		for _, in := range u.Inputs {
			fmt.Fprintf(&b, "- `%s`: %s\n", in.Name, in.Doc)
		}
		b.WriteString("\nResult fields (for expect: and capture:):\n\n")
		for _, f := range u.Fields {
			fmt.Fprintf(&b, "- `%s`: %s\n", f.Name, f.Doc)
		}
		fmt.Fprintf(&b, "\nExample:\n\n```yaml\n%s\n```\n", indentYAMLExample(u.Example))
	}
	return b.String()
}

func indentYAMLExample(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = "- " + lines[i]
		} else {
			lines[i] = "  " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// ExpectHelp documents every assertion operator from the registry.
func ExpectHelp(reg *builtin.Registry) string {
	var b strings.Builder
	b.WriteString(`# Expectations

Under expect:, each key is a field of the step's result. Its value is:

- a plain value (scalar or list): typed equality (200 is not "200");
- a mapping of jq queries (keys starting with "."): each query's result is checked;
- a mapping of operators: every operator must hold;
- any other mapping: the value is an object with at least these keys.

that: takes expr-lang expressions over the result fields and variables.

## Operators

`)
	for _, name := range reg.Ops.Names() {
		u := reg.Ops[name].Usage()
		fmt.Fprintf(&b, "- `%s`: %s. Example: `%s`\n", u.Name, u.Summary, u.Example)
	}
	return b.String()
}

// ServicesHelp documents the service kinds and readiness probes.
func ServicesHelp(reg *builtin.Registry) string {
	var b strings.Builder
	b.WriteString(`# Services

A service has one kind key and may add depends_on: (names of services that
must be ready, or jobs that must be done, first), ports: (names of the free loopback ports to allocate;
the first is the main one, default [http]; a dependant reaches each
through seam's wire: service("x").ports.NAME and SEAM_X_PORTS_NAME are the
proxies', direct_ports the real ones), ready: (a probe, with timeout: and
interval:) and grpc: (the gRPC services it serves: protos: [.proto files],
import_paths:, descriptor_sets: [protoc -o files], from the suite's folder;
or reflection: true, with port: (default grpc, else the main one), to ask
it by server reflection once ready; the wire then shows its calls'
messages as JSON). The probe is tried every few milliseconds during
the first second, then every interval:, and again each time the service
prints a line (at most once between two polls, unless the probe reads
the output; never for a probe that runs a command, as each try starts a
process).

## Kinds
`)
	for _, name := range reg.Services.Names() {
		u := reg.Services[name].Usage()
		fmt.Fprintf(&b, "\n### %s\n\n%s.\n\n```yaml\n%s\n```\n", u.Name, u.Summary, u.Example)
	}
	b.WriteString("\n## Readiness probes\n\nWithout ready:, a service is ready when its main port accepts a TCP connection.\n\n")
	for _, name := range reg.Probes.Names() {
		fmt.Fprintf(&b, "- `%s`: %s\n", name, reg.Probes[name].Doc())
	}
	return b.String()
}
