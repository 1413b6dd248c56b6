package httpstep_test

import (
	"testing"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/step/httpstep"
)

// An unknown method is reported at the method, wherever it is written:
// under url:, in the short form (quoted or not), or in a merged mapping.
func TestUnknownMethodPosition(t *testing.T) {
	k := httpstep.New()
	defer k.Close()
	for _, tc := range []struct{ doc, pos string }{
		{"http:\n  url: http://127.0.0.1:1/\n  method: PSOT\n", "f.yaml:3:11"},
		{"http: PSOT http://127.0.0.1:1/\n", "f.yaml:1:7"},
		{"http: \"  PSOT http://127.0.0.1:1/\"\n", "f.yaml:1:10"},
		{"base: &b {method: PSOT}\nhttp: {<<: *b, url: http://127.0.0.1:1/}\n", "f.yaml:1:19"},
	} {
		root, err := decode.Parse([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		var errs diag.List
		d := decode.New("f.yaml", &errs)
		d.Src = []byte(tc.doc)
		for _, f := range d.Fields(root, "doc") {
			if f.Key == "http" {
				k.Decode(d, decode.Resolve(f.Value))
			}
		}
		got := errs.Errors()
		if len(got) != 1 || got[0].Pos.String() != tc.pos || got[0].Msg != `http: unknown method "PSOT"` {
			t.Errorf("%q: got %v; want one problem at %s", tc.doc, errs.Err(), tc.pos)
		}
	}
}

// A template in the short form's URL is placed under it, through quotes
// and escapes.
func TestShortFormURLPosition(t *testing.T) {
	k := httpstep.New()
	defer k.Close()
	doc := "http: \"POST \\t((base))/x\"\n"
	root, err := decode.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var errs diag.List
	d := decode.New("f.yaml", &errs)
	d.Src = []byte(doc)
	d.Vars = map[string]bool{}
	k.Decode(d, decode.Resolve(root).Content[1])
	got := errs.Errors()
	if len(got) != 1 || got[0].Pos.String() != "f.yaml:1:17" {
		t.Errorf("got %v; want one problem at f.yaml:1:17", errs.Err())
	}
}
