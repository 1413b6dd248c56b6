package decode

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// Limits on one YAML file, so a hostile or broken file fails at once with
// a positioned error instead of exhausting memory or stack. Each is far
// beyond what a hand-written suite, mapping or schema needs.
const (
	// MaxFileBytes bounds the size of a file seam reads as YAML.
	MaxFileBytes = 64 << 20
	// MaxAliases bounds the aliases (*name) in one file.
	MaxAliases = 10_000
	// MaxAliasValues bounds the values aliases add to a file once
	// expanded (a "billion laughs" adds 10^9 from ten lines).
	MaxAliasValues = 1_000_000
	// MaxDepth bounds nesting, aliases expanded.
	MaxDepth = maxDepth
)

// LimitError is a problem with a whole YAML file at a position: beyond one
// of the limits, not UTF-8, or more than one document. Hint says what to
// do about it.
type LimitError struct {
	Line, Col int
	Msg       string
	Hint      string
}

func (e *LimitError) Error() string { return e.Msg }

// Parse parses one YAML document and retags its plain scalars by the core
// schema. Suite files and everything else seam reads as YAML come through
// here, so 01234 means the same wherever it is written.
//
// Before anything walks the tree, Parse refuses with a *LimitError: text
// that is not UTF-8 (at the first bad byte), a second document (at its
// ---), more than MaxAliases aliases, aliases that add more than
// MaxAliasValues values once expanded or that contain themselves, and
// nesting deeper than MaxDepth. Syntax errors are yaml's own.
func Parse(data []byte) (*yaml.Node, error) {
	return new(Parser).Parse(data)
}

// checkUTF8 finds the first byte that is not UTF-8 and names its line and
// column (in characters, as yaml counts them). Files with a UTF-16 byte
// order mark are left to yaml, which reads them.
func checkUTF8(data []byte) error {
	if utf8.Valid(data) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return nil
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return &LimitError{Line: line, Col: col, Msg: fmt.Sprintf("the file is not UTF-8: byte 0x%02X here", data[i]),
				Hint: "save the file as UTF-8 (iconv -f LATIN1 -t UTF-8 converts a Latin-1 file)"}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

type treeCheck struct {
	own, aliases int
	budget       int
	memo         map[*yaml.Node]expansion
}

// expansion is an anchored node's size and height with its aliases
// expanded; busy marks one being computed, so an alias inside it that
// refers to it is a cycle.
type expansion struct {
	size, height int
	busy         bool
}

func (c *treeCheck) count(n *yaml.Node, depth int) error {
	if depth > MaxDepth {
		return &LimitError{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("nested more than %d levels deep", MaxDepth),
			Hint: "seam reads at most that many levels; flatten the value"}
	}
	c.own++
	if n.Kind == yaml.AliasNode {
		if c.aliases++; c.aliases > MaxAliases {
			return &LimitError{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("more than %d aliases in one file", MaxAliases),
				Hint: "write the values out, or split the file"}
		}
	}
	for _, ch := range n.Content {
		if err := c.count(ch, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// expand returns n's size and height, aliases expanded, with depth the
// expanded depth n sits at.
func (c *treeCheck) expand(n *yaml.Node, depth int) (expansion, error) {
	if n == nil {
		return expansion{}, nil
	}
	if n.Anchor != "" {
		if e, ok := c.memo[n]; ok {
			if e.busy {
				return e, &LimitError{Line: n.Line, Col: n.Column, Msg: "an alias refers to a node that contains it",
					Hint: "an anchored value cannot hold an alias to itself; write the inner value out"}
			}
			return c.deep(n, depth, e)
		}
		c.memo[n] = expansion{busy: true}
	}
	e := expansion{size: 1, height: 1}
	children := n.Content
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		children = []*yaml.Node{n.Alias}
	}
	for _, ch := range children {
		ce, err := c.expand(ch, depth+1)
		if err != nil {
			return e, err
		}
		e.size += ce.size
		e.height = max(e.height, ce.height+1)
		if e.size > c.budget {
			return e, &LimitError{Line: n.Line, Col: n.Column,
				Msg:  fmt.Sprintf("aliases here expand to more than %d values (the limit on values aliases add to a file)", MaxAliasValues),
				Hint: "write the values out, or use fewer aliases"}
		}
	}
	if n.Anchor != "" {
		c.memo[n] = e
	}
	return c.deep(n, depth, e)
}

// deep refuses n when, at depth, its expanded height nests too deep.
func (c *treeCheck) deep(n *yaml.Node, depth int, e expansion) (expansion, error) {
	if depth+e.height > MaxDepth+1 {
		return e, &LimitError{Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("nested more than %d levels deep once aliases are expanded", MaxDepth),
			Hint: "seam reads at most that many levels; use fewer nested aliases"}
	}
	return e, nil
}

// ReadFile reads a file seam parses as YAML: a regular file (not a device
// like /dev/zero, a fifo or a socket, which could block or never end) of
// at most MaxFileBytes. Errors other than the os package's do not repeat
// the path.
func ReadFile(path string) ([]byte, error) {
	return ReadRegular(path, MaxFileBytes, "a YAML file")
}

// ReadRegular reads a regular file of at most limit bytes (what names the
// kind of file in the error: "a mapping file"). A device, fifo, socket or
// folder is refused before it is opened (reading one could block or never
// end), as is a bigger file. Errors other than the os package's do not
// repeat the path.
func ReadRegular(path string, limit int64, what string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("it is %s, not a regular file", fileKind(st.Mode()))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("it is %d bytes, more than the %d MB limit on %s", st.Size(), limit>>20, what)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read at most one byte beyond the limit: the file may grow after Stat.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("it is more than the %d MB limit on %s", limit>>20, what)
	}
	return data, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a fifo"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
