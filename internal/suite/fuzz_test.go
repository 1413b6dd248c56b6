package suite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/seamtest/seam/internal/builtin"
	"github.com/seamtest/seam/internal/suite"
)

// FuzzLoad loads arbitrary suite files, with and without a profile and a
// typed --var: loading may report problems but never panics or hangs.
// The seed corpus is every fixture under testdata/invalid, the e2e
// suites and the examples.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/invalid/*.yaml")
	valid, _ := filepath.Glob("../../testdata/e2e/*/seam.yaml")
	examples, _ := filepath.Glob("../../examples/*/seam.yaml")
	for _, file := range append(append(files, valid...), examples...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(modes))
	reg := builtin.New()
	defer reg.Close()
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "seam.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, opts := range []suite.Options{
			{},
			{Profile: "grpc", Vars: map[string]string{"mode": "0x1F", "n": "01234"}},
		} {
			opts.Steps, opts.Ops, opts.Services, opts.Probes = reg.Steps, reg.Ops, reg.Services, reg.Probes
			s, err := suite.Load(file, opts)
			if err == nil && s == nil {
				t.Fatal("no suite and no error")
			}
		}
	})
}
