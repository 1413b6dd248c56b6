package stub

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// corpusText is every mapping and request of the differential corpus, as
// written.
func corpusText(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob("testdata/differential/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no differential corpus: %v", err)
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// TestEveryWireMockFeatureIsCheckedOrListed keeps docs/stubs.md's
// differences honest: every helper, matcher and request key WireMock
// documents is either exercised by the differential corpus (recorded from
// the jar, so seam's answer is checked against WireMock's) or listed in
// the differences the docs are generated from, never both.
func TestEveryWireMockFeatureIsCheckedOrListed(t *testing.T) {
	corpus := corpusText(t)
	missing := missingHelpers()
	for _, h := range wiremockHelpers {
		used := regexp.MustCompile(`[{(#]\s*` + regexp.QuoteMeta(h) + `[\s}]`).MatchString(corpus)
		listed := slices.Contains(missing, h)
		switch {
		case !used && !listed:
			t.Errorf("helper %q: neither in the differential corpus nor listed as a difference; add a case (recorded from the jar)", h)
		case used && listed:
			t.Errorf("helper %q: listed as missing but the corpus calls it; implement it or drop the case", h)
		}
	}
	for _, h := range absentFromJar {
		if _, ok := templateHelpers()[h]; ok {
			t.Errorf("helper %q: the jar lacks it, seam must too (a template calling it is an error answer)", h)
		}
	}
	key := func(k string) bool {
		return regexp.MustCompile(`(?m)(^|[{,\s"])` + regexp.QuoteMeta(k) + `"?\s*:`).MatchString(corpus)
	}
	refused := func(where, k string) bool { return notSupported(where, k) }
	for _, m := range wiremockMatchers {
		switch {
		case !key(m) && !refused("matcher", m):
			t.Errorf("matcher key %q: neither in the differential corpus nor listed as unsupported", m)
		case key(m) && refused("matcher", m):
			t.Errorf("matcher key %q: listed as unsupported but the corpus uses it", m)
		}
	}
	for _, k := range wiremockRequestKeys {
		switch {
		case !key(k) && !refused("request", k):
			t.Errorf("request key %q: neither in the differential corpus nor listed as unsupported", k)
		case key(k) && refused("request", k):
			t.Errorf("request key %q: listed as unsupported but the corpus uses it", k)
		}
	}
	docs, err := os.ReadFile("../../docs/stubs.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docs), differencesHelp()) {
		t.Errorf("docs/stubs.md does not list the differences the code has; regenerate it: go run ./cmd/seam help stubs > docs/stubs.md")
	}
}

// TestListedDifferencesAreReal checks the listed differences hold: each
// unsupported key is refused naming it, each missing helper fails.
func TestListedDifferencesAreReal(t *testing.T) {
	for _, u := range unsupportedKeys {
		var doc string
		switch u.where {
		case "mapping":
			doc = `{"request": {"urlPath": "/a"}, "response": {}, "` + u.key + `": "x"}`
		case "request":
			doc = `{"request": {"urlPath": "/a", "` + u.key + `": "x"}, "response": {}}`
		case "matcher":
			doc = `{"request": {"urlPath": "/a", "headers": {"X": {"` + u.key + `": "x"}}}, "response": {}}`
		case "response":
			doc = `{"request": {"urlPath": "/a"}, "response": {"` + u.key + `": "x"}}`
		}
		_, err := ParseJSON("f.json", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), `"`+u.key+`" is a WireMock feature`) {
			t.Errorf("%s key %q is listed as refused, but parsing %s gave %v", u.where, u.key, doc, err)
		}
	}
	for _, h := range append(missingHelpers(), absentFromJar...) {
		tp, err := parseTemplate("{{" + h + " 'x'}}")
		if err != nil {
			continue
		}
		if _, err := tp.render(map[string]any{}, newLockedRand(1)); err == nil {
			t.Errorf("helper %q is listed as missing, but a template calling it renders", h)
		}
	}
}
