package report

import "github.com/seamtest/seam/internal/mask"

// Masking returns a Sink that masks every event's text before next sees
// it. The engine puts it in front of every reporter, so each format
// (console, JUnit, JSON lines, the HTML report, a re-rendered saved log)
// is made from events whose secrets are already "***": a reporter cannot
// forget to mask.
func Masking(m *mask.Masker, next Sink) Sink { return maskingSink{m: m, next: next} }

type maskingSink struct {
	m    *mask.Masker
	next Sink
}

func (s maskingSink) Event(e Event) {
	s.next.Event(MaskEvent(s.m, e))
}

// MaskEvent masks the text an event carries: its message, a failure's
// message, diff, request, response and suspects, an interaction's
// exchange (m may be nil: the built-in rules only). e's Failure and
// Exchange are copied, not changed in place.
func MaskEvent(m *mask.Masker, e Event) Event {
	e.Message = m.Text(e.Message)
	e.Step = m.Text(e.Step)
	if f := e.Failure; f != nil {
		c := *f
		c.Message, c.Diff, c.Step = m.Text(c.Message), m.Text(c.Diff), m.Text(c.Step)
		c.Request, c.Response = m.Text(c.Request), m.Text(c.Response)
		if len(c.Suspects) > 0 {
			c.Suspects = append([]Suspect(nil), c.Suspects...)
			for i := range c.Suspects {
				c.Suspects[i].Line = m.Text(c.Suspects[i].Line)
				c.Suspects[i].Reason = m.Text(c.Suspects[i].Reason)
			}
		}
		e.Failure = &c
	}
	if x := e.Exchange; x != nil {
		c := Exchange{Request: m.Text(x.Request), RequestBody: m.Text(x.RequestBody),
			Response: m.Text(x.Response), ResponseBody: m.Text(x.ResponseBody)}
		e.Exchange = &c
	}
	return e
}
