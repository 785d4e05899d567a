//go:build race

package intel_test

// raceEnabled reports whether the race detector is on: the large-input tests are too slow under it.
const raceEnabled = true
