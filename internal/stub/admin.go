package stub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// WireMock's admin API, core endpoints, so WireMock's clients and scripts
// can drive seam's stub.

const adminPrefix = "/__admin"

// SetBaseline makes the current mappings the ones that a mappings reset
// (and a global reset) goes back to: those loaded at start.
func (s *Server) SetBaseline() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseline = append([]*Mapping(nil), s.cat.Load().all...)
}

// Reset goes back to the baseline mappings, empties the journal and puts
// every scenario in its first state.
func (s *Server) Reset() {
	s.mu.Lock()
	s.cat.Store(newCatalog(append([]*Mapping(nil), s.baseline...)))
	s.mu.Unlock()
	s.journal.reset()
	s.unmatched.reset()
	s.ResetScenarios()
}

func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, adminPrefix), "/")
	route := r.Method + " " + path
	switch {
	case route == "GET /health":
		writeJSON(w, http.StatusOK, map[string]any{"status": "healthy", "message": "seam stub is ok"})
	case route == "GET /mappings":
		all := s.Mappings()
		out := make([]any, len(all))
		for i, m := range all {
			out[len(all)-1-i] = m.WireMock() // newest first, as WireMock lists them
		}
		writeJSON(w, http.StatusOK, map[string]any{"mappings": out, "meta": map[string]any{"total": len(out)}})
	case route == "POST /mappings":
		ms, ok := s.readMappings(w, r, false)
		if ok {
			s.Add(ms...)
			writeJSON(w, http.StatusCreated, ms[0].WireMock())
		}
	case route == "POST /mappings/import":
		ms, ok := s.readMappings(w, r, true)
		if ok {
			// WireMock imports a list as it lists mappings, newest first:
			// the first in the list wins among equals.
			for i := len(ms) - 1; i >= 0; i-- {
				s.Add(ms[i])
			}
			w.WriteHeader(http.StatusOK)
		}
	case route == "DELETE /mappings":
		s.ResetMappings()
		w.WriteHeader(http.StatusOK)
	case route == "POST /mappings/reset":
		s.mu.Lock()
		s.cat.Store(newCatalog(append([]*Mapping(nil), s.baseline...)))
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case route == "POST /mappings/save":
		w.WriteHeader(http.StatusOK) // nothing to persist: seam never writes the user's files
	case strings.HasPrefix(path, "/mappings/"):
		s.adminMapping(w, r, strings.TrimPrefix(path, "/mappings/"))
	case route == "GET /requests":
		// ?since= (an ISO 8601 time) and ?limit= (the newest n), as in
		// WireMock; meta.total counts the whole journal.
		entries := s.journal.all()
		total := len(entries)
		q := r.URL.Query()
		if v := q.Get("since"); v != "" {
			t, err := parseSince(v)
			if err != nil {
				adminError(w, http.StatusBadRequest, "since: "+err.Error()+" (want an ISO 8601 time, like 2026-01-02T15:04:05Z)")
				return
			}
			entries = s.journal.since(t)
		}
		limit := len(entries)
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				adminError(w, http.StatusBadRequest, "limit: want a whole number, got "+strconv.Quote(v))
				return
			}
			limit = min(n, limit)
		}
		out := make([]any, 0, limit)
		for i := len(entries) - 1; i >= 0 && len(out) < limit; i-- {
			out = append(out, serveEvent(entries[i], r.Host))
		}
		writeJSON(w, http.StatusOK, map[string]any{"requests": out, "meta": map[string]any{"total": total},
			"requestJournalDisabled": s.journal.cap < 0})
	case route == "DELETE /requests": // WireMock 3 has no POST /requests/reset
		s.journal.reset()
		w.WriteHeader(http.StatusOK)
	case route == "POST /requests/count":
		if p, ok := s.readPattern(w, r); ok {
			writeJSON(w, http.StatusOK, map[string]any{"count": len(s.Journal().Find(p, time.Time{})),
				"requestJournalDisabled": s.journal.cap < 0})
		}
	case route == "POST /requests/find":
		if p, ok := s.readPattern(w, r); ok {
			writeJSON(w, http.StatusOK, map[string]any{"requests": loggedRequests(s.Journal().Find(p, time.Time{}))})
		}
	case route == "POST /requests/remove":
		if p, ok := s.readPattern(w, r); ok {
			s.journal.remove(p)
			w.WriteHeader(http.StatusOK)
		}
	case route == "GET /requests/unmatched":
		writeJSON(w, http.StatusOK, map[string]any{"requests": loggedRequests(s.Journal().Unmatched(time.Time{}))})
	case route == "GET /requests/unmatched/near-misses":
		var out []any
		for _, e := range s.Journal().Unmatched(time.Time{}) {
			for _, nm := range s.NearMisses(e.Request, 3) {
				x := nearMissJSON(e.Request, nm.Mapping, nm.Diff)
				x["matchResult"] = map[string]any{"distance": nearness(&nm.Mapping.Request, e.Request)}
				out = append(out, x)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"nearMisses": nonNil(out)})
	case route == "POST /near-misses/request-pattern":
		if p, ok := s.readPattern(w, r); ok {
			var out []any
			for _, rm := range s.Journal().Closest(p, time.Time{}, 3) {
				x := nearMissJSON(rm.Entry.Request, nil, rm.Diff)
				x["matchResult"] = map[string]any{"distance": nearness(p, rm.Entry.Request)}
				x["requestPattern"] = p.WireMock()
				out = append(out, x)
			}
			writeJSON(w, http.StatusOK, map[string]any{"nearMisses": nonNil(out)})
		}
	case route == "GET /scenarios":
		writeJSON(w, http.StatusOK, map[string]any{"scenarios": s.scenariosJSON()})
	case route == "POST /scenarios/reset":
		s.ResetScenarios()
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPut && strings.HasPrefix(path, "/scenarios/") && strings.HasSuffix(path, "/state"):
		name := strings.TrimSuffix(strings.TrimPrefix(path, "/scenarios/"), "/state")
		var body struct {
			State string `json:"state"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			adminError(w, http.StatusBadRequest, "scenario state: "+err.Error())
			return
		}
		if _, ok := s.Scenarios()[name]; !ok {
			adminError(w, http.StatusNotFound, "no scenario "+name)
			return
		}
		if body.State == "" {
			body.State = ScenarioStarted
		}
		s.SetScenario(name, body.State)
		w.WriteHeader(http.StatusOK)
	case route == "POST /reset":
		s.Reset()
		w.WriteHeader(http.StatusOK)
	default:
		adminError(w, http.StatusNotFound, "seam stub: no admin endpoint "+r.Method+" "+r.URL.Path+
			" (seam implements WireMock's mappings, requests, near-misses, scenarios, reset and health endpoints)")
	}
}

func (s *Server) adminMapping(w http.ResponseWriter, r *http.Request, id string) {
	var found *Mapping
	for _, m := range s.Mappings() {
		if m.ID == id {
			found = m
		}
	}
	if found == nil {
		adminError(w, http.StatusNotFound, "no mapping with id "+id)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, found.WireMock())
	case http.MethodDelete:
		s.Remove(id)
		w.WriteHeader(http.StatusOK)
	case http.MethodPut:
		ms, ok := s.readMappings(w, r, false)
		if !ok {
			return
		}
		ms[0].ID = id
		s.Replace(ms[0])
		writeJSON(w, http.StatusOK, ms[0].WireMock())
	default:
		adminError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on a mapping")
	}
}

// readMappings parses a request body: one mapping, or with many set
// {"mappings": [...]}. A bad one answers 422 with the positions.
func (s *Server) readMappings(w http.ResponseWriter, r *http.Request, many bool) ([]*Mapping, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	ms, err := ParseJSON("request body", data)
	if err == nil && len(ms) == 0 {
		err = diag.Errorf(diag.Pos{File: "request body"}, "no mapping given")
	}
	if err != nil {
		adminError(w, http.StatusUnprocessableEntity, err.Error())
		return nil, false
	}
	for _, m := range ms {
		if m.ID == "" {
			m.ID = s.uuid()
		}
	}
	return ms, true
}

func (s *Server) readPattern(w http.ResponseWriter, r *http.Request) (*Pattern, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err == nil {
		err = checkJSON("request body", data)
	}
	var n yaml.Node
	if err == nil {
		err = yaml.Unmarshal(data, &n)
	}
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	var errs diag.List
	d := decode.New("request body", &errs)
	p := &Pattern{}
	parsePattern(d, decode.Resolve(&n), p, "request pattern")
	if err := errs.Err(); err != nil {
		adminError(w, http.StatusUnprocessableEntity, err.Error())
		return nil, false
	}
	return p, true
}

func (s *Server) scenariosJSON() []any {
	states := s.Scenarios()
	possible := map[string]map[string]bool{}
	for _, m := range s.Mappings() {
		if m.Scenario == "" {
			continue
		}
		if possible[m.Scenario] == nil {
			possible[m.Scenario] = map[string]bool{ScenarioStarted: true}
		}
		for _, st := range []string{m.RequiredState, m.NewState} {
			if st != "" {
				possible[m.Scenario][st] = true
			}
		}
	}
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, n := range names {
		var ps []string
		for st := range possible[n] {
			ps = append(ps, st)
		}
		sort.Strings(ps)
		out = append(out, map[string]any{"id": n, "name": n, "state": states[n], "possibleStates": ps})
	}
	return out
}

// parseSince reads WireMock's since: an ISO 8601 time, with or without
// fractions and zone.
func parseSince(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time", v)
}

func serveEvent(e *Entry, host string) map[string]any {
	out := map[string]any{"id": e.Request.ID(), "request": loggedRequestAt(e.Request, host), "wasMatched": e.Mapping != nil}
	if e.Mapping != nil {
		out["stubMapping"] = e.Mapping.WireMock()
		out["responseDefinition"] = e.Mapping.Response.WireMock()
	}
	return out
}

func loggedRequests(es []*Entry) []any {
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = loggedRequest(e.Request)
	}
	return out
}

func loggedRequest(r *Request) map[string]any { return loggedRequestAt(r, "") }

// loggedRequestAt is a journal request in WireMock's shape; host, when
// known, makes absoluteUrl absolute as in WireMock.
func loggedRequestAt(r *Request, host string) map[string]any {
	headers := map[string]any{}
	for k, vs := range r.Header() {
		if len(vs) == 1 {
			headers[k] = vs[0]
		} else {
			headers[k] = vs
		}
	}
	query := map[string]any{}
	for k, vs := range r.Query() {
		query[k] = map[string]any{"key": k, "values": vs}
	}
	cookies := map[string]any{}
	for k, vs := range r.Cookies {
		cookies[k] = vs[0]
	}
	abs := r.URL
	if h := r.Header().Get("Host"); h != "" {
		host = h
	}
	if host != "" {
		abs = "http://" + host + r.URL
	}
	out := map[string]any{
		"id": r.ID(), "url": r.URL, "absoluteUrl": abs, "method": r.Method, "headers": headers,
		"queryParams": query, "cookies": cookies, "body": string(r.Body),
		"bodyAsBase64": base64.StdEncoding.EncodeToString(r.Body),
		"loggedDate":   r.Time.UnixMilli(), "loggedDateString": r.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		"browserProxyRequest": false,
	}
	if r.BodySize > 0 {
		// seam's own: the journal kept the body truncated.
		out["bodyTruncated"] = true
		out["bodySize"] = r.BodySize
	}
	return out
}

func nearMissJSON(r *Request, m *Mapping, diff []string) map[string]any {
	out := map[string]any{"request": loggedRequest(r),
		"matchResult": map[string]any{"distance": float64(len(diff)) / 10}, "differences": diff}
	if m != nil {
		out["stubMapping"] = m.WireMock()
	}
	return out
}

// nearness is a near miss's distance in WireMock's range, 0 to 1.
func nearness(p *Pattern, r *Request) float64 { return distance(p, r) }

func nonNil(xs []any) []any {
	if xs == nil {
		return []any{}
	}
	return xs
}

// writeJSON answers v as JSON. It encodes before the header goes out, so an
// encoding error is a 500 naming it, never a 200 with an empty or half body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		msg, _ := json.Marshal("seam stub: encoding the answer: " + err.Error()) // a string always encodes
		fmt.Fprintf(&b, "{\"errors\": [{\"code\": 500, \"title\": %s}]}\n", msg)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": []any{map[string]any{"code": status, "title": msg}}})
}
