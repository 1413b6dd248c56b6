package stub

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// The mapping model written back as WireMock's JSON: for the admin API and
// for recorded stubs.

func (m equalTo) wm() map[string]any {
	out := map[string]any{"equalTo": m.want}
	if m.fold {
		out["caseInsensitive"] = true
	}
	return out
}
func (m contains) wm() map[string]any       { return map[string]any{"contains": m.want} }
func (m doesNotContain) wm() map[string]any { return map[string]any{"doesNotContain": m.want} }
func (m matches) wm() map[string]any {
	if m.not {
		return map[string]any{"doesNotMatch": m.src}
	}
	return map[string]any{"matches": m.src}
}
func (absent) wm() map[string]any  { return map[string]any{"absent": true} }
func (present) wm() map[string]any { return map[string]any{"absent": false} }
func (m and) wm() map[string]any   { return map[string]any{"and": wmList(m)} }
func (m or) wm() map[string]any    { return map[string]any{"or": wmList(m)} }
func (m not) wm() map[string]any   { return map[string]any{"not": m.m.wm()} }
func (m equalToJSON) wm() map[string]any {
	out := map[string]any{"equalToJson": m.want}
	if m.ignoreOrder {
		out["ignoreArrayOrder"] = true
	}
	if m.ignoreExtra {
		out["ignoreExtraElements"] = true
	}
	return out
}
func (m jsonPath) wm() map[string]any {
	if m.sub == nil {
		return map[string]any{"matchesJsonPath": m.src}
	}
	inner := map[string]any{"expression": m.src}
	for k, v := range m.sub.wm() {
		inner[k] = v
	}
	return map[string]any{"matchesJsonPath": inner}
}

func wmList(ms []Matcher) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m.wm()
	}
	return out
}

func wmNamed(ns []Named) map[string]any {
	out := map[string]any{}
	for _, n := range ns {
		out[n.Name] = n.M.wm()
	}
	return out
}

// WireMock returns the mapping as WireMock's JSON object.
func (m *Mapping) WireMock() map[string]any {
	out := map[string]any{"request": m.Request.WireMock(), "response": m.Response.WireMock()}
	if m.ID != "" {
		// WireMock fails to load a mapping whose id is "": none is better.
		out["id"], out["uuid"] = m.ID, m.ID
	}
	if m.Name != "" {
		out["name"] = m.Name
	}
	if m.Priority != 0 {
		out["priority"] = m.Priority
	}
	if m.Scenario != "" {
		out["scenarioName"] = m.Scenario
	}
	if m.RequiredState != "" {
		out["requiredScenarioState"] = m.RequiredState
	}
	if m.NewState != "" {
		out["newScenarioState"] = m.NewState
	}
	return out
}

// WireMock returns the pattern as WireMock's request object.
func (p *Pattern) WireMock() map[string]any {
	out := map[string]any{}
	if p.Method != "" {
		out["method"] = p.Method
	} else {
		out["method"] = "ANY"
	}
	if p.URL.Kind != "" {
		out[p.URL.Kind] = p.URL.Value
	}
	if len(p.PathParams) > 0 {
		out["pathParameters"] = wmNamed(p.PathParams)
	}
	if len(p.Query) > 0 {
		out["queryParameters"] = wmNamed(p.Query)
	}
	if len(p.Headers) > 0 {
		out["headers"] = wmNamed(p.Headers)
	}
	if len(p.Cookies) > 0 {
		out["cookies"] = wmNamed(p.Cookies)
	}
	if len(p.Body) > 0 {
		out["bodyPatterns"] = wmList(p.Body)
	}
	if len(p.Multipart) > 0 {
		mps := make([]any, len(p.Multipart))
		for i := range p.Multipart {
			mps[i] = p.Multipart[i].wm()
		}
		out["multipartPatterns"] = mps
	}
	return out
}

// WireMock returns the response as WireMock's response object.
func (r *Response) WireMock() map[string]any {
	out := map[string]any{}
	status := r.Status
	if status == 0 {
		status = 200
	}
	out["status"] = status
	if r.StatusMessage != "" {
		out["statusMessage"] = r.StatusMessage
	}
	if len(r.Headers) > 0 {
		h := map[string]any{}
		for _, x := range r.Headers {
			switch prev := h[x.Name].(type) {
			case nil:
				h[x.Name] = x.Value
			case string:
				h[x.Name] = []any{prev, x.Value}
			case []any:
				h[x.Name] = append(prev, x.Value)
			}
		}
		out["headers"] = h
	}
	switch {
	case r.BodyFile != "":
		out["bodyFileName"] = r.BodyFile
	case r.Body == nil:
	case isJSONObjectOrArray(r.Body) && !r.Template && compactJSON(string(r.Body)) == string(r.Body):
		// Only when it reads back byte for byte: jsonBody is served compact.
		out["jsonBody"] = json.RawMessage(r.Body)
	case isText(r.Body):
		out["body"] = string(r.Body)
	default:
		out["base64Body"] = base64.StdEncoding.EncodeToString(r.Body)
	}
	if r.FixedDelay > 0 {
		out["fixedDelayMilliseconds"] = r.FixedDelay.Milliseconds()
	}
	switch d := r.Delay.(type) {
	case uniformDelay:
		out["delayDistribution"] = map[string]any{"type": "uniform", "lower": d.lower.Milliseconds(), "upper": d.upper.Milliseconds()}
	case lognormalDelay:
		x := map[string]any{"type": "lognormal", "median": d.median.Milliseconds(), "sigma": d.sigma}
		if d.max > 0 {
			x["maxValue"] = d.max.Milliseconds()
		}
		out["delayDistribution"] = x
	case fixedDelay:
		out["delayDistribution"] = map[string]any{"type": "fixed", "milliseconds": d.d.Milliseconds()}
	}
	if r.Dribble != nil {
		out["chunkedDribbleDelay"] = map[string]any{"numberOfChunks": r.Dribble.Chunks, "totalDuration": r.Dribble.Total.Milliseconds()}
	}
	if r.Fault != "" {
		out["fault"] = r.Fault
	}
	if r.ProxyBase != "" {
		out["proxyBaseUrl"] = r.ProxyBase
	}
	if r.Template {
		out["transformers"] = []string{"response-template"}
	}
	return out
}

func isJSONObjectOrArray(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Valid(b)
}

func isText(b []byte) bool {
	s := string(b)
	return strings.ToValidUTF8(s, "\uFFFD") == s && !strings.ContainsRune(s, 0)
}
