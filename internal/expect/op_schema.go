package expect

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// The schema operator uses google/jsonschema-go rather than a library that
// supports older drafts: its package init is cheap (about 0.15 ms against
// several ms for libraries that compile every metaschema at start), and
// every seam command pays a package's init, used or not.

type schemaOp struct{}

func (schemaOp) Usage() Usage {
	return Usage{Name: "schema", Summary: "the value is valid against a JSON Schema (draft 2020-12 by default, or draft-07 when its $schema says so), given inline or as a file path relative to the suite file", Example: "body: {schema: schemas/order.json}"}
}

// canonicalDraft maps a $schema the library validates, less any trailing
// "#" and its http:// or https://, to the form the library knows.
func canonicalDraft(key string) (string, bool) {
	switch key {
	case "json-schema.org/draft/2020-12/schema":
		return "https://json-schema.org/draft/2020-12/schema", true
	case "json-schema.org/draft-07/schema":
		return "http://json-schema.org/draft-07/schema#", true
	}
	return "", false
}

func (schemaOp) Compile(c *Compiler, n *yaml.Node) Check {
	n = decode.Resolve(n)
	var doc any
	loc := filepath.Join(c.D.Dir, "inline.json")
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		path := n.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(c.D.Dir, path)
		}
		var err error
		if doc, err = readSchemaFile(path); err != nil {
			e := c.D.Errorf(n, "schema: %v", err)
			if errors.Is(err, os.ErrNotExist) {
				e.WithHint("paths are relative to the suite file")
			}
			return nil
		}
		loc = path
	} else {
		var err error
		if doc, err = decode.Any(n); err != nil {
			c.D.Errorf(n, "schema: %v", err)
			return nil
		}
	}
	sch, err := toSchema(doc)
	if err != nil {
		e := c.D.Errorf(n, "schema: %v", err)
		var ue unsupportedDraft
		if errors.As(err, &ue) {
			e.WithHint("seam checks JSON Schema drafts 2020-12 and draft-07: declare one of them as $schema, or leave $schema out for 2020-12")
		}
		return nil
	}
	abs, err := filepath.Abs(loc)
	if err != nil {
		abs = loc
	}
	base := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	rs, err := sch.Resolve(&jsonschema.ResolveOptions{BaseURI: base, Loader: loadSchemaRef})
	if err != nil {
		c.D.Errorf(n, "schema: invalid JSON Schema: %v", firstLine(err.Error())).
			WithHint("a $ref names a file relative to the schema's own file, with an optional #/json/pointer")
		return nil
	}
	return schemaCheck{rs: rs}
}

// readSchemaFile reads a schema file in JSON, or YAML for those who write
// their schemas in it.
func readSchemaFile(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, unwrapPathErr(err))
	}
	doc, err := expr.DecodeJSON(data)
	if err != nil {
		yn, yerr := decode.Parse(data)
		if yerr == nil {
			doc, yerr = decode.Any(yn)
		}
		if yerr != nil {
			return nil, fmt.Errorf("%s is neither JSON nor YAML: %v", path, err)
		}
	}
	return doc, nil
}

// loadSchemaRef loads a $ref to another file; nothing is fetched over the
// network.
func loadSchemaRef(u *url.URL) (*jsonschema.Schema, error) {
	if u.Scheme != "file" {
		return nil, fmt.Errorf("$ref %s: only files are loaded, never the network", u)
	}
	doc, err := readSchemaFile(filepath.FromSlash(u.Path))
	if err != nil {
		return nil, fmt.Errorf("$ref: %w", err)
	}
	return toSchema(doc)
}

type unsupportedDraft struct{ uri string }

func (u unsupportedDraft) Error() string {
	return fmt.Sprintf("$schema %q is not a supported JSON Schema draft (supported: 2020-12, draft-07)", u.uri)
}

// toSchema checks a decoded schema's $schema and turns it into the
// library's form; a keyword of the wrong type (type: 5) fails here.
func toSchema(doc any) (*jsonschema.Schema, error) {
	if m, ok := doc.(map[string]any); ok {
		if v, ok := m["$schema"]; ok {
			s, _ := v.(string)
			key := strings.TrimSuffix(s, "#")
			key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
			canon, ok := canonicalDraft(key)
			if !ok {
				return nil, unsupportedDraft{uri: fmt.Sprint(v)}
			}
			if canon != s {
				c := make(map[string]any, len(m))
				for k, e := range m {
					c[k] = e
				}
				c["$schema"] = canon
				doc = c
			}
		}
	}
	data, err := json.Marshal(schemaValue(doc))
	if err != nil {
		return nil, err
	}
	var sch jsonschema.Schema
	if err := json.Unmarshal(data, &sch); err != nil {
		return nil, fmt.Errorf("invalid JSON Schema: %v", err)
	}
	return &sch, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type schemaCheck struct{ rs *jsonschema.Resolved }

func (s schemaCheck) Check(got Got, _ expr.Vars) *Failure {
	err := s.rs.Validate(schemaValue(got.Value))
	if err == nil {
		return nil
	}
	at, what := schemaFailure(err)
	return &Failure{Msg: fmt.Sprintf("does not match the JSON Schema: at %q: %s", at, what)}
}

// schemaFailure splits the library's error, a chain of "validating
// SCHEMA-PATH: " wrappers around the keyword that failed, into the
// instance path that failed and the keyword's message. The library names
// schema paths only; the instance path follows from them, with * for an
// array item or an object member whose index or key it does not say.
func schemaFailure(err error) (at, what string) {
	var paths []string
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			break
		}
		prefix := strings.TrimSuffix(err.Error(), ": "+inner.Error())
		if p, ok := strings.CutPrefix(prefix, "validating "); ok && prefix != err.Error() {
			paths = append(paths, p)
		}
		err = inner
	}
	var inst []string
	for i := 1; i < len(paths); i++ {
		parent := paths[i-1]
		if parent == "root" {
			parent = ""
		}
		rest, ok := strings.CutPrefix(paths[i], parent+"/")
		if !ok {
			continue // a $ref: the same instance, another schema
		}
		inst = append(inst, instanceSteps(strings.Split(rest, "/"))...)
	}
	what = strings.ReplaceAll(err.Error(), "\n", "; ")
	return "/" + strings.Join(inst, "/"), what
}

// instanceSteps maps the keywords between a schema and its subschema to
// the steps they take into the instance.
func instanceSteps(segs []string) []string {
	var out []string
	for i := 0; i < len(segs); i++ {
		switch segs[i] {
		case "properties":
			if i+1 < len(segs) {
				out = append(out, segs[i+1])
				i++
			}
		case "prefixItems":
			if i+1 < len(segs) {
				out = append(out, segs[i+1])
				i++
			}
		case "items":
			// draft-07's array form names the index; 2020-12's does not.
			if i+1 < len(segs) {
				if _, err := strconv.Atoi(segs[i+1]); err == nil {
					out = append(out, segs[i+1])
					i++
					continue
				}
			}
			out = append(out, "*")
		case "additionalItems", "unevaluatedItems", "contains", "additionalProperties", "unevaluatedProperties":
			out = append(out, "*")
		case "patternProperties":
			out = append(out, "*")
			i++
		case "allOf", "anyOf", "oneOf", "dependentSchemas", "$defs", "definitions", "dependencies":
			i++ // the same instance
		}
	}
	return out
}

// schemaValue converts a canonical value for jsonschema, which takes Go
// numbers: an integer beyond int64 becomes the nearest float64 (still an
// integer for "type").
func schemaValue(v any) any {
	switch x := v.(type) {
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	case expr.Decimal:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = schemaValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = schemaValue(e)
		}
		return out
	}
	return v
}
