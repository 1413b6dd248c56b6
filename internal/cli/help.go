package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/stub"
)

func cmdHelp(args []string, stdio IO) int {
	topic := ""
	if len(args) > 0 {
		topic = args[0]
	}
	switch topic {
	case "", "-h", "-help", "--help":
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
	case "suite":
		fmt.Fprint(stdio.Stdout, SuiteHelp())
	case "commands":
		fmt.Fprint(stdio.Stdout, CommandsHelp())
	case "run", "validate", "list", "up", "down", "reset", "report", "coverage", "stub":
		Run(context.Background(), []string{topic, "-h"}, IO{Stdout: stdio.Stdout, Stderr: stdio.Stdout, Getenv: stdio.Getenv})
	default:
		fmt.Fprintf(stdio.Stderr, "seam help: unknown topic %q (topics: %s, or a command)\n", topic, strings.Join(helpTopics(), ", "))
		return ExitUsage
	}
	return ExitPass
}

// StepsHelp documents every step kind from the registry's metadata; the
// committed docs/steps.md is this text and a test keeps them equal.
func StepsHelp(reg *builtin.Registry) string {
	var b strings.Builder
	b.WriteString("# Step kinds\n\nEvery step has one kind key and may add name:, expect:, capture:, timeout:, expect_timeout: and eventually:.\n")
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
		if len(u.Fields) == 0 {
			b.WriteString("None: the step does what it says or fails the test; it has nothing for expect: or capture: to read.\n")
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

// helpTopics are the topics of seam help besides the commands.
func helpTopics() []string {
	return []string{"suite", "steps", "expect", "services", "stubs", "commands"}
}

// ServicesHelp documents the service kinds and readiness probes.
func ServicesHelp(reg *builtin.Registry) string {
	var b strings.Builder
	b.WriteString(`# Services

A service has one kind key and may add depends_on: (names of services that
must be ready, or jobs that must be done, first; an item {name: db, wire: false} keeps that edge out of
seam's wire), ports: (names of the free loopback ports to allocate;
the first is the main one, default [http]; a dependant reaches each
through seam's wire: service("x").ports.NAME and SEAM_X_PORTS_NAME are the
proxies', direct_ports the real ones), ready: (a probe, with timeout:,
default 30s, and interval:, default 100ms) and grpc: (the gRPC services it serves: protos: [.proto files],
import_paths:, descriptor_sets: [protoc -o files], from the suite's folder;
or reflection: true, with port: (default grpc, else the main one), to ask
it by server reflection once ready; the wire then shows its calls'
messages as JSON). The probe is tried every few milliseconds during
the first second, then every interval:, and again each time the service
prints a line (at most once between two polls, unless the probe reads
the output; never for a probe that runs a command, as each try starts a
process).

## Templates

A service's own strings (run:, env:, build:, …) may hold ((…)) templates.
Besides the suite's vars they see:

- ` + "`addr`" + `: the main port's host:port (127.0.0.1:41234)
- ` + "`host`" + `: the host (127.0.0.1)
- ` + "`port`" + `: the main port, a number
- ` + "`ports.NAME`" + `: the port named NAME in ports:
- ` + "`url`" + `: the service's URL (http://addr for a process)
- ` + "`bin`" + `: where build: writes the program, and what run: starts
- ` + "`tmp`" + `: the instance's own folder, removed when it stops
- ` + "`name`" + `: the service's name
- ` + "`service(\"other\")`" + `: another service's info: .url, .host, .port, .addr,
  .ports.NAME, and what its kind adds (.dsn, .user, .password, .database for
  data services); through seam's wire when it is a depends_on edge, and
  .direct_url and .direct_ports.NAME for its own addresses

## Environment variables

A service's processes get, besides its env: and seam's own environment:

- ` + "`SEAM_SERVICE`" + `: the service's name
- ` + "`SEAM_ADDR`, `SEAM_HOST`, `SEAM_PORT`, `SEAM_URL`" + `: its own main address
- ` + "`SEAM_PORT_<PORT>`" + `: each port named in ports: (PORT upper-cased, other characters as _)
- ` + "`SEAM_TMP`" + `: the instance's own folder
- ` + "`SEAM_<NAME>_URL`, `_ADDR`, `_HOST`, `_PORT`" + `: every other service's (NAME upper-cased,
  with _ for other characters), through seam's wire on a depends_on edge
- ` + "`SEAM_<NAME>_PORTS_<PORT>`" + `: each named port of every other service, through seam's wire on a depends_on edge
- ` + "`SEAM_<NAME>_DSN`, `_USER`, `_PASSWORD`, `_DATABASE`" + `: a data service's connection details
- ` + "`SEAM_RUN_ID`" + `: the run's mark, by which seam finds what a crashed run left

## Kinds
`)
	for _, name := range reg.Services.Names() {
		u := reg.Services[name].Usage()
		fmt.Fprintf(&b, "\n### %s\n\n%s.\n", u.Name, u.Summary)
		if len(u.Inputs) > 0 {
			b.WriteString("\nKeys:\n\n")
			for _, in := range u.Inputs {
				fmt.Fprintf(&b, "- `%s`: %s\n", in.Name, in.Doc)
			}
		}
		fmt.Fprintf(&b, "\nExample:\n\n```yaml\n%s\n```\n", u.Example)
	}
	b.WriteString("\n## Readiness probes\n\nWithout ready:, a service is ready when its main port accepts a TCP connection.\n\n")
	for _, name := range reg.Probes.Names() {
		fmt.Fprintf(&b, "- `%s`: %s\n", name, reg.Probes[name].Doc())
	}
	return b.String()
}

// SuiteKey documents one key of a suite file.
type SuiteKey struct {
	Name string
	Doc  string
}

// SuitePlace is where in a suite file a set of keys goes.
type SuitePlace struct {
	Where string // as the loader names it in errors: suite, defaults, test, …
	Title string
	Keys  []SuiteKey
}

// SuiteKeys documents every key the suite loader takes outside the
// plug-ins (whose keys their own Usage documents). TestEveryKeyIsDocumented
// compares it with what the loader accepts: a key added to the loader
// must be added here, under its place.
func SuiteKeys() []SuitePlace {
	return []SuitePlace{
		{"suite", "The suite file (seam.yaml)", []SuiteKey{
			{"name", "the suite's name (default: its folder's name)"},
			{"vars", "variables, a mapping; each may use the ones above it; --var NAME=VALUE overrides"},
			{"defaults", "defaults for every test (below)"},
			{"services", "the system's services, by name (seam help services)"},
			{"profiles", "named modes of the system, for --profile NAME: {NAME: {stub: [svc, …], vars: {…}, services: {svc: {…}}}}"},
			{"include", "globs of more files of tests, relative to this file"},
			{"mask", "more secrets to record as *** on the wire, a list of regular expressions (each match is masked in bodies, SQL and Redis traffic)"},
			{"steps", "reusable steps, by name: each a list of steps, or {params, steps} (below); any test of the suite, in any file, uses one with a use: step (included files may hold steps: too)"},
			{"tests", "the tests, a list"},
		}},
		{"steps.NAME", "Reusable steps (steps: in the suite file or an included one)", []SuiteKey{
			{"params", "its parameters: a list of names (each required), or a mapping of names to defaults (a default may use the suite's vars and the parameters above it; null: required); inside its steps they are variables"},
			{"steps", "the steps, a list; they may use: other reusable steps. At each use they are checked and run as if written there: what they capture is the test's; the parameters are set as the first of them starts and stay set for the rest of the test, as captures do"},
		}},
		{"use", "A use: step, in place of the reusable steps it names", []SuiteKey{
			{"use", "the reusable steps' name"},
			{"with", "the parameters' values, a mapping; templates read the test's variables at that point"},
			{"name", "what the report puts before each of its steps' names (default: the reusable steps' name): \"place an order › POST /orders\""},
		}},
		{"file", "An included file", []SuiteKey{
			{"tests", "the tests, a list"},
			{"steps", "reusable steps, as in the suite file; a test in any file of the suite may use them (a name written in two files is refused)"},
		}},
		{"defaults", "defaults:", []SuiteKey{
			{"step_timeout", "each step's time limit unless it sets timeout: (default 30s)"},
			{"test_timeout", "each test's time limit for setup and steps unless it sets timeout: (default: none); teardown gets its own"},
			{"expect_timeout", "how long a browser step's expectations are read again until they hold, within the step's time limit, unless it sets expect_timeout: (default 5s, as Playwright's expect)"},
		}},
		{"test", "A test", []SuiteKey{
			{"name", "the test's name, unique in the suite (required)"},
			{"tags", "tags, a list (or one), for --tags and --exclude-tags"},
			{"priority", "critical, high, medium (default) or low"},
			{"serial", "true: never runs at the same time as another test (with --parallel)"},
			{"fresh", "true: gets an environment of its own, started for it and stopped after"},
			{"timeout", "the test's time limit for setup and steps (default: defaults.test_timeout); teardown gets its own"},
			{"skip", "true, or the reason (text): the test is listed and reported as skipped, not run"},
			{"vars", "variables for this test, a mapping; they override the suite's and may use them"},
			{"faults", "fault steps' inputs, a list: on for the whole test, setup included (seam help steps, fault)"},
			{"setup", "steps run before steps:; a failure there fails the test as an error, not an assertion"},
			{"steps", "the test's steps, a list (required)"},
			{"teardown", "steps that always run after the others, after a failure or a timeout too"},
		}},
		{"step", "A step (beside its one kind key: seam help steps)", []SuiteKey{
			{"name", "what the report calls the step (default: derived from its inputs)"},
			{"expect", "expectations over the result's fields (seam help expect)"},
			{"capture", "variables for later steps: NAME: a jq query of the result (.body.id)"},
			{"timeout", "the step's time limit (default: defaults.step_timeout)"},
			{"expect_timeout", "a browser step: how long its expectations are read again until they hold (default: defaults.expect_timeout)"},
			{"eventually", "repeat the step until expect: holds: true, a timeout (10s), or the keys below"},
		}},
		{"eventually", "eventually:", []SuiteKey{
			{"timeout", "how long to keep trying (default 10s)"},
			{"interval", "the pause between tries (default 100ms)"},
		}},
		{"service", "A service (beside its one kind key: seam help services)", []SuiteKey{
			{"depends_on", "services that must be ready first: names, or {name, wire: false}"},
			{"ready", "the readiness probe, with timeout: and interval: (seam help services)"},
			{"ports", "names of the free loopback ports to allocate; the first is the main one (default [http]); each is reached through seam's wire"},
			{"grpc", "the gRPC services it serves, for the wire to show messages as JSON: protos: [.proto files], import_paths:, descriptor_sets:, or reflection: true with port: (seam help services)"},
		}},
		{"depends_on", "An item of depends_on: written as a mapping", []SuiteKey{
			{"name", "the service depended on"},
			{"wire", "false: the edge does not go through seam's wire (not recorded, no faults)"},
		}},
		{"profiles.NAME", "A profile", []SuiteKey{
			{"stub", "services to run as their stand-in stubs (a stub: beside their kind)"},
			{"vars", "values for vars the suite declares (--var still wins)"},
			{"services", "overrides of services' fields by name: their kind's settings (env, run, files, …), ports, depends_on; mappings merge key by key, lists and single values replace"},
		}},
	}
}

// SuiteHelp documents the keys of a suite file from SuiteKeys.
func SuiteHelp() string {
	var b strings.Builder
	b.WriteString(`# Suite files

A suite is a seam.yaml (and the files it includes). Any string may hold
((…)) templates. Step kinds, expectations and service kinds have their own
references: seam help steps, seam help expect, seam help services.
`)
	for _, p := range SuiteKeys() {
		fmt.Fprintf(&b, "\n## %s\n\n", p.Title)
		for _, k := range p.Keys {
			fmt.Fprintf(&b, "- `%s`: %s\n", k.Name, k.Doc)
		}
	}
	return b.String()
}

// CommandsHelp documents the commands and their flags, from their own
// usage: the top-level usage, then each command's -h.
func CommandsHelp() string {
	var b strings.Builder
	b.WriteString("# Commands\n\n```\n" + usage + "```\n")
	for _, c := range UsageCommands() {
		var out bytes.Buffer
		Run(context.Background(), append(strings.Fields(c), "-h"), IO{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }})
		fmt.Fprintf(&b, "\n## seam %s\n\n```\n%s```\n", c, out.String())
	}
	return b.String()
}

// UsageCommands lists the commands the usage names ("run", "stub record"),
// in its order, without help and version.
func UsageCommands() []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(usage, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "seam ")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "  ") // the description starts after two spaces
		var words []string
		for _, w := range strings.Fields(rest) {
			if w == "" || !('a' <= w[0] && w[0] <= 'z') {
				break
			}
			words = append(words, w)
		}
		c := strings.Join(words, " ")
		if c != "" && c != "help" && c != "version" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}
