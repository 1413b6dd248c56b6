package stub

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dates as WireMock 3.13.2 reads, shifts, truncates and prints them, for
// the date helpers (now, date, parseDate, dateFormat, truncateDate) and
// the date matchers (before, after, equalToDateTime).

// dateValue is a parsed date in a template: printed as ISO-8601 to the
// second (2021-06-14T10:11:12Z, or with its offset), as WireMock prints
// its RenderableDate.
type dateValue struct{ t time.Time }

func (d dateValue) String() string { return d.t.Format("2006-01-02T15:04:05Z07:00") }

// zonedLayouts are the date-time forms WireMock reads without a format.
var zonedLayouts = []string{time.RFC3339Nano, time.RFC1123, time.RFC1123Z}

// parseZoned reads a date-time with a zone: ISO-8601 or RFC 1123.
func parseZoned(s string) (time.Time, bool) {
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseLoose reads what the date matchers accept without actualFormat: a
// zoned date-time, or a local date-time or date taken as UTC.
func parseLoose(s string) (time.Time, bool) {
	if t, ok := parseZoned(s); ok {
		return t, true
	}
	for _, l := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseWithFormat reads s with a Java pattern, or "epoch" (milliseconds)
// or "unix" (seconds); a pattern without a zone reads as UTC.
func parseWithFormat(s, format string) (time.Time, bool) {
	switch format {
	case "epoch", "unix":
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		if format == "epoch" {
			return time.UnixMilli(n).UTC(), true
		}
		return time.Unix(n, 0).UTC(), true
	}
	t, err := time.ParseInLocation(javaLayout(format), s, time.UTC)
	return t, err == nil
}

// dateUnits are WireMock's DateTimeUnit names (plural only).
var dateUnits = map[string]func(time.Time, int) time.Time{
	"SECONDS": func(t time.Time, n int) time.Time { return t.Add(time.Duration(n) * time.Second) },
	"MINUTES": func(t time.Time, n int) time.Time { return t.Add(time.Duration(n) * time.Minute) },
	"HOURS":   func(t time.Time, n int) time.Time { return t.Add(time.Duration(n) * time.Hour) },
	"DAYS":    func(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) },
	"MONTHS":  addMonths,
	"YEARS":   func(t time.Time, n int) time.Time { return addMonths(t, 12*n) },
}

// addMonths is Java's plusMonths: the day is clamped to the month's last
// (January 31 + 1 month is February 28), where Go's AddDate overflows.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1)
}

// parseOffset reads WireMock's offset: "3 days", "-1 hours" or the long
// form "now +3 days"; an error says what WireMock says.
func parseOffset(off string) (func(time.Time) time.Time, error) {
	s := strings.TrimSpace(off)
	long := strings.HasPrefix(s, "now")
	if long {
		s = strings.TrimSpace(strings.TrimPrefix(s, "now"))
		if s == "" {
			return func(t time.Time) time.Time { return t }, nil
		}
	}
	f := strings.Fields(s)
	if len(f) != 2 {
		return nil, fmt.Errorf("Offset can be of the short form <amount> <unit> e.g. 8 seconds or long form now +/-<amount> <unit> e.g. now +5 years")
	}
	n, err := strconv.Atoi(strings.TrimPrefix(f[0], "+"))
	if err != nil {
		return nil, fmt.Errorf("Offset can be of the short form <amount> <unit> e.g. 8 seconds or long form now +/-<amount> <unit> e.g. now +5 years")
	}
	add, ok := dateUnits[strings.ToUpper(f[1])]
	if !ok {
		return nil, fmt.Errorf("No enum constant com.github.tomakehurst.wiremock.common.DateTimeUnit.%s", strings.ToUpper(f[1]))
	}
	return func(t time.Time) time.Time { return add(t, n) }, nil
}

// truncations are WireMock's DateTimeTruncation values, by their words.
var truncations = map[string]func(time.Time) time.Time{
	"first second of minute": func(t time.Time) time.Time { return t.Truncate(time.Minute) },
	"first minute of hour":   func(t time.Time) time.Time { return t.Truncate(time.Hour) },
	"first hour of day":      startOfDay,
	"first day of month": func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
	},
	"first day of next month": func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, t.Location())
	},
	"last day of month": func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, t.Location())
	},
	"first day of year":      func(t time.Time) time.Time { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, t.Location()) },
	"first day of next year": func(t time.Time) time.Time { return time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, t.Location()) },
	"last day of year":       func(t time.Time) time.Time { return time.Date(t.Year(), 12, 31, 0, 0, 0, 0, t.Location()) },
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// truncation finds a truncation by its words ("first day of month") or
// its enum name (FIRST_DAY_OF_MONTH).
func truncation(name string) (func(time.Time) time.Time, error) {
	key := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "_", " "))
	if f, ok := truncations[key]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("No enum constant com.github.tomakehurst.wiremock.common.DateTimeTruncation.%s",
		strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(name), " ", "_")))
}

// dateStyles are Java's FormatStyle names dateFormat accepts, in en_US.
var dateStyles = map[string]string{
	"full": "Monday, January 2, 2006", "long": "January 2, 2006", "medium": "Jan 2, 2006", "short": "1/2/06",
}

// formatDate prints t with a Java pattern, a style name, or "epoch"/"unix"
// when epochs is set (now and date take them, dateFormat does not).
func formatDate(t time.Time, format string, epochs bool) string {
	switch {
	case format == "":
		return t.Format("2006-01-02T15:04:05Z07:00")
	case epochs && format == "epoch":
		return strconv.FormatInt(t.UnixMilli(), 10)
	case epochs && format == "unix":
		return strconv.FormatInt(t.Unix(), 10)
	}
	if l, ok := dateStyles[format]; ok {
		return t.Format(l)
	}
	checkPattern(format)
	return t.Format(javaLayout(format))
}

// javaLetters are the pattern letters Java's DateTimeFormatter knows;
// any other letter outside quotes makes it throw.
const javaLetters = "GuyDMLdQqYwWEecFahKkHmsSAnNVzOXxZp"

// checkPattern fails the template on a letter Java does not know, as
// WireMock's answer fails ("Unknown pattern letter: o").
func checkPattern(p string) {
	quoted := false
	for _, c := range p {
		switch {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') && !strings.ContainsRune(javaLetters, c):
			renderFail("Unknown pattern letter: " + string(c))
		}
	}
}
