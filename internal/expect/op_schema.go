package expect

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

type schemaOp struct{}

func (schemaOp) Usage() Usage {
	return Usage{Name: "schema", Summary: "the value is valid against a JSON Schema (draft 2020-12 by default), given inline or as a file path relative to the suite file", Example: "body: {schema: schemas/order.json}"}
}

func (schemaOp) Compile(c *Compiler, n *yaml.Node) Check {
	n = decode.Resolve(n)
	var doc any
	loc := "inline.json"
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		path := n.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(c.D.Dir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			c.D.Errorf(n, "schema: cannot read %s: %v", path, unwrapPathErr(err)).WithHint("paths are relative to the suite file")
			return nil
		}
		doc, err = expr.DecodeJSON(data)
		if err != nil {
			yn, yerr := decode.Parse(data)
			if yerr == nil {
				doc, yerr = decode.Any(yn)
			}
			if yerr != nil {
				c.D.Errorf(n, "schema: %s is neither JSON nor YAML: %v", path, err)
				return nil
			}
		}
		loc = path
	} else {
		var err error
		if doc, err = decode.Any(n); err != nil {
			c.D.Errorf(n, "schema: %v", err)
			return nil
		}
	}
	comp := jsonschema.NewCompiler()
	url := "file:///" + strings.TrimPrefix(filepath.ToSlash(loc), "/")
	if err := comp.AddResource(url, schemaValue(doc)); err != nil {
		c.D.Errorf(n, "schema: %v", err)
		return nil
	}
	sch, err := comp.Compile(url)
	if err != nil {
		c.D.Errorf(n, "schema: invalid JSON Schema: %v", firstLine(err.Error()))
		return nil
	}
	return schemaCheck{sch: sch}
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

type schemaCheck struct{ sch *jsonschema.Schema }

func (s schemaCheck) Check(got Got, _ expr.Vars) *Failure {
	err := s.sch.Validate(schemaValue(got.Value))
	if err == nil {
		return nil
	}
	msg := err.Error()
	if ve, ok := err.(*jsonschema.ValidationError); ok {
		var causes []string
		for _, leaf := range leaves(ve) {
			// A leaf's basic output renders its ErrorKind in English;
			// the ErrorKind itself has no String method.
			what := fmt.Sprint(leaf.ErrorKind)
			if out := leaf.BasicOutput(); out.Error != nil {
				what = out.Error.String()
			}
			causes = append(causes, fmt.Sprintf("at %q: %s", "/"+strings.Join(leaf.InstanceLocation, "/"), what))
		}
		if len(causes) > 0 {
			msg = strings.Join(causes, "; ")
		}
	}
	return &Failure{Msg: "does not match the JSON Schema: " + msg}
}

// schemaValue converts a canonical value for jsonschema, which takes
// json.Number but not *big.Int for integers beyond int64.
func schemaValue(v any) any {
	switch x := v.(type) {
	case *big.Int:
		return json.Number(x.String())
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

func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return []*jsonschema.ValidationError{ve}
	}
	var out []*jsonschema.ValidationError
	for _, c := range ve.Causes {
		out = append(out, leaves(c)...)
	}
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}
