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
type JUnit struct {
	w        io.Writer
	Hostname string // "" means os.Hostname
}

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
		Properties: xmlProperties{Props: []xmlProperty{
			{Name: "seam.seed", Value: fmt.Sprint(r.Seed)},
		}},
	}
	for _, svc := range r.Services {
		v := svc.Kind
		if svc.StandsIn != "" {
			v += " (stand-in for " + svc.StandsIn + ")"
		}
		s.Properties.Props = append(s.Properties.Props, xmlProperty{Name: "seam.service." + svc.Name, Value: v})
	}
	var errLog strings.Builder
	for _, t := range r.Tests {
		c := xmlCase{Name: xmlSafe(t.Name), Classname: xmlSafe(name), Time: seconds(t.Duration)}
		s.Tests++
		switch t.Status {
		case Skipped:
			s.Skipped++
			c.Skipped = &xmlMessage{Message: t.Skip}
		case Failed:
			p := &xmlProblem{Type: "assertion", Message: "failed"}
			if f := t.Failure; f != nil {
				p.Type = f.Kind
				p.Message = xmlSafe(f.Pos + ": " + f.Message)
				p.Text = xmlSafe(failureText(f, t.Logs))
			}
			if p.Type == "assertion" {
				s.Failures++
				c.Failure = p
			} else {
				s.Errors++
				c.Error = p
			}
			fmt.Fprintf(&errLog, "FAIL %s (%s)\n", t.Name, t.Pos)
		}
		s.Cases = append(s.Cases, c)
	}
	s.SystemErr.Text = errLog.String()
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
	fmt.Fprintf(&b, "%s: step \"%s\": %s\n", f.Pos, f.Step, f.Message)
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
	if len(logs) > 0 {
		b.WriteString("\nlogs:\n" + strings.Join(logs, "\n") + "\n")
	}
	return b.String()
}
