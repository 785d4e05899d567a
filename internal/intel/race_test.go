//go:build race

package intel_test

// raceEnabled reports whether the race detector is on: it makes the timing tests meaningless.
const raceEnabled = true
