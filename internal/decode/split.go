package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v4"
)

// Item is one item of a block sequence Split found: data[Start:End] of
// the file, its first line at Line (1-based).
type Item struct {
	Start, End int
	Line       int
}

// Split finds, in a file whose root is a block mapping, the block sequence
// under the top-level key (a line "key:" at column 1), so a big file can be
// parsed one item at a time instead of as one tree (a node tree is about
// twenty times its text). It returns the file with that sequence's lines
// left empty (so every line keeps its number) and each item's bytes.
//
// Split only reads lines: ok is false when the layout is not the plain one
// (no such key, a value on the key's line, a line at or left of the items'
// indentation that does not start an item). A layout it misreads (a quoted
// string whose next line starts like an item) leaves an item that does not
// parse; the caller then parses the whole file instead.
func Split(data []byte, key string) (head []byte, items []Item, ok bool) {
	var (
		in     bool // inside the key's block
		indent = -1 // the items' indentation, once known
		begin  int  // where the block's lines start
		end    = len(data)
	)
	line := 0
	for off := 0; off < len(data); {
		next := bytes.IndexByte(data[off:], '\n')
		if next < 0 {
			next = len(data)
		} else {
			next += off + 1
		}
		line++
		text := bytes.TrimRight(data[off:next], "\r\n")
		spaces := len(text) - len(bytes.TrimLeft(text, " "))
		blank := spaces == len(text) || text[spaces] == '#'
		switch {
		case !in && indent < 0 && isKeyLine(text, key):
			in, begin = true, next
		case !in || blank:
		case indent < 0:
			if !isItem(text, spaces) {
				return nil, nil, false
			}
			indent = spaces
			items = append(items, Item{Start: off, Line: line})
		case spaces == indent && isItem(text, spaces):
			items[len(items)-1].End = off
			items = append(items, Item{Start: off, Line: line})
		case spaces == 0:
			// The next top-level key: the block ends.
			in, end = false, off
			items[len(items)-1].End = off
		case spaces <= indent:
			return nil, nil, false
		}
		off = next
	}
	if len(items) == 0 {
		return nil, nil, false
	}
	if in {
		items[len(items)-1].End = end
	}
	head = make([]byte, 0, begin+(len(data)-end)+bytes.Count(data[begin:end], []byte{'\n'}))
	head = append(head, data[:begin]...)
	for range bytes.Count(data[begin:end], []byte{'\n'}) {
		head = append(head, '\n')
	}
	head = append(head, data[end:]...)
	return head, items, true
}

// isKeyLine reports whether text is "key:" at column 1, maybe followed by
// spaces and a comment.
func isKeyLine(text []byte, key string) bool {
	rest, ok := bytes.CutPrefix(text, []byte(key+":"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || rest[0] == '#' && len(rest) < len(text)-len(key)-1
}

// isItem reports whether text starts a block sequence item at column
// spaces: "-" then a space or the line's end.
func isItem(text []byte, spaces int) bool {
	return text[spaces] == '-' && (len(text) == spaces+1 || text[spaces+1] == ' ')
}

// Parser parses one file, whole or as a head and the items Split found,
// with the limits of Parse counted over the whole file.
type Parser struct {
	check treeCheck
	added int // values aliases added so far
}

// Parse parses a whole file (or the head Split left) like the package's
// Parse.
func (p *Parser) Parse(data []byte) (*yaml.Node, error) {
	return p.parse(data, 0)
}

// Item parses one item Split found (its bytes, and its first line in the
// file) and returns the item's node, positioned in the file. Limits count
// it as nested under the file's root mapping and sequence.
func (p *Parser) Item(data []byte, line int) (*yaml.Node, error) {
	root, err := p.parse(data, 1)
	if err != nil {
		return nil, err
	}
	seq := Resolve(root)
	if seq == nil || seq.Kind != yaml.SequenceNode || len(seq.Content) != 1 {
		return nil, errors.New("not one sequence item")
	}
	shift(seq.Content[0], line-1)
	return seq.Content[0], nil
}

// shift moves n and what it holds down by lines.
func shift(n *yaml.Node, lines int) {
	n.Line += lines
	for _, c := range n.Content {
		shift(c, lines)
	}
}

func (p *Parser) parse(data []byte, depth int) (*yaml.Node, error) {
	if err := checkUTF8(data); err != nil {
		return nil, err
	}
	l, err := yaml.NewLoader(bytes.NewReader(data), yaml.WithV3Defaults())
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := l.Load(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var next yaml.Node
	switch err := l.Load(&next); {
	case err == nil:
		return nil, &LimitError{Line: next.Line, Col: 1, Msg: "a second YAML document starts here; a file holds one",
			Hint: "remove the --- line and merge the two, or move the second document to a file of its own"}
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	if err := p.checkTree(&root, depth); err != nil {
		return nil, err
	}
	Retag(&root)
	return &root, nil
}

// checkTree bounds nesting and aliases, counting aliases and the values
// they add over every part of the file parsed so far.
func (p *Parser) checkTree(root *yaml.Node, depth int) error {
	c := &p.check
	own, aliases := c.own, c.aliases
	if err := c.count(root, depth); err != nil {
		return err
	}
	if c.aliases == aliases {
		return nil
	}
	c.memo = map[*yaml.Node]expansion{}
	c.budget = c.own - own + MaxAliasValues - p.added
	e, err := c.expand(root, depth)
	c.memo = nil
	p.added += e.size - (c.own - own)
	if err == nil && p.added > MaxAliasValues {
		err = &LimitError{Line: root.Line, Col: root.Column,
			Msg:  fmt.Sprintf("aliases in this file expand to more than %d values (the limit on values aliases add to a file)", MaxAliasValues),
			Hint: "write the values out, or use fewer aliases"}
	}
	return err
}
