//go:build !unix

package sqlite_test

import "time"

// cpuTime is not measured here; cpu_ratio is then meaningless.
func cpuTime() time.Duration { return 0 }
