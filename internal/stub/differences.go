package stub

import (
	"slices"
	"sort"
	"strings"
)

// What seam's stub does not do as WireMock 3.13.2 does, in one place: the
// parser refuses the unsupported keys from this table (never ignores
// them), docs/stubs.md lists it, and the differential corpus
// (testdata/differential, recorded from WireMock's jar) checks the rest.

// unsupportedKeys are WireMock keys seam refuses with an error naming
// them, by where they appear.
var unsupportedKeys = []struct{ where, key, why string }{
	{"mapping", "postServeActions", "webhooks and other extensions run after serving"},
	{"mapping", "serveEventListeners", "extensions"},
	{"request", "customMatcher", "Java extensions"},
	{"request", "formParameters", "form-body matching"},
	{"request", "host", "matching on the Host"},
	{"request", "port", "matching on the port"},
	{"request", "scheme", "matching on the scheme"},
	{"request", "clientIp", "matching on the client address"},
	{"response", "additionalProxyRequestHeaders", "proxy request rewriting"},
	{"response", "removeProxyRequestHeaders", "proxy request rewriting"},
	{"response", "proxyUrlPrefixToRemove", "proxy request rewriting"},
}

func notSupported(where, key string) bool {
	for _, u := range unsupportedKeys {
		if u.where == where && u.key == key {
			return true
		}
	}
	return false
}

// wiremockHelpers is the Handlebars helper set WireMock 3 documents
// (its own and the Handlebars.java string and conditional helpers it
// registers), for listing the ones seam lacks.
var wiremockHelpers = []string{
	"abbreviate", "and", "array", "arrayAdd", "arrayJoin", "arrayRemove", "assign", "base64", "capitalize",
	"capitalizeFirst", "center", "contains", "cut", "date", "dateFormat", "defaultIfEmpty", "eq", "formData",
	"formatJson", "gt", "gte", "hostname", "isEven", "isOdd", "join", "jsonArrayAdd", "jsonMerge", "jsonPath", "jsonRemove",
	"jsonSort", "ljust", "lower", "lt", "lte", "matches", "math", "neq", "not", "now", "numberFormat", "or",
	"parseDate", "parseJson", "pickRandom", "randomDecimal", "randomInt", "randomValue", "range",
	"regexExtract", "replace", "rjust", "size", "slugify", "soapXPath", "stringFormat", "stripes", "stripTags",
	"substring", "systemValue", "toJson", "trim", "truncateDate", "upper", "urlEncode", "val", "wordWrap",
	"xPath", "yesno",
}

// absentFromJar are helpers WireMock's documentation names that its
// 3.13.2 jar does not have: both answer a template calling one 500, and
// the differential corpus checks that.
var absentFromJar = []string{"jsonSort"}

// wiremockMatchers are the matcher keys (operators and their options)
// WireMock 3 documents; each is exercised by the differential corpus or
// listed in unsupportedKeys (TestEveryWireMockFeatureIsCheckedOrListed).
var wiremockMatchers = []string{
	"equalTo", "caseInsensitive", "contains", "doesNotContain", "matches", "doesNotMatch", "absent",
	"equalToJson", "ignoreArrayOrder", "ignoreExtraElements", "matchesJsonPath", "expression",
	"matchesJsonSchema", "schemaVersion", "equalToXml", "enablePlaceholders", "matchesXPath", "xPathNamespaces",
	"binaryEqualTo", "before", "after", "equalToDateTime", "actualFormat", "truncateExpected", "truncateActual",
	"expectedOffset", "expectedOffsetUnit", "and", "or", "not", "hasExactly", "includes",
}

// wiremockRequestKeys are the request keys WireMock 3 documents.
var wiremockRequestKeys = []string{
	"method", "url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate", "pathParameters",
	"queryParameters", "headers", "cookies", "bodyPatterns", "basicAuthCredentials", "multipartPatterns",
	"customMatcher", "formParameters", "host", "port", "scheme", "clientIp",
}

// missingHelpers are WireMock's helpers seam lacks: a template calling
// one is answered with an error, as WireMock answers an unknown helper.
func missingHelpers() []string {
	have := templateHelpers()
	var out []string
	for _, h := range wiremockHelpers {
		if _, ok := have[h]; !ok && !slices.Contains(absentFromJar, h) {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out
}

// behaviourDifferences are the remaining differences in behaviour, each
// known and deliberate.
var behaviourDifferences = []string{
	"the journal keeps at most the first 1 MiB of a body (`bodyTruncated` and `bodySize` say so in `/__admin/requests`) " +
		"and at most 128 MiB of requests (`seam stub --journal-mib`), oldest dropped first; WireMock keeps every body whole, without bound",
	"a request body over 16 MiB is answered 413; WireMock reads any size",
	"`equalToXml` with `enablePlaceholders` is refused",
	"`toJson` of an object from `parseJson` or `jsonPath` prints its keys sorted; WireMock keeps the document's order",
	"a template that does not parse (`{{x}}}`: a closing brace right after a tag) is refused when the mapping loads, " +
		"naming the mapping; WireMock accepts the mapping and answers its requests 500",
	"`matchesJsonSchema` with `schemaVersion` V4 or V6 validates as draft-07",
	"a date matcher (`before`, `after`, `equalToDateTime`) with `actualFormat: unix` or `epoch` on a missing or non-numeric value " +
		"does not match; WireMock answers the request 500",
	"near misses are ranked as WireMock ranks them, their `distance` computed with its weights; but a failed matcher " +
		"other than `equalTo` counts whole, where WireMock scores some (`equalToJson`, …) by degree",
	"a mapping folder with a mapping seam cannot serve: `seam stub` names it (file:line:col) and serves the rest; " +
		"a suite's `stub:` refuses the suite, as every suite error does",
}

func differencesHelp() string {
	var b strings.Builder
	b.WriteString("## Differences from WireMock 3.13.2\n\n")
	b.WriteString("Checked by the differential corpus (internal/stub/testdata/differential: mappings and requests recorded\n")
	b.WriteString("from WireMock's jar, replayed against seam by `go test`); what remains:\n\n")
	b.WriteString("- keys seam refuses with an error naming them: ")
	var keys []string
	for _, u := range unsupportedKeys {
		keys = append(keys, "`"+u.key+"` ("+u.where+", "+u.why+")")
	}
	b.WriteString(strings.Join(keys, ", ") + "\n")
	b.WriteString("- every response-template helper and matcher WireMock documents is served and checked by that corpus\n")
	b.WriteString("  (a test fails when one is neither in the corpus nor listed here); " + code(absentFromJar) + " is documented\n")
	b.WriteString("  but absent from the 3.13.2 jar: both answer a template calling it 500\n")
	b.WriteString("- response-template helpers seam lacks (a template calling one is answered 500, as WireMock answers an\n")
	if m := missingHelpers(); len(m) > 0 {
		b.WriteString("  unknown helper): " + code(m) + "\n")
	} else {
		b.WriteString("  unknown helper): none\n")
	}
	for _, d := range behaviourDifferences {
		b.WriteString("- " + d + "\n")
	}
	return b.String()
}
