package suite

import (
	"sort"
	"strings"

	"github.com/seamtest/seam/internal/decode"
	"github.com/seamtest/seam/internal/diag"
	"github.com/seamtest/seam/internal/expr"
)

// VarValue types a value given from outside the suite (--var NAME=VALUE,
// seam.Var) by the suite's declaration of name: a string, unless vars:
// declares name with a number or a boolean, when it is parsed as that type
// by YAML 1.2's core schema (5, -2.5, 0x1F, 1e3; true, false). So
// --var zip=01234 stays the string "01234". A value that does not parse is
// an error naming the declaration's position.
func (s *Suite) VarValue(name, raw string) (any, error) {
	for _, v := range s.Vars {
		if v.Name != name {
			continue
		}
		c, ok := v.Value.Const()
		if !ok {
			return raw, nil
		}
		switch c.(type) {
		case bool:
			b, err := decode.ParseBool(raw)
			if err != nil {
				return nil, diag.Errorf(v.Pos, "--var %s=%s: %s is declared a boolean here, and %q is not one", name, raw, name, raw).
					WithHint("give true or false, or declare %s with a quoted default (%s: \"…\") to take any text", name, name)
			}
			return b, nil
		case nil:
			return raw, nil
		default: // a number
			switch decode.CoreTag(raw) {
			case "!!int":
				return decode.ParseInt(raw)
			case "!!float":
				return decode.ParseFloat(raw)
			}
			return nil, diag.Errorf(v.Pos, "--var %s=%s: %s is declared a number here, and %q is not one", name, raw, name, raw).
				WithHint("give a number like 5, -2.5, 1e3 or 0x1F, or declare %s with a quoted default (%s: \"…\") to take any text", name, name)
		}
	}
	return raw, nil
}

// checkVarValues reports --var values that do not parse as the type their
// declaration gives.
func (l *loader) checkVarValues(s *Suite) {
	for _, k := range expr.SortedKeys(l.opts.Vars) {
		if _, err := s.VarValue(k, l.opts.Vars[k]); err != nil {
			l.errs.AddErr(s.Pos, err)
		}
	}
}

// checkVarNames warns of --var names the suite's vars: do not declare,
// with the nearest declared name. They are not refused: a template may
// read a name only --var gives (the README's "names in scope"), so such
// a name is defined all the same; but a misspelt one would silently
// leave the declared var at its default, so it is told.
func (l *loader) checkVarNames(s *Suite) {
	declared := map[string]Var{}
	names := make([]string, 0, len(s.Vars))
	for _, v := range s.Vars {
		declared[v.Name] = v
		names = append(names, v.Name)
	}
	sort.Strings(names)
	for _, k := range expr.SortedKeys(l.opts.Vars) {
		if _, ok := declared[k]; ok {
			continue
		}
		// Not the value: it may be a secret.
		w := diag.Errorf(diag.Pos{}, "--var %s: the suite's vars: declare no %q; it is set all the same, for templates that read it", k, k)
		switch c := diag.Closest(k, names); {
		case c != "":
			w.WithHint("did you mean %q, declared at %s?", c, declared[c].Pos)
		case len(names) > 0:
			w.WithHint("the suite declares %s; declare %s under vars: to silence this", strings.Join(names, ", "), k)
		default:
			w.WithHint("declare %s under vars: to silence this", k)
		}
		s.Warnings = append(s.Warnings, w)
	}
}
