package list_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/intel"
)

// syntheticList returns n lines of a text list: IPv4 addresses, CIDRs, domains and URLs, with the
// comments and inline notes real lists have.
func syntheticList(n int) []byte {
	var b bytes.Buffer
	b.WriteString("# synthetic list\n")
	for i := 1; i < n; i++ {
		switch i % 10 {
		case 0:
			fmt.Fprintf(&b, "10.%d.%d.0/24 ; SBL%d\n", i>>16&255, i>>8&255, i)
		case 1:
			fmt.Fprintf(&b, "host%d.example-bad.com\n", i)
		case 2:
			fmt.Fprintf(&b, "http://bad%d.example.net/path/%d\n", i%977, i)
		case 3:
			fmt.Fprintf(&b, "%d.%d.%d.%d\t%d\n", 1+i%200, i>>16&255, i>>8&255, i&255, i%10)
		default:
			fmt.Fprintf(&b, "%d.%d.%d.%d\n", 1+i%200, i>>16&255, i>>8&255, i&255)
		}
	}
	return b.Bytes()
}

// BenchmarkTextList parses a 1M-line text list and reports lines/s next to the rate of merely
// counting the same bytes' lines with bufio.Scanner (the baseline, and ratio = parse/baseline),
// measured in the same run; detect-lines/s is the Scanner plus intel.Detect of each line's first
// field, the floor that type detection sets.
func BenchmarkTextList(b *testing.B) {
	const lines = 1_000_000
	data := syntheticList(lines)
	var scan, detect, parse time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 {
				_, _ = intel.Detect(f[0])
			}
		}
		detect += time.Since(start)

		start = time.Now()
		sc = bufio.NewScanner(bytes.NewReader(data))
		n := 0
		for sc.Scan() {
			n++
		}
		scan += time.Since(start)
		if n != lines {
			b.Fatalf("scanner counted %d lines", n)
		}

		start = time.Now()
		st, err := list.Parse(context.Background(), bytes.NewReader(data), list.Options{Format: list.Text},
			func(list.Record) error { return nil }, nil)
		parse += time.Since(start)
		if err != nil || st.Lines != lines || st.Records != lines-1 {
			b.Fatalf("Parse: %+v, %v", st, err)
		}
	}
	scanRate := float64(lines) * float64(b.N) / scan.Seconds()
	parseRate := float64(lines) * float64(b.N) / parse.Seconds()
	b.ReportMetric(parseRate, "lines/s")
	b.ReportMetric(scanRate, "baseline-lines/s")
	b.ReportMetric(parseRate/scanRate, "ratio")
	b.ReportMetric(float64(lines)*float64(b.N)/detect.Seconds(), "detect-lines/s")
}
