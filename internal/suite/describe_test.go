package suite

import (
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestDescribeStep: a step's name from its inputs, for a list of actions
// too (the browser's), with no trailing space.
func TestDescribeStep(t *testing.T) {
	for src, want := range map[string]string{
		`[echo, hi]`:                     "exec echo hi",
		`[{open: ui}, {click: "#save"}]`: "exec open ui, click #save",
		`[{open: ui}, {fill: {"#a": x}}, {click: b}, {wait: c}]`: "exec open ui, fill, click b, …",
		`[]`:   "exec",
		`[{}]`: "exec",
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		if got := describe("exec", n.Content[0]); got != want {
			t.Errorf("describe(%s) = %q, want %q", src, got, want)
		}
	}
}
