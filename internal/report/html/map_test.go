package html_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/seamtest/seam/internal/report"
)

// TestMapEdgeSkippingAColumnGoesAround: in a chain browser→ui→api with an
// edge browser→api too, that edge does not run behind ui's box (where it
// would look like browser→ui's line): no point of its line is inside a box
// other than its ends'.
func TestMapEdgeSkippingAColumnGoesAround(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	page := writePage(t, []report.Event{
		{Time: t0, Type: report.RunStart, Suite: "s", Seed: 1, Total: 0,
			Services: []report.ServiceInfo{{Name: "ui", Kind: "process"}, {Name: "api", Kind: "process"}},
			Edges:    []report.EdgeInfo{{Edge: "browser→ui", Wired: true}, {Edge: "ui→api", Wired: true}, {Edge: "browser→api", Wired: true}}},
		{Time: t0.Add(time.Second), Type: report.RunEnd, Status: report.Passed},
	})
	ctx := startChromium(t)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(fileURL(page))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`))); err != nil {
		t.Fatal(err)
	}
	inside, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const rect = n => document.querySelector('#mapview .node[data-service="' + n + '"] rect').getBBox();
		const path = document.querySelector('#mapview .edge[data-edge="browser→api"] .line');
		const box = rect("ui");
		for (let l = 0; l <= path.getTotalLength(); l += 2) {
			const p = path.getPointAtLength(l);
			if (p.x > box.x && p.x < box.x + box.width && p.y > box.y && p.y < box.y + box.height) return p.x + "," + p.y;
		}
		return "";
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if inside != "" {
		t.Errorf("browser→api runs behind ui's box (at %s)", inside)
	}
}
