package expr

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/itchyny/gojq"
)

// Query is a compiled jq query (gojq). jq was chosen because it is the JSON
// query language people already know from the shell, it can filter, map and
// compute (not only select), and gojq is a pure-Go, well-kept implementation.
type Query struct {
	src  string
	code *gojq.Code
}

// CompileQuery compiles a jq query; the error says what is wrong with it.
func CompileQuery(src string) (*Query, error) {
	if q, ok := queries.Load(src); ok {
		return q.(*Query), nil
	}
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("bad jq query %q: %v", src, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("bad jq query %q: %v", src, err)
	}
	out := &Query{src: src, code: code}
	queries.Store(src, out)
	return out, nil
}

// queryTimeout bounds one run of a query.
const queryTimeout = 5 * time.Second

// queries caches compiled queries by source; gojq code is safe to share.
var queries sync.Map

// String is the query's source.
func (q *Query) String() string { return q.src }

// Run applies the query to v (a canonical value). No output, or a single
// null, means the path is absent; several outputs become a list.
//
// A query that runs longer than queryTimeout (def f: f; f) is an error,
// so a looping query cannot hang a test past its timeout.
func (q *Query) Run(v any) (out any, found bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	iter := q.code.RunWithContext(ctx, v)
	var outs []any
	for {
		x, ok := iter.Next()
		if !ok {
			break
		}
		if e, isErr := x.(error); isErr {
			if h, halt := e.(*gojq.HaltError); halt && h.Value() == nil {
				break
			}
			return nil, false, fmt.Errorf("jq %s: %v", q.src, e)
		}
		outs = append(outs, Normalize(x))
		if len(outs) > 10000 {
			return nil, false, fmt.Errorf("jq %s: more than 10000 results", q.src)
		}
	}
	switch len(outs) {
	case 0:
		return nil, false, nil
	case 1:
		return outs[0], outs[0] != nil, nil
	}
	return outs, true, nil
}
