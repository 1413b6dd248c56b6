package browserstep

import "testing"

// TestURLMatches: a * in a wait's URL crosses /, as Playwright's ** does;
// without one the URL need only contain it.
func TestURLMatches(t *testing.T) {
	const u = "http://127.0.0.1:8080/about"
	for _, c := range []struct {
		pattern, url string
		want         bool
	}{
		{"*/about", u, true},
		{"**/about", u, true},
		{"/about", u, true},
		{"http://*:8080/*", u, true},
		{"*/abou", u, false}, // a glob matches the whole URL
		{"*/about*", u + "?x=1", true},
		{"*/about", u + "?x=1", false},
		{"*/contact", u, false},
		{"http*about*about", "http://x/about", false}, // pieces do not overlap
		{"*?x=1", u + "?x=1", true},                   // ? is the URL's own
		{"/contact", u, false},
	} {
		if got := URLMatches(c.pattern, c.url); got != c.want {
			t.Errorf("URLMatches(%q, %q) = %v; want %v", c.pattern, c.url, got, c.want)
		}
	}
}
