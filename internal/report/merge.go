package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Merged is the log of one run that Merge makes of its parts' logs, and
// what it lacks.
type Merged struct {
	Events []Event
	// Missing are the parts of the split that no log was given for, like
	// "2/3", in order: their tests are not in Events. It is empty when
	// every part is there, and for logs of runs without --shard (which do
	// not say how many parts there are).
	Missing []string
	// Cut are the parts (like "2/3"; for a log without --shard, its
	// name) whose log ends before their run did: the run was killed (a
	// CI job's timeout) or is still running. What they ran up to there
	// is in Events; the rest of their tests is not.
	Cut []string
}

// MissingText says which parts a merged report lacks, for its run_end
// and the merge's error output; "" when none is missing.
func MissingText(missing []string) string {
	switch len(missing) {
	case 0:
		return ""
	case 1:
		return "part " + missing[0] + " is missing: its tests are not in this report"
	}
	return "parts " + strings.Join(missing[:len(missing)-1], ", ") + " and " + missing[len(missing)-1] +
		" are missing: their tests are not in this report"
}

// CutText says that the log of what (a file, or "part 2/3") was cut off,
// for the reports of a run that lacks its end.
func CutText(what string) string {
	return "the log of " + what + " ends before its run did (the run was killed, by a CI job's timeout say, or is still running): the tests it had not finished are not in this report"
}

// partOf parses a run_start's shard, "K/N".
func partOf(s string) (k, n int, ok bool) {
	a, b, found := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !found || err1 != nil || err2 != nil || k < 1 || n < 1 || k > n {
		return 0, 0, false
	}
	return k, n, true
}

// Merge joins the event logs of the parts of one suite's run (seam run
// --shard K/N on N machines) into the log of one run: one run_start
// (earliest time, the totals summed, each part's seed), every part's
// events in turn, and one run_end (the longest part's duration, as the
// parts ran at once; the counts summed; failed when a part failed, is
// missing or was cut off). Coverage is not copied: a JSONL reporter given
// the merged events derives it across all parts.
//
// Logs of different suites, of different splits (another N, a log
// without --shard among parts), the same part twice and a test in two
// logs are errors. Parts of the split that no log was given for are not
// an error: the merged log is what the given parts ran, Merged.Missing
// names the others and the run_end says so. Nor is a part whose log ends
// before its run_end (its run was killed, by a CI job's timeout say): it
// is read as ReadRun reads it (EndCut), as far as it is whole, and
// Merged.Cut and the run_end name it. names name the logs in errors
// (nil: "log 1", "log 2", …).
func Merge(logs [][]Event, names []string) (*Merged, error) {
	if len(logs) == 0 {
		return nil, fmt.Errorf("no event log to merge")
	}
	name := func(i int) string {
		if i < len(names) && names[i] != "" {
			return names[i]
		}
		return fmt.Sprintf("log %d", i+1)
	}
	logs = append([][]Event(nil), logs...)
	for i, events := range logs {
		if len(events) == 0 || events[0].Type != RunStart {
			return nil, fmt.Errorf("%s does not start with run_start", name(i))
		}
		// A part cut off before its run_end must not pass for a part that
		// ran every test it had: its run_end says what it lacks.
		logs[i] = EndCut(events, name(i), "after "+Plural(len(events), "event", "events"))
	}
	start := logs[0][0]
	start.Shard, start.Total = "", 0
	start.Seed, start.Seeds = 0, nil
	end := Event{Type: RunEnd, Suite: start.Suite}
	var counts Counts
	var body []Event
	var msgs, envErrs, cut []string
	type partLog struct {
		part string
		log  int
	}
	seen := map[string]partLog{} // a test → the part (and log) it ran in
	for i, events := range logs {
		first := events[0]
		if first.Suite != start.Suite {
			return nil, fmt.Errorf("%s is of suite %q, %s of %q: merge the parts of one suite's run", name(i), first.Suite, name(0), start.Suite)
		}
		if first.Time.Before(start.Time) {
			start.Time = first.Time
		}
		if len(start.Services) == 0 {
			// A part that ran no test still says what the suite has.
			start.Services = first.Services
		}
		if len(start.Edges) == 0 {
			start.Edges = first.Edges
		}
		start.Total += first.Total
		part := first.Shard
		if part == "" {
			part = name(i)
		}
		switch {
		case len(first.Seeds) > 0: // a merged log merged again
			start.Seeds = append(start.Seeds, first.Seeds...)
		case first.Seed != 0: // 0: a part that ran no test needs none
			start.Seeds = append(start.Seeds, PartSeed{Part: part, Seed: first.Seed})
		}
		for _, e := range events[1:] {
			switch e.Type {
			case RunStart, CoverageEvent:
				continue
			case RunEnd:
				end.Duration = max(end.Duration, e.Duration)
				if e.Time.After(end.Time) {
					end.Time = e.Time
				}
				if e.Status == Failed {
					end.Status = Failed
				}
				if e.Message != "" {
					msgs = append(msgs, part+": "+e.Message)
				}
				if len(e.Cut) > 0 && first.Shard != "" {
					cut = append(cut, part)
				} else {
					cut = append(cut, e.Cut...) // a log's own name, or a merged log's parts
				}
				envErr := e.EnvError
				if why, ok := strings.CutPrefix(e.Message, EnvFailed+": "); ok && envErr == "" && e.Status == Failed {
					envErr = why // a log of a seam before env_error
				}
				if envErr != "" {
					envErrs = append(envErrs, part+": "+strings.ReplaceAll(envErr, "\n", "\n"+part+": "))
				}
				continue
			case TestEnd:
				if other, dup := seen[e.Test]; dup && other.part == part {
					return nil, fmt.Errorf("part %s is given twice: %s and %s", part, name(other.log), name(i))
				} else if dup {
					return nil, fmt.Errorf("test %q ran in %s and in %s: merge the parts of one split (the same --shard N and --timings on every part)", e.Test, other.part, part)
				}
				seen[e.Test] = partLog{part, i}
				counts.Add(e)
			}
			body = append(body, e)
		}
	}
	// After the tests: a test in two logs is the likelier mistake, and
	// says more.
	missing, err := checkParts(logs, name)
	if err != nil {
		return nil, err
	}
	start.Seed = sharedSeed(start.Seeds)
	if start.Seed != 0 || len(start.Seeds) < 2 {
		// One seed replays every part: the seed field says it all.
		start.Seeds = nil
	}
	end.Seed, end.Seeds = start.Seed, start.Seeds
	if len(missing) > 0 {
		end.Status = Failed
		end.Missing = missing
		msgs = append(msgs, MissingText(missing))
	}
	end.Cut = cut
	end.Counts = &counts
	end.Message = strings.Join(msgs, "; ")
	end.EnvError = strings.Join(envErrs, "\n")
	out := append([]Event{start}, body...)
	if end.Time.IsZero() {
		end.Time = start.Time.Add(ms(end.Duration))
	}
	return &Merged{Events: append(out, end), Missing: missing, Cut: cut}, nil
}

// checkParts checks that logs are the parts of one split, each once, and
// returns the parts of it that are missing. Logs of runs without --shard
// merge as they are (nothing says how many there should be), but not
// with parts of a split.
func checkParts(logs [][]Event, name func(int) string) ([]string, error) {
	n, sharded, whole := 0, -1, -1
	byK := map[int]int{}
	for i, events := range logs {
		shard := events[0].Shard
		if shard == "" {
			whole = i
			continue
		}
		k, kn, ok := partOf(shard)
		if !ok {
			return nil, fmt.Errorf("%s: its run_start has shard %q, not K/N", name(i), shard)
		}
		switch {
		case sharded < 0:
			n, sharded = kn, i
		case kn != n:
			return nil, fmt.Errorf("%s is part %s, %s part %s: merge the parts of one split (the same --shard N on every part)", name(i), shard, name(sharded), logs[sharded][0].Shard)
		}
		if j, dup := byK[k]; dup {
			return nil, fmt.Errorf("part %s is given twice: %s and %s", shard, name(j), name(i))
		}
		byK[k] = i
	}
	if sharded >= 0 && whole >= 0 {
		return nil, fmt.Errorf("%s is part %s of a split, %s is not (its run was not given --shard): merge the parts of one split", name(sharded), logs[sharded][0].Shard, name(whole))
	}
	var missing []string
	for k := 1; k <= n; k++ {
		if _, ok := byK[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, n))
		}
	}
	return missing, nil
}

// xmlPartSeed is the seed of one part's JUnit report (its seam.seed),
// as the property seam.seed.partK of a merged report: K from its
// seam.shard, else its place among the inputs. Its Value is "" when the
// report has no seed (a part that ran no test, or not seam's).
func xmlPartSeed(props []xmlProperty, i int) xmlProperty {
	k, seed := i+1, ""
	for _, p := range props {
		switch p.Name {
		case "seam.seed":
			seed = p.Value
		case "seam.shard":
			if pk, _, ok := partOf(p.Value); ok {
				k = pk
			}
		}
	}
	return xmlProperty{Name: fmt.Sprintf("seam.seed.part%d", k), Value: seed}
}

// JUnitMissing is the parts ("2/3") a merge of these JUnit reports lacks:
// each of seam's parts names its own in the property seam.shard ("K/N"),
// so parts 1..N of a split must all be there. Reports without it (not
// seam's, or of a run without --shard) tell nothing.
func JUnitMissing(inputs [][]byte) []string {
	seen := map[int]bool{}
	total := 0
	for _, in := range inputs {
		var doc xmlSuites
		if xml.Unmarshal(in, &doc) != nil {
			continue
		}
		for _, s := range doc.Suites {
			for _, p := range s.Properties.Props {
				if k, n, ok := partOf(p.Value); p.Name == "seam.shard" && ok {
					seen[k], total = true, max(total, n)
				}
			}
		}
	}
	var missing []string
	for k := 1; k <= total; k++ {
		if !seen[k] {
			missing = append(missing, fmt.Sprintf("%d/%d", k, total))
		}
	}
	return missing
}

// partSeedProps are a merged JUnit suite's properties (the first part's)
// with its seed told truly: seam.seed when every part that had a seed
// had the same, else each part's seam.seed.partK instead; seam.shard,
// one part's, goes.
func partSeedProps(props, seeds []xmlProperty) []xmlProperty {
	var out []xmlProperty
	for _, p := range props {
		if p.Name != "seam.seed" && p.Name != "seam.shard" {
			out = append(out, p)
		}
	}
	var given []xmlProperty
	for _, s := range seeds {
		if s.Value != "" {
			given = append(given, s)
		}
	}
	shared := len(given) > 0
	for _, s := range given {
		shared = shared && s.Value == given[0].Value
	}
	switch {
	case shared:
		return append([]xmlProperty{{Name: "seam.seed", Value: given[0].Value}}, out...)
	case len(given) > 0:
		return append(given, out...)
	}
	return out
}

// SeedText says which seed replays a run: "seed 42", or for a merged
// run whose parts had different seeds, "seeds: part 1/3 42, part 2/3 7;
// replay a part with seam run --shard K/N --seed S".
func SeedText(seed uint64, seeds []PartSeed) string {
	if len(seeds) == 0 {
		return fmt.Sprintf("seed %d", seed)
	}
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = fmt.Sprintf("part %s %d", s.Part, s.Seed)
	}
	return "seeds: " + strings.Join(parts, ", ") + "; replay a part with seam run --shard K/N --seed S"
}

// sharedSeed is the seed every part ran with, or 0 when they differ.
func sharedSeed(seeds []PartSeed) uint64 {
	if len(seeds) == 0 {
		return 0
	}
	for _, s := range seeds[1:] {
		if s.Seed != seeds[0].Seed {
			return 0
		}
	}
	return seeds[0].Seed
}

// MergeJUnit joins JUnit XML reports of one suite's parts into one
// document: each <testsuite> of the same name becomes one, its testcases
// in turn, its counts summed, its time the longest part's; properties of
// the first part. The result validates against the same schema as seam's
// own JUnit reports. It returns how many testcases failed or erred. A
// test in two inputs (the same part given twice, or parts of different
// splits) is an error, and nothing is written then.
func MergeJUnit(w io.Writer, inputs []io.Reader, names []string) (failed int, err error) {
	var merged []*xmlSuite
	byName := map[string]*xmlSuite{}
	type caseKey struct{ suite, class, name string }
	from := map[caseKey]int{}           // a testcase → the input it came from
	seeds := map[string][]xmlProperty{} // a suite → each input's seed, named by its part
	for i, r := range inputs {
		var doc xmlSuites
		if err := xml.NewDecoder(r).Decode(&doc); err != nil {
			return 0, fmt.Errorf("%s: not a JUnit report of seam's (<testsuites>): %v", names[i], err)
		}
		for _, s := range doc.Suites {
			for _, c := range s.Cases {
				k := caseKey{s.Name, c.Classname, c.Name}
				if j, dup := from[k]; dup && j != i && names[j] == names[i] {
					return 0, fmt.Errorf("%s is given twice (test %q of suite %q would be listed twice): merge each part's report once", names[i], c.Name, s.Name)
				} else if dup && j != i {
					return 0, fmt.Errorf("test %q (suite %q) is in %s and in %s: merge each part's report once, of one split (the same --shard N and --timings on every part)", c.Name, s.Name, names[j], names[i])
				}
				from[k] = i
			}
			seeds[s.Name] = append(seeds[s.Name], xmlPartSeed(s.Properties.Props, i))
			m := byName[s.Name]
			if m == nil {
				c := s
				c.Cases = nil
				c.Tests, c.Failures, c.Errors, c.Skipped = 0, 0, 0, 0
				c.SystemOut.Text, c.SystemErr.Text = "", ""
				c.ID = len(merged)
				m = &c
				byName[s.Name] = m
				merged = append(merged, m)
			}
			m.Cases = append(m.Cases, s.Cases...)
			m.Tests += s.Tests
			m.Failures += s.Failures
			m.Errors += s.Errors
			m.Skipped += s.Skipped
			m.SystemOut.Text += s.SystemOut.Text
			m.SystemErr.Text += s.SystemErr.Text
			if s.Timestamp < m.Timestamp {
				m.Timestamp = s.Timestamp
			}
			a, _ := strconv.ParseFloat(m.Time, 64)
			b, _ := strconv.ParseFloat(s.Time, 64)
			m.Time = seconds(time.Duration(max(a, b) * float64(time.Second)))
		}
	}
	for _, m := range merged {
		m.Properties.Props = partSeedProps(m.Properties.Props, seeds[m.Name])
	}
	for _, m := range merged {
		// The testcases themselves, not the counts the inputs claim.
		for _, c := range m.Cases {
			if c.Failure != nil || c.Error != nil {
				failed++
			}
		}
	}
	out := xmlSuites{}
	for _, m := range merged {
		out.Suites = append(out.Suites, *m)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return failed, err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return failed, err
	}
	_, err = io.WriteString(w, "\n")
	return failed, err
}

// JUnitEnvFailed returns the reasons, one per report, of the JUnit
// reports (seam's) whose environment could not start: the message of
// their EnvCase testcase in error.
func JUnitEnvFailed(inputs [][]byte) []string {
	var why []string
	for _, in := range inputs {
		var doc xmlSuites
		if xml.Unmarshal(in, &doc) != nil {
			continue
		}
		for _, s := range doc.Suites {
			for _, c := range s.Cases {
				if c.Error != nil && c.Error.Type == EnvCase && strings.HasPrefix(c.Name, EnvCase) {
					why = append(why, c.Error.Message)
				}
			}
		}
	}
	return why
}
