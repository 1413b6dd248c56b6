package expr

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
)

// BuiltinNames are the names every template and expression can use besides
// the suite's own variables.
var BuiltinNames = []string{"env", "randInt", "randString", "uuid", "service"}

// Builtins returns the builtin values: the process environment as "env",
// and random helpers drawn from a source seeded with seed, so a run's
// random data is replayed by the same --seed.
func Builtins(seed uint64) Vars {
	envMap := map[string]any{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			envMap[k] = v
		}
	}
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	return Vars{
		"env": envMap,
		"service": func(name string) (map[string]any, error) {
			return nil, fmt.Errorf("service(%q): this suite declares no services", name)
		},
		"randInt": func(lo, hi int) (int, error) {
			if hi < lo {
				return 0, fmt.Errorf("randInt(%d, %d): the upper bound is below the lower", lo, hi)
			}
			mu.Lock()
			defer mu.Unlock()
			return lo + rng.IntN(hi-lo+1), nil
		},
		"randString": func(n int) string {
			mu.Lock()
			defer mu.Unlock()
			b := make([]byte, n)
			for i := range b {
				b[i] = letters[rng.IntN(len(letters))]
			}
			return string(b)
		},
		"uuid": func() string {
			mu.Lock()
			defer mu.Unlock()
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.UintN(256))
			}
			b[6] = b[6]&0x0f | 0x40
			b[8] = b[8]&0x3f | 0x80
			return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		},
	}
}
