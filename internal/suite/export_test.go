package suite

// LoadAt loads like Load, parsing files over splitAt bytes test by test
// (never when splitAt is negative), so tests can compare both ways.
func LoadAt(path string, opts Options, splitAt int) (*Suite, error) {
	return load(path, opts, splitAt)
}
