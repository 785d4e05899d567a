package cli

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line progress bar on a terminal. A nil *progress does nothing, so callers
// need not check whether output is a terminal twice.
type progress struct {
	w     io.Writer
	name  string
	total int64
	last  time.Time
	start time.Time
}

func newProgress(w io.Writer, name string, total int64) *progress {
	return &progress{w: w, name: name, total: total, start: time.Now()}
}

func (p *progress) update(n int64) {
	if p == nil || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	frac := 1.0
	if p.total > 0 {
		frac = min(1, float64(n)/float64(p.total))
	}
	const width = 30
	filled := int(frac * width)
	rate := float64(n) / max(time.Since(p.start).Seconds(), 0.001) / (1 << 20)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %.1f MiB/s", p.name, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, rate)
}

func (p *progress) done() {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", len(p.name)+60))
}
