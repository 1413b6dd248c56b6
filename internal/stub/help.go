package stub

import (
	"fmt"
	"sort"
	"strings"
)

// Help documents what the stub understands, from the same lists its parser
// accepts; `seam help stubs` prints it and docs/stubs.md is this text.
func Help() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Stubs\n\n")
	w("A `stub` service is an HTTP (and gRPC) server seam runs on a free loopback port in place of a component that is\n")
	w("missing, not ready or third-party. It answers from mappings, keeps a journal of what it was sent\n")
	w("(for `stub-verify`), and fails the test when a request matches no mapping (unless `unmatched: ignore`).\n\n")
	w("Mappings come from WireMock's JSON (files, or folders laid out like WireMock's: `mappings/*.json`\n")
	w("and `__files/`), from `.yaml` files of routes, or inline as `routes:` in seam's own form. Both forms\n")
	w("compile to one model. Anything seam does not support is an error naming the file, line and column:\n")
	w("a stub never silently matches more than was meant.\n\n")
	w("## WireMock mappings\n\n")
	w("- mapping keys: %s\n", code(mappingKeys))
	w("- request keys: %s (one URL key: %s)\n", code(requestKeys), code(urlKeys))
	w("- value matchers (headers, queryParameters, cookies, pathParameters, bodyPatterns): %s\n", code(matcherKeys))
	w("  `equalToJson` and `matchesJsonPath` apply to bodies; `matchesJsonPath` takes an expression or\n")
	w("  `{\"expression\": …, <matcher>}` and Jayway's functions (`$.a.length()`, `@.a.size()` in filters);\n")
	w("  `matches` must match the whole value, as in Java; `hasExactly` and `includes` match all the values of\n")
	w("  a query parameter or header; `equalToJson` compares numbers exactly and honours JsonUnit placeholders\n")
	w("  (`${json-unit.any-string}`, `any-number`, `any-boolean`, `ignore`, `regex`); `equalToXml` ignores\n")
	w("  white space, attribute and element order; `matchesXPath` takes `xPathNamespaces` and a sub-matcher;\n")
	w("  `matchesJsonSchema` takes `schemaVersion`; `multipartPatterns` (ANY or ALL) match parts' headers and bodies;\n")
	w("  `before`, `after` and `equalToDateTime` compare a date-time (ISO-8601, RFC 1123, or `actualFormat`: a Java\n")
	w("  pattern, `epoch`, `unix`) with a fixed one or one relative to now (`now +3 days`, or `expectedOffset` and\n")
	w("  `expectedOffsetUnit`), after `truncateActual` / `truncateExpected` (`first day of month`, …)\n")
	w("  `caseInsensitive` applies to `equalTo`; beside another matcher it is accepted and ignored, as in WireMock\n")
	w("- url and urlPath match the path as sent (`/a%%2Fb` is not `/a/b`); a body sent with `Content-Encoding: gzip`\n")
	w("  or `deflate` is matched, journaled and templated decompressed\n")
	w("- response keys: %s\n", code(responseKeys))
	w("- faults: %s\n", code(Faults))
	w("- delayDistribution types: `lognormal` (median, sigma, maxValue), `uniform` (lower, upper), `fixed` (milliseconds)\n")
	w("- among mappings that match, the lowest `priority` wins (default %d), then the one added last\n", DefaultPriority)
	w("- scenarios: `scenarioName`, `requiredScenarioState`, `newScenarioState`; every scenario starts in\n")
	w("  `%s`; choosing a mapping and moving its scenario is one atomic step\n", ScenarioStarted)
	w("- a request no mapping matched is answered 404 with its near misses, the closest mappings first, ranked with\n")
	w("  WireMock's weights: the URL 10 (by edit distance for `url` and `urlPath`), the method 3, and only when both\n")
	w("  match, each other part (path parameters, query, headers, cookies, body, multipart) 1; a mapping that\n")
	w("  differs only in its scenario's state is the closest; long values are shown cut, with a marker\n\n")
	w("## gRPC\n")
	w("\n")
	w("A stub answers gRPC calls too, on the same port: a connection that opens with HTTP/2's preface (prior\n")
	w("knowledge h2c, as gRPC clients connect without TLS) is served over HTTP/2; the HTTP/1 Upgrade to h2c is not\n")
	w("offered. As WireMock's gRPC extension does, each call becomes a request the mappings match like any other, and\n")
	w("the mapping's answer becomes the call's:\n")
	w("\n")
	w("- the request is `POST /package.Service/Method` (seam's form also takes `when: GRPC /package.Service/Method`),\n")
	w("  its metadata as headers, its message as JSON (protobuf's JSON mapping: lowerCamelCase names, 64-bit integers\n")
	w("  as strings, fields at their default left out), so `equalToJson`, `matchesJsonPath`, scenarios, templates over\n")
	w("  `request.body`, the journal and `stub-verify` apply unchanged; a client stream's messages are a JSON list\n")
	w("- the answer's body, JSON, is the response message (`jsonBody`, or `json:`); a JSON list answers a\n")
	w("  server-streaming method with one message each; an empty body is the message with every field unset; a body\n")
	w("  that is not the method's output type (an unknown field, a wrong type) is answered `INTERNAL`, naming the mapping\n")
	w("- a status other than OK: the headers `grpc-status-name` (a code's name or number) and `grpc-status-reason`, or\n")
	w("  in seam's form `then: {grpc: {code: NOT_FOUND, message: no such sku}}`; an HTTP status other than 200 without\n")
	w("  them is the code gRPC's clients report for it (401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,\n")
	w("  429, 502, 503 and 504 UNAVAILABLE, 400 INTERNAL, others UNKNOWN), the body its message; the mapping's other\n")
	w("  headers are sent as response metadata\n")
	w("- a call no mapping matched is answered `NOT_FOUND` with the closest mappings (and fails the test, as for HTTP);\n")
	w("  a method the types do not define, `UNIMPLEMENTED`, naming those they do\n")
	w("- delays apply; faults: `CONNECTION_RESET_BY_PEER` and `RANDOM_DATA_THEN_CLOSE` end the TCP connection (every\n")
	w("  call on it fails), `EMPTY_RESPONSE` and `MALFORMED_RESPONSE_CHUNK` reset the call's stream\n")
	w("- the types: `grpc: {protos: [...]}` (or `descriptor_sets:`) on the service, as for a real gRPC service (the\n")
	w("  wire then shows the calls as JSON too); for `seam stub DIR` and mapping folders, the `grpc/` folder beside\n")
	w("  `mappings/` (descriptor sets from `protoc --descriptor_set_out`: `.dsc`, `.desc`, `.pb`, `.binpb`, as WireMock\n")
	w("  reads them; and `.proto` files); without types, a method's messages are matched as bytes (`binaryEqualTo`)\n")
	w("  and answered from `base64Body`\n")
	w("- messages compressed with gzip are inflated; answers are sent uncompressed; client-streaming and bidirectional\n")
	w("  calls are answered once the caller has ended its side; `seam stub record` records gRPC calls (below)\n")
	w("\n")
	w("```yaml\n")
	w("pricing:\n")
	w("  process: {build: go build -o ((bin)) ./pricing, run: [((bin)), -listen, ((addr))]}\n")
	w("  ports: [grpc]\n")
	w("  grpc: {protos: [pricing/pricing.proto]}\n")
	w("  stub:\n")
	w("    routes:\n")
	w("      - when: GRPC /shop.pricing.v1.Pricing/Quote\n")
	w("        body: {equalToJson: {sku: C3}, ignoreExtraElements: true}\n")
	w("        then: {json: {unitCents: 250, totalCents: \"{{math 250 '*' (jsonPath request.body '$.qty')}}\"}, template: true}\n")
	w("      - when: GRPC /shop.pricing.v1.Pricing/Quote\n")
	w("        then: {grpc: {code: NOT_FOUND, message: unknown sku}}\n")
	w("```\n")
	w("\n")
	w("## Response templates\n\n")
	w("With `\"transformers\": [\"response-template\"]` (seam's form: `template: true`) the body, headers and\n")
	w("bodyFileName are Handlebars templates over the request: `request.url`, `request.path`,\n")
	w("`request.path.<param>` (urlPathTemplate), `request.pathSegments.[n]`, `request.query.<name>`,\n")
	w("`request.headers.<name>`, `request.cookies.<name>`, `request.method`, `request.body`, `request.baseUrl`.\n")
	w("Header names are looked up ignoring case. Helpers: `{{jsonPath request.body '$.a'}}` (as a\n")
	w("sub-expression it gives the value found, to iterate with `#each` or measure with `size`),\n")
	w("`{{randomValue length=8 type='ALPHANUMERIC'}}` (types ALPHANUMERIC, ALPHABETIC, NUMERIC,\n")
	w("ALPHANUMERIC_AND_SYMBOLS, HEXADECIMAL, UUID; uppercase=true), `{{now}}`,\n")
	w("`{{now format='yyyy-MM-dd' offset='3 days' timezone='UTC'}}` (format also epoch, unix), and WireMock's\n")
	w("others: %s; Handlebars' own `if`, `unless`, `each`, `with`, `lookup`, and sub-expressions.\n", code(helperNames()))
	w("Variables: `{{#assign 'x'}}…{{/assign}}`, `{{regexExtract request.body '([a-z]+)-([0-9]+)' 'parts'}}` (the groups\n")
	w("of every match: `{{parts.0}}`), `{{formData request.body 'form' urlDecode=true}}` (`{{form.name}}`). Dates:\n")
	w("`{{dateFormat (parseDate request.headers.X-Date format='dd/MM/yyyy') 'yyyy-MM-dd'}}`, `truncateDate`, and\n")
	w("`{{date (parseDate …) offset='-1 days'}}`; offsets take `seconds`, `minutes`, `hours`, `days`, `months`, `years`.\n")
	w("`systemValue` reads only keys starting with `wiremock` (WireMock's default), others answer `[ERROR: Access to KEY is denied]`.\n")
	w("A template calling a helper that does not exist is answered 500 naming it, as in WireMock.\n\n")
	w("## seam's form\n\n")
	w("```yaml\nstub:\n  routes:\n")
	w("    - name: a charge is accepted          # optional; names the mapping in reports\n")
	w("      when: POST /charges/{id}           # METHOD and path; {x} segments are parameters; ?q=1 matches the whole URL\n")
	w("      query: {page: \"1\"}                 # a string is equalTo; or any matcher above\n")
	w("      headers: {Authorization: {matches: \"Bearer .+\"}}\n")
	w("      body: {matchesJsonPath: $.amount}  # a body matcher, or a list of them\n")
	w("      scenario: {name: payment, state: Started, next: charged}\n")
	w("      priority: 1\n")
	w("      then: {status: 201, json: {id: ch_1}, headers: {X-Id: \"1\"}, delay: 50ms}\n```\n\n")
	w("- route keys: %s; `when` may also be a WireMock request object\n", code(routeKeys))
	w("- a YAML `!!binary` value given as a matcher (`body: !!binary /w==`) matches its bytes (as `binaryEqualTo`)\n")
	w("- then keys: %s (json → jsonBody, base64 → base64Body, file → bodyFileName, delay → fixedDelayMilliseconds,\n", code(thenKeys))
	w("  proxy → proxyBaseUrl, template: true → the response-template transformer, grpc: {code, message} → the\n")
	w("  headers grpc-status-name and grpc-status-reason)\n\n")
	w("## Admin API (WireMock's core endpoints, under /__admin)\n\n")
	for _, e := range adminEndpoints {
		w("- `%s`\n", e)
	}
	w("- `GET /__admin/requests` honours `?limit=N` (the newest N) and `?since=` (an ISO 8601 time)\n")
	w("\n%s", differencesHelp())
	w("\n## Commands\n\n")
	w("- `seam stub [--port P] DIR|FILE` serves mappings alone; it shares the machine with its callers, so it runs on\n")
	w("  half the cores and with a larger GC goal (`GOMAXPROCS` and `GOGC` in the environment override)\n")
	w("- `seam stub record --target URL --out DIR [--format wiremock|seam] [--proto FILE]` records a real service into mappings,\n")
	w("  one per distinct request (method, URL, body): a body that is not text is matched with `binaryEqualTo`; the\n")
	w("  answer's headers are kept (`Set-Cookie` too) but for `Date`, `Server` and framing. A request repeated with\n")
	w("  different answers becomes a scenario that steps through them in order, the last repeating (WireMock's\n")
	w("  `repeatsAsScenarios`). Traffic passes whole, headers and bytes as sent (nothing unzipped or added); an\n")
	w("  exchange with a body over 16 MiB passes but is not recorded, and the recorder says so on stderr.\n")
	w("  gRPC callers reach it over HTTP/2 without TLS, as they reach the service; each call is recorded as the\n")
	w("  mapping above: its request message as JSON (`equalToJson`), its answer's messages as the JSON body (a list\n")
	w("  for a server-streaming method), a status other than OK as `grpc-status-name`/`grpc-status-reason` (seam's\n")
	w("  form: `when: GRPC /pkg.Svc/Method`, `then: {grpc: {code, message}}`), the service's metadata as headers.\n")
	w("  The JSON needs the services' types: `--proto FILE` (repeatable; a .proto, or a descriptor set) with\n")
	w("  `--import-path DIR`, or else the target's reflection service is asked; the types are written to\n")
	w("  `DIR/grpc/services.dsc`, where `seam stub DIR` (and WireMock's gRPC extension) read them. Without types a\n")
	w("  call is recorded as bytes (`binaryEqualTo`, `base64Body`) and the recorder says so\n")
	w("- `seam run --stub NAME` (or `--profile P`) runs a service's stand-in stub (`stub:` beside its real kind)\n")
	return b.String()
}

var adminEndpoints = []string{
	"GET /__admin/health",
	"GET, POST, DELETE /__admin/mappings; POST /__admin/mappings/import; POST /__admin/mappings/reset",
	"GET, PUT, DELETE /__admin/mappings/{id}",
	"GET, DELETE /__admin/requests; POST /__admin/requests/count, /find, /remove",
	"GET /__admin/requests/unmatched; GET /__admin/requests/unmatched/near-misses",
	"POST /__admin/near-misses/request-pattern",
	"GET /__admin/scenarios; POST /__admin/scenarios/reset; PUT /__admin/scenarios/{name}/state",
	"POST /__admin/reset (mappings as loaded, journal emptied, scenarios back to Started)",
}

func code(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, ", ")
}

// helperNames lists the registered helpers beyond jsonPath, randomValue
// and now, sorted.
func helperNames() []string {
	var out []string
	for name := range templateHelpers() {
		switch name {
		case "jsonPath", "randomValue", "now":
			continue
		}
		if strings.HasSuffix(name, "Value") || strings.Contains(name, "_") || strings.HasPrefix(name, "seam") {
			continue // the sub-expression, arity and internal forms
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
