package html

import (
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/report"
)

// TestExchangesBounded: failed tests' exchanges are kept first, then
// passed tests' while they fit the budget; what is left out is said to be,
// and the kept ones are renumbered.
func TestExchangesBounded(t *testing.T) {
	big := report.Exchange{Request: "GET /x", ResponseBody: strings.Repeat("a", 594)} // 600 bytes
	mk := func(status report.Status) Test {
		return Test{Status: status, Exchanges: []report.Exchange{big, big}, Events: []Ev{{Kind: "w", Extra: "0"}, {Kind: "l"}, {Kind: "w", Extra: "1"}}}
	}
	tests := []Test{mk(report.Passed), mk(report.Passed), mk(report.Failed), mk(report.Failed)}
	boundExchanges(tests, 3000)
	for _, f := range tests[2:] {
		if len(f.Exchanges) != 2 || f.ExchangesLeftOut || f.Events[2].Extra != "1" {
			t.Errorf("a failed test's exchanges were left out: %+v", f)
		}
	}
	if len(tests[0].Exchanges) != 1 || !tests[0].ExchangesLeftOut || tests[0].Events[0].Extra != "0" || tests[0].Events[2].Extra != "" {
		t.Errorf("the first passed test should keep its first exchange only: %+v", tests[0])
	}
	if len(tests[1].Exchanges) != 0 || !tests[1].ExchangesLeftOut || tests[1].Events[0].Extra != "" {
		t.Errorf("the second passed test's exchanges went past the budget and were kept: %+v", tests[1])
	}
}
