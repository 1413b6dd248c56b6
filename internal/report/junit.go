package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// JUnit renders the result model as JUnit XML in the strict form of the
// Ant JUnit schema that Jenkins and GitLab import: one <testsuite> inside
// <testsuites>, with the required properties, system-out and system-err.
//
// Retried tests (--retries) stay valid against that schema, whose
// <testcase> holds at most one of skipped, error or failure: a flaky
// test is a passing testcase, listed in the suite's seam.flaky property
// and its system-out with each failed attempt; a test that failed every
// attempt has one failure whose text gives every attempt. With Surefire
// set, the report adds Maven Surefire's own elements instead
// (flakyFailure, flakyError, rerunFailure, rerunError, each with a
// stackTrace), which Jenkins and GitLab read but the Ant schema refuses.
type JUnit struct {
	w        io.Writer
	Hostname string // "" means os.Hostname
	Surefire bool
}

// EnvCase names the testcase, in error, of a run whose environment could
// not start ("environment of part 2/3" under --shard) and is its error's
// type: the reason and the failing service's last log lines are its text
// and the suite's system-err.
const EnvCase = "environment"

// CutCase begins the name of the testcase, in error, of a run whose log
// was cut off before its end ("cut off: shard-2.jsonl"; in a merged
// report, "cut off: part 2/3"), and is its error's type: without it CI
// would show the tests that ended, all passing say, and nothing amiss.
const CutCase = "cut off"

// NewJUnit returns a JUnit reporter writing to w.
func NewJUnit(w io.Writer) *JUnit { return &JUnit{w: w} }

type xmlSuites struct {
	XMLName xml.Name   `xml:"testsuites"`
	Suites  []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	Name       string        `xml:"name,attr"`
	Package    string        `xml:"package,attr"`
	ID         int           `xml:"id,attr"`
	Timestamp  string        `xml:"timestamp,attr"`
	Hostname   string        `xml:"hostname,attr"`
	Tests      int           `xml:"tests,attr"`
	Failures   int           `xml:"failures,attr"`
	Errors     int           `xml:"errors,attr"`
	Skipped    int           `xml:"skipped,attr"`
	Time       string        `xml:"time,attr"`
	Properties xmlProperties `xml:"properties"`
	Cases      []xmlCase     `xml:"testcase"`
	SystemOut  xmlText       `xml:"system-out"`
	SystemErr  xmlText       `xml:"system-err"`
}

type xmlProperties struct {
	Props []xmlProperty `xml:"property"`
}

type xmlProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xmlText struct {
	Text string `xml:",cdata"`
}

type xmlCase struct {
	Name      string      `xml:"name,attr"`
	Classname string      `xml:"classname,attr"`
	Time      string      `xml:"time,attr"`
	Skipped   *xmlMessage `xml:"skipped,omitempty"`
	Error     *xmlProblem `xml:"error,omitempty"`
	Failure   *xmlProblem `xml:"failure,omitempty"`
	// Maven Surefire's rerun elements (JUnit.Surefire only).
	FlakyFailures []xmlRerun `xml:"flakyFailure,omitempty"`
	FlakyErrors   []xmlRerun `xml:"flakyError,omitempty"`
	RerunFailures []xmlRerun `xml:"rerunFailure,omitempty"`
	RerunErrors   []xmlRerun `xml:"rerunError,omitempty"`
}

// xmlRerun is one of Surefire's rerun elements: a failed run's message,
// type and text (its stackTrace, here the failure's evidence).
type xmlRerun struct {
	Message    string   `xml:"message,attr"`
	Type       string   `xml:"type,attr"`
	StackTrace string   `xml:"stackTrace"`
	SystemOut  *xmlText `xml:"system-out,omitempty"`
}

type xmlMessage struct {
	Message string `xml:"message,attr,omitempty"`
}

type xmlProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// Finish implements Finisher.
func (j *JUnit) Finish(r *Run) error {
	host := j.Hostname
	if host == "" {
		host, _ = os.Hostname()
		if host == "" {
			host = "localhost"
		}
	}
	name := r.Suite
	if strings.TrimSpace(name) == "" {
		name = "seam"
	}
	s := xmlSuite{
		Name:      name,
		Package:   "seam." + name,
		Timestamp: r.Start.UTC().Format("2006-01-02T15:04:05"),
		Hostname:  host,
		Time:      seconds(r.Duration),
	}
	switch {
	case len(r.Seeds) > 0:
		// A merged run whose parts had different seeds: each part's
		// (seam run --shard K/N --seed S replays it).
		for i, ps := range r.Seeds {
			k, _, ok := partOf(ps.Part)
			if !ok {
				k = i + 1 // a log without --shard: its place
			}
			s.Properties.Props = append(s.Properties.Props, xmlProperty{Name: fmt.Sprintf("seam.seed.part%d", k), Value: fmt.Sprint(ps.Seed)})
		}
	case r.Seed != 0: // 0: a part that ran no test
		s.Properties.Props = append(s.Properties.Props, xmlProperty{Name: "seam.seed", Value: fmt.Sprint(r.Seed)})
	}
	if r.Shard != "" {
		// Which part: a merge of the parts' JUnit reports names each
		// part's seed by it.
		s.Properties.Props = append(s.Properties.Props, xmlProperty{Name: "seam.shard", Value: r.Shard})
	}
	for _, svc := range r.Services {
		v := svc.Kind
		if svc.StandsIn != "" {
			v += " (stand-in for " + svc.StandsIn + ")"
		}
		s.Properties.Props = append(s.Properties.Props, xmlProperty{Name: "seam.service." + svc.Name, Value: v})
	}
	if len(r.Missing) > 0 {
		s.Properties.Props = append(s.Properties.Props, xmlProperty{Name: "seam.missing", Value: strings.Join(r.Missing, " ")})
	}
	if r.Counts.Flaky > 0 {
		s.Properties.Props = append(s.Properties.Props, xmlProperty{Name: "seam.flaky", Value: fmt.Sprint(r.Counts.Flaky)})
	}
	var errLog, outLog strings.Builder
	for _, t := range r.Tests {
		c := xmlCase{Name: xmlSafe(t.Name), Classname: xmlSafe(name), Time: seconds(t.Duration)}
		s.Tests++
		if t.Flaky && !j.Surefire {
			fmt.Fprintf(&outLog, "FLAKY %s (%s): passed on attempt %d\n", t.Name, t.Pos, t.Attempt)
			for _, a := range t.Attempts {
				fmt.Fprintf(&outLog, "  attempt %d failed: %s\n", a.Number, xmlSafe(attemptLine(a.Failure)))
			}
		}
		if j.Surefire && len(t.Attempts) > 0 {
			j.reruns(&c, t)
		}
		switch t.Status {
		case Skipped:
			s.Skipped++
			c.Skipped = &xmlMessage{Message: t.Skip}
		case Failed:
			p := &xmlProblem{Type: "assertion", Message: "failed"}
			f, logs := t.Failure, t.Logs
			if j.Surefire && len(t.Attempts) > 0 {
				// Surefire: the first run's failure, the reruns apart.
				f, logs = t.Attempts[0].Failure, t.Attempts[0].Logs
			}
			if f != nil {
				p.Type = f.Kind
				p.Message = xmlSafe(f.Pos + ": " + phaseText(f) + f.Message)
				p.Text = xmlSafe(failureText(f, logs))
				if !j.Surefire && len(t.Attempts) > 0 {
					p.Text = xmlSafe(attemptsText(t))
				}
			}
			if p.Type == "assertion" {
				s.Failures++
				c.Failure = p
			} else {
				s.Errors++
				c.Error = p
			}
			fmt.Fprintf(&errLog, "FAIL %s (%s)\n", t.Name, t.Pos)
			if f != nil {
				// The attachment convention CI servers read (Jenkins'
				// attachments plugin, GitLab's test screenshots); a
				// testcase may hold no system-out of its own in the schema.
				for _, a := range f.Artifacts {
					fmt.Fprintf(&outLog, "[[ATTACHMENT|%s]]\n", xmlSafe(a.Path))
				}
			}
		}
		s.Cases = append(s.Cases, c)
	}
	if r.EnvError != "" {
		// Every test is skipped then; without a case in error CI would
		// show the run as "0 failed" and the reason nowhere.
		first, _, _ := strings.Cut(r.EnvError, "\n")
		caseName := EnvCase
		if r.Shard != "" {
			caseName += " of part " + r.Shard // parts' reports merge
		}
		s.Cases = append(s.Cases, xmlCase{Name: caseName, Classname: xmlSafe(name), Time: seconds(0),
			Error: &xmlProblem{Type: EnvCase, Message: xmlSafe(EnvFailed + ": " + first), Text: xmlSafe(r.EnvError + "\n")}})
		s.Tests++
		s.Errors++
		fmt.Fprintf(&errLog, "%s:\n%s\n", EnvFailed, xmlSafe(r.EnvError))
	}
	if len(r.Missing) > 0 {
		fmt.Fprintln(&errLog, MissingText(r.Missing))
	}
	for _, cut := range r.Cut {
		if _, _, ok := partOf(cut); ok {
			cut = "part " + cut
		}
		why := CutText(cut)
		s.Cases = append(s.Cases, xmlCase{Name: xmlSafe(CutCase + ": " + cut), Classname: xmlSafe(name), Time: seconds(0),
			Error: &xmlProblem{Type: CutCase, Message: xmlSafe(why), Text: xmlSafe(why + "\n")}})
		s.Tests++
		s.Errors++
		fmt.Fprintln(&errLog, xmlSafe(why))
	}
	s.SystemErr.Text = errLog.String()
	s.SystemOut.Text = outLog.String()
	if _, err := io.WriteString(j.w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(j.w)
	enc.Indent("", "  ")
	if err := enc.Encode(xmlSuites{Suites: []xmlSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(j.w, "\n")
	return err
}

// xmlSafe replaces characters that XML 1.0 cannot carry (most control
// characters, from binary response bodies say) so the report stays valid.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return '\uFFFD'
		}
		return r
	}, s)
}

// failureText is the body of a JUnit failure: where, what, and the
// exchange that led to it.
func failureText(f *Failure, logs []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s\n", f.Pos, f.StepText(), f.Message)
	if f.Diff != "" {
		b.WriteString(f.Diff + "\n")
	}
	if f.Request != "" {
		b.WriteString("\nrequest:\n" + f.Request + "\n")
	}
	if f.Response != "" {
		b.WriteString("\nresponse:\n" + f.Response + "\n")
	}
	if len(f.Suspects) > 0 {
		same := func(s string) string { return s }
		b.WriteString("\n" + strings.TrimLeft(SuspectsText(f.Suspects, same, same), " "))
	}
	if len(f.Artifacts) > 0 {
		b.WriteString("\nsaved when it failed:\n")
		for _, a := range f.Artifacts {
			b.WriteString("  " + a.Name + ": " + a.Path + "\n")
		}
	}
	if len(logs) > 0 {
		b.WriteString("\nlogs:\n" + strings.Join(logs, "\n") + "\n")
	}
	return b.String()
}

// reruns adds Surefire's rerun elements for t's failed attempts: for a
// flaky test each failed attempt is a flakyFailure (flakyError); for a
// test that failed every attempt the first is its failure and the later
// ones are rerunFailure (rerunError) elements.
func (j *JUnit) reruns(c *xmlCase, t *TestResult) {
	runs := t.Attempts
	if t.Status == Failed {
		runs = append(runs[1:len(runs):len(runs)], &Attempt{Number: t.Attempt, Failure: t.Failure, Logs: t.Logs})
	}
	for _, a := range runs {
		x := xmlRerun{Type: "assertion", Message: "failed"}
		if f := a.Failure; f != nil {
			x.Type, x.Message, x.StackTrace = f.Kind, xmlSafe(f.Pos+": "+f.Message), xmlSafe(failureText(f, a.Logs))
		}
		isErr := x.Type != "assertion"
		switch {
		case t.Flaky && isErr:
			c.FlakyErrors = append(c.FlakyErrors, x)
		case t.Flaky:
			c.FlakyFailures = append(c.FlakyFailures, x)
		case isErr:
			c.RerunErrors = append(c.RerunErrors, x)
		default:
			c.RerunFailures = append(c.RerunFailures, x)
		}
	}
}

// phaseText is "in setup: " for a failure of a setup step, else "".
func phaseText(f *Failure) string {
	if f.Phase == "" {
		return ""
	}
	return "in " + f.Phase + ": "
}

func attemptLine(f *Failure) string {
	if f == nil {
		return "failed"
	}
	return f.Pos + ": " + f.Message
}

// attemptsText is the failure text of a test that failed every attempt:
// each attempt's evidence, the last one's (the test's) first.
func attemptsText(t *TestResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "attempt %d of %d (the last):\n", t.Attempt, t.Attempt)
	if t.Failure != nil {
		b.WriteString(failureText(t.Failure, t.Logs))
	}
	for _, a := range t.Attempts {
		fmt.Fprintf(&b, "\nattempt %d of %d:\n", a.Number, t.Attempt)
		if a.Failure != nil {
			b.WriteString(failureText(a.Failure, a.Logs))
		}
	}
	return b.String()
}
