package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/seamtest/seam/internal/wire"
)

// TestBrowserCallsAreTheFirstHop: a failing browser step's own calls are
// on its path (one hop from the browser), the callee's calls below them
// two; a 404 for the icon Chromium asks for by itself is no suspect.
func TestBrowserCallsAreTheFirstHop(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	all := []wire.Interaction{
		{Edge: "browser→ui", Protocol: "http", Method: "GET", Target: "/favicon.ico", Status: 404, Result: "404 Not Found", Suspicious: true, Start: at(6), End: at(7)},
		{Edge: "browser→api", Protocol: "http", Method: "GET", Target: "/items", Status: 500, Result: "500 Internal Server Error", Suspicious: true, Start: at(10), End: at(30)},
		{Edge: "api→cache", Protocol: "redis", Method: "REDIS", Target: "GET items", Result: "-ERR wrong", Suspicious: true, Start: at(12), End: at(13)},
		{Edge: "batch→cache", Protocol: "redis", Method: "REDIS", Target: "GET x", Result: "-ERR other", Suspicious: true, Start: at(12), End: at(13)},
	}
	deps := map[string][]string{"ui": {"api"}, "api": {"cache"}, "batch": {"cache"}}
	componentDeps(deps, []string{"browser"}, all)
	got := Suspects(SuspectInput{All: all, Targets: []string{"ui", "browser"}, DependsOn: deps, StepStart: at(5), StepEnd: at(35)}, 5)
	var lines []string
	for _, s := range got {
		lines = append(lines, s.Edge+" "+s.Reason)
	}
	text := strings.Join(lines, "\n")
	if len(got) != 3 || got[0].Edge != "api→cache" || got[1].Edge != "browser→api" || got[2].Edge != "batch→cache" {
		t.Fatalf("suspects:\n%s", text)
	}
	if !strings.Contains(got[1].Reason, "1 hop(s) from ui, browser") || !strings.Contains(got[0].Reason, "2 hop(s)") ||
		!strings.Contains(got[2].Reason, "off the path") {
		t.Errorf("reasons:\n%s", text)
	}
}

func TestIconMiss(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		status         int
		want           bool
	}{
		{"GET", "/favicon.ico", 404, true},
		{"GET", "/favicon.ico?v=2", 404, true},
		{"GET", "/apple-touch-icon-precomposed.png", 404, true},
		{"GET", "/favicon.ico", 500, false},
		{"POST", "/favicon.ico", 404, false},
		{"GET", "/static/favicon.ico", 404, false},
		{"GET", "/items", 404, false},
	} {
		if got := iconMiss(wire.Interaction{Method: tc.method, Target: tc.target, Status: tc.status}); got != tc.want {
			t.Errorf("iconMiss(%s %s %d) = %v", tc.method, tc.target, tc.status, got)
		}
	}
}
