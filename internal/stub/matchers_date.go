package stub

import (
	"fmt"
	"strings"
	"time"
)

// dateMatcher is WireMock's before, after and equalToDateTime: the value
// read as a date-time (ISO-8601, RFC 1123, a local date-time or date taken
// as UTC, or actualFormat: a Java pattern, "epoch" or "unix") compared
// with an expected instant, fixed or relative to now ("now +3 days", or
// expectedOffset and expectedOffsetUnit). truncateExpected applies to an
// expected relative to now (as in WireMock, not to a fixed one);
// truncateActual to the value.
type dateMatcher struct {
	op       string // before, after, equalToDateTime
	expected string // as written, for near misses and the admin API
	fixed    time.Time
	relative bool
	shift    func(time.Time) time.Time // expected offset, relative only
	truncExp func(time.Time) time.Time
	truncAct func(time.Time) time.Time
	format   string
	never    bool // the expected date does not read
	// kept for wm()
	offset     int
	offsetUnit string
	truncExpS  string
	truncActS  string
}

func (m dateMatcher) want() time.Time {
	if !m.relative {
		return m.fixed
	}
	t := time.Now().UTC()
	if m.shift != nil {
		t = m.shift(t)
	}
	if m.truncExp != nil {
		t = m.truncExp(t)
	}
	return t
}

func (m dateMatcher) Match(v string, present bool) bool {
	if !present || m.never {
		return false
	}
	var got time.Time
	var ok bool
	if m.format != "" {
		got, ok = parseWithFormat(v, m.format)
	} else {
		got, ok = parseLoose(v)
	}
	if !ok {
		return false
	}
	if m.truncAct != nil {
		got = m.truncAct(got.UTC())
	}
	want := m.want()
	switch m.op {
	case "before":
		return got.Before(want)
	case "after":
		return got.After(want)
	}
	return got.Equal(want)
}

func (m dateMatcher) String() string { return fmt.Sprintf("%s %q", m.op, m.expected) }

func (m dateMatcher) wm() map[string]any {
	out := map[string]any{m.op: m.expected}
	if m.format != "" {
		out["actualFormat"] = m.format
	}
	if m.offsetUnit != "" {
		out["expectedOffset"] = m.offset
		out["expectedOffsetUnit"] = m.offsetUnit
	}
	if m.truncExpS != "" {
		out["truncateExpected"] = m.truncExpS
	}
	if m.truncActS != "" {
		out["truncateActual"] = m.truncActS
	}
	return out
}

// newDateMatcher builds a date matcher; the error names what is wrong.
func newDateMatcher(op, expected, format string, offset int, unit, truncExp, truncAct string) (dateMatcher, error) {
	m := dateMatcher{op: op, expected: expected, format: format, offset: offset, offsetUnit: unit, truncExpS: truncExp, truncActS: truncAct}
	e := strings.TrimSpace(expected)
	if strings.HasPrefix(e, "now") {
		m.relative = true
		f, err := parseOffset(e)
		if err != nil {
			return m, err
		}
		m.shift = f
	} else {
		t, ok := parseLoose(e)
		if !ok {
			// WireMock takes the mapping and never matches it.
			m.never = true
		}
		m.fixed = t
	}
	if unit != "" {
		add, ok := dateUnits[strings.ToUpper(unit)]
		if !ok {
			return m, fmt.Errorf("expectedOffsetUnit %q: want seconds, minutes, hours, days, months or years", unit)
		}
		if m.relative {
			prev := m.shift
			m.shift = func(t time.Time) time.Time { return add(prev(t), offset) }
		} else {
			m.fixed = add(m.fixed, offset)
		}
	}
	if truncExp != "" {
		f, err := truncation(truncExp)
		if err != nil {
			return m, fmt.Errorf("truncateExpected %q: want e.g. first day of month", truncExp)
		}
		m.truncExp = f
	}
	if truncAct != "" {
		f, err := truncation(truncAct)
		if err != nil {
			return m, fmt.Errorf("truncateActual %q: want e.g. first day of month", truncAct)
		}
		m.truncAct = f
	}
	return m, nil
}
