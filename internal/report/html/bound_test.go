package html

import (
	"strings"
	"testing"

	"github.com/seamtest/seam/internal/report"
)

// TestExchangesBounded: past the page's budget, a passed test's exchanges
// are left out (and said to be), a failed test's are kept.
func TestExchangesBounded(t *testing.T) {
	big := report.Exchange{Request: "GET /x", ResponseBody: strings.Repeat("a", 600)}
	mk := func(status report.Status) Test {
		return Test{Status: status, Exchanges: []report.Exchange{big, big}, Events: []Ev{{Kind: "w", Extra: "0"}, {Kind: "w", Extra: "1"}}}
	}
	tests := []Test{mk(report.Passed), mk(report.Passed), mk(report.Failed), mk(report.Failed)}
	boundExchanges(tests, 1300)
	if len(tests[0].Exchanges) != 2 || tests[0].ExchangesLeftOut {
		t.Errorf("the first passed test's exchanges fit the budget and were left out")
	}
	if tests[1].Exchanges != nil || !tests[1].ExchangesLeftOut || tests[1].Events[0].Extra != "" {
		t.Errorf("the second passed test's exchanges went past the budget and were kept: %+v", tests[1])
	}
	for _, f := range tests[2:] {
		if len(f.Exchanges) != 2 || f.ExchangesLeftOut {
			t.Errorf("a failed test's exchanges were left out")
		}
	}
}
