//go:build race

package match_test

// raceEnabled: the race detector makes sync.Pool drop items at random, so code that reuses pooled
// buffers (regexp) allocates now and then; allocation counts are only checked without it.
const raceEnabled = true
