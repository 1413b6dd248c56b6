package natsstep

import (
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
	"go.yaml.in/yaml/v4"
)

// TestWatchPattern: what a receive's subject may be, known at load.
func TestWatchPattern(t *testing.T) {
	for subject, want := range map[string]string{
		"orders.created":              "orders.created",
		"orders.*":                    "orders.*",
		"orders.>":                    "orders.>",
		"orders.((kind))":             "orders.>",
		"orders.((kind)).created":     "orders.*.created",
		"orders.eu-((region)).placed": "orders.*.placed",
		"((subject))":                 ">",
		"((a)).((b))":                 "*.>",
		"x((a))":                      "*",
	} {
		d := decode.New("seam.yaml", &diag.List{})
		d.Vars = map[string]bool{"kind": true, "region": true, "subject": true, "a": true, "b": true}
		var s expr.Str
		s.DecodeYAML(d, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: subject, Line: 1, Column: 1})
		if d.Errs.Len() > 0 {
			t.Fatalf("%s: %v", subject, d.Errs.Errors())
		}
		if got := watchPattern(s); got != want {
			t.Errorf("watchPattern(%s) = %s, want %s", subject, got, want)
		}
	}
}
