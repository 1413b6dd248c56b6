package decode

import (
	"fmt"
	"sort"

	"github.com/seamtest/seam/internal/diag"
	"go.yaml.in/yaml/v4"
)

// An anchored node (&greet) is decoded once where it is written and once
// more at each alias (*greet) that uses it, each time maybe with other
// variables defined around it. A problem found inside it is reported at
// its real position, where the anchor's text is, and says through which
// alias it was reached ("via *greet at line 11, in "a test""): otherwise
// every use repeats the same error at the anchor, and none says which use
// it is about. A problem the anchor's own decoding already reported is not
// repeated for its aliases.
//
// Decoding goes through the file in order, so the use being decoded is
// told by the mappings Fields was last given: each alias and anchor is
// owned by the mapping it is written in (through lists: a test owns the
// aliases among its steps), and the use whose owner was entered last is
// the one being decoded. Of uses that share an owner, the count of times
// the anchored mapping itself was entered since tells which.

// uses records the anchors and aliases Fields has seen.
type uses struct {
	seq     int
	entered map[*yaml.Node]int // an owner mapping → when Fields last entered it
	// sites are, for each anchored node, where it is written (alias nil)
	// and each alias to it, in the order Fields met them.
	sites map[*yaml.Node][]site
	// entries are when Fields entered each anchored mapping.
	entries map[*yaml.Node][]int
	// inside maps a node within an anchored value to the anchored nodes
	// that hold it, innermost first; fresh are the anchored nodes not in
	// it yet.
	inside map[*yaml.Node][]holder
	fresh  []*yaml.Node
	// reported are the problems reported inside anchored values, by
	// position and message and the alias they came through.
	reported map[string]bool
}

// holder is an anchored node that holds a node, depth levels above it.
type holder struct {
	t     *yaml.Node
	depth int
}

// site is one place an anchored node is decoded: where it is written
// (alias nil) or an alias to it.
type site struct {
	alias *yaml.Node
	owner *yaml.Node
}

// maxEntries bounds the entries kept of one anchored mapping.
const maxEntries = 64

// noteUses records the anchors and aliases among mapping n's values (and
// in lists under them) and that Fields entered n now.
func (d *Decoder) noteUses(n *yaml.Node) {
	u := d.uses
	if u != nil {
		u.seq++
		if _, ok := u.sites[n]; ok {
			if e := u.entries[n]; len(e) < maxEntries {
				u.entries[n] = append(e, u.seq)
			}
		}
	}
	owns := false
	var walk func(v *yaml.Node, depth int)
	walk = func(v *yaml.Node, depth int) {
		if v == nil || depth > MaxDepth {
			return
		}
		switch {
		case v.Kind == yaml.AliasNode && v.Alias != nil:
			d.addSite(v.Alias, site{alias: v, owner: n})
			owns = true
			return
		case v.Anchor != "":
			d.addSite(v, site{owner: n})
			owns = true
		}
		if v.Kind == yaml.SequenceNode {
			for _, it := range v.Content {
				walk(it, depth+1)
			}
		}
	}
	for i := 1; i < len(n.Content); i += 2 {
		walk(n.Content[i], 0)
	}
	if owns {
		d.uses.entered[n] = d.uses.seq
	}
}

func (d *Decoder) addSite(target *yaml.Node, s site) {
	if d.uses == nil {
		d.uses = &uses{entered: map[*yaml.Node]int{}, sites: map[*yaml.Node][]site{},
			entries: map[*yaml.Node][]int{}, inside: map[*yaml.Node][]holder{}, reported: map[string]bool{}}
	}
	u := d.uses
	old, known := u.sites[target]
	for _, o := range old {
		if o == s {
			return
		}
	}
	if !known {
		u.fresh = append(u.fresh, target)
	}
	if s.alias == nil {
		// Where the anchor is written comes first, whenever it is met.
		u.sites[target] = append([]site{s}, old...)
	} else {
		u.sites[target] = append(old, s)
	}
}

// holders are the anchored nodes whose value holds n (n itself
// included), innermost first.
func (u *uses) holders(n *yaml.Node) []holder {
	for _, t := range u.fresh {
		var walk func(x *yaml.Node, k int)
		walk = func(x *yaml.Node, k int) {
			if x == nil || k > MaxDepth || x.Kind == yaml.AliasNode {
				return
			}
			hs := append(u.inside[x], holder{t: t, depth: k})
			sort.SliceStable(hs, func(i, j int) bool { return hs[i].depth < hs[j].depth })
			u.inside[x] = hs
			for _, c := range x.Content {
				walk(c, k+1)
			}
		}
		walk(t, 0)
	}
	u.fresh = u.fresh[:0]
	return u.inside[n]
}

// current is the site of t being decoded now: the one whose owner Fields
// entered last.
func (u *uses) current(t *yaml.Node) (site, bool) {
	ss := u.sites[t]
	best, at := -1, -1
	for i, s := range ss {
		if e, ok := u.entered[s.owner]; ok && e > at {
			best, at = i, e
		}
	}
	if best < 0 {
		return site{}, false
	}
	// Sites sharing that owner: the times t itself was entered since
	// tell which of them is being decoded.
	var same []site
	for _, s := range ss {
		if s.owner == ss[best].owner {
			same = append(same, s)
		}
	}
	if len(same) == 1 {
		return same[0], true
	}
	k := 0
	for _, e := range u.entries[t] {
		if e > at {
			k++
		}
	}
	if k == 0 || k > len(same) {
		return site{}, false
	}
	return same[k-1], true
}

// via says through which alias n is being decoded ("" when it is not in
// an anchored value, or is decoded where the anchor is written), and
// whether n is inside an anchored value at all.
func (d *Decoder) via(n *yaml.Node) (string, bool) {
	u := d.uses
	if u == nil || n == nil {
		return "", false
	}
	hs := u.holders(n)
	for _, h := range hs {
		t := h.t
		s, ok := u.current(t)
		if !ok || s.alias == nil {
			continue
		}
		out := fmt.Sprintf(" (via *%s at line %d", t.Anchor, s.alias.Line)
		if name := nameOf(s.owner); name != "" {
			out += fmt.Sprintf(", in %q", name)
		}
		return out + ")", true
	}
	return "", len(hs) > 0
}

// nameOf is the value of mapping m's name: key, when it is a string.
func nameOf(m *yaml.Node) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "name" {
			if v := Resolve(m.Content[i+1]); v != nil && v.Kind == yaml.ScalarNode {
				if r := []rune(v.Value); len(r) > 60 {
					return string(r[:57]) + "…"
				}
				return v.Value
			}
		}
	}
	return ""
}

// Report records e, a problem found at node n (which need not be at e's
// position: a template's problem is at a column inside it), and returns
// it so a hint can be added. Inside an anchored value decoded through an
// alias, the message says which alias; a problem already reported for
// the same place is not repeated.
func (d *Decoder) Report(n *yaml.Node, e *diag.Error) *diag.Error {
	via, inside := d.via(n)
	if !inside {
		d.Errs.Add(e)
		return e
	}
	u := d.uses
	base := e.Pos.String() + "\x00" + e.Msg
	if u.reported[base+via] || via != "" && u.reported[base] {
		// Reported already: for this use, or where the anchor is written
		// (fixing it there fixes it for every alias).
		return e
	}
	u.reported[base+via] = true
	e.Msg += via
	d.Errs.Add(e)
	return e
}
