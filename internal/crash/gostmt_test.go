package crash

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Every goroutine seam starts goes through Go (or Handler.Go), so its
// panic is seam's crash (exit 70, the run stopped), not Go's exit 2: no
// bare go statement in seam's own code, but for the few whose owner waits
// and raises a caught panic again on its own goroutine (Catch).
func TestNoBareGoStatements(t *testing.T) {
	allowed := map[string]int{
		"internal/crash/crash.go":             1, // Go itself
		"internal/service/datadir/datadir.go": 1, // workers Catch, CopyFiles panics again
	}
	root := filepath.Join("..", "..")
	found := map[string]int{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if e.Name() == "testdata" || e.Name() == "bench" || strings.HasPrefix(e.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if _, ok := n.(*ast.GoStmt); ok {
				found[rel]++
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, n := range found {
		if n > allowed[file] {
			t.Errorf("%s: %d bare go statement(s): start goroutines with crash.Go(ctx, f) or a Handler's Go, so a panic is seam's crash", file, n)
		}
	}
	if found["internal/crash/crash.go"] != 1 {
		t.Errorf("the walk did not see crash.go's go statement: %v", found)
	}
}
