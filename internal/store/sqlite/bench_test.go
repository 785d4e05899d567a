package sqlite_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// benchN is the number of observables of the ingest benchmarks: OMEN_BENCH_N, default 1,000,000.
// OMEN_BENCH_N=100000 makes a quick run.
func benchN(b *testing.B) int {
	if s := os.Getenv("OMEN_BENCH_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("OMEN_BENCH_N=%q: want a positive integer", s)
		}
		return n
	}
	return 1_000_000
}

// benchBatch is the ingest batch size: OMEN_BENCH_BATCH, default the store's default.
func benchBatch(b *testing.B) int {
	if s := os.Getenv("OMEN_BENCH_BATCH"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("OMEN_BENCH_BATCH=%q: want a positive integer", s)
		}
		return n
	}
	return 0
}

var tlds = []string{"com", "net", "org", "ru", "info", "xyz", "top", "io", "de", "cn"}

// syntheticObservables returns n distinct canonical observables from a fixed PCG seed: 60% ipv4,
// 15% domain, 15% url, 10% sha256.
func syntheticObservables(n int) []intel.Observable {
	rng := rand.New(rand.NewPCG(0x6f6d656e, 0x62656e63))
	label := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, 5+rng.IntN(10))
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	domain := func() string { return label() + "." + tlds[rng.IntN(len(tlds))] }
	seen := make(map[intel.Observable]struct{}, n)
	out := make([]intel.Observable, 0, n)
	for len(out) < n {
		var o intel.Observable
		switch p := rng.IntN(100); {
		case p < 60:
			v := rng.Uint32()
			o = intel.Observable{Type: intel.IPv4, Value: fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&0xff, v>>8&0xff, v&0xff)}
		case p < 75:
			o = intel.Observable{Type: intel.Domain, Value: domain()}
		case p < 90:
			o = intel.Observable{Type: intel.URL, Value: "http://" + domain() + "/" + label() + "/" + label() + ".php"}
		default:
			var h [32]byte
			for i := 0; i < 32; i += 8 {
				v := rng.Uint64()
				for j := range 8 {
					h[i+j] = byte(v >> (8 * j))
				}
			}
			o = intel.Observable{Type: intel.SHA256, Value: hex.EncodeToString(h[:])}
		}
		if _, dup := seen[o]; dup {
			continue
		}
		seen[o] = struct{}{}
		out = append(out, o)
	}
	return out
}

var benchThreat = map[intel.Type]string{intel.IPv4: "c2", intel.Domain: "phishing", intel.URL: "malware-download", intel.SHA256: "malware"}

// ingestAll ingests one report per observable into db.
func ingestAll(b *testing.B, db *sqlite.DB, obs []intel.Observable, seen time.Time, batch int) store.IngestStats {
	ctx := context.Background()
	ing, err := db.NewIngester(ctx, store.IngestOptions{Source: "bench", BatchSize: batch})
	if err != nil {
		b.Fatal(err)
	}
	tags := []string{"botnet"}
	for _, o := range obs {
		if err := ing.Add(ctx, intel.Report{
			Observable: o, Confidence: 70, TLP: intel.TLPGreen, FirstSeen: seen, LastSeen: seen,
			Tags: tags, ThreatType: benchThreat[o.Type],
		}); err != nil {
			b.Fatal(err)
		}
	}
	st, err := ing.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// benchRounds is the number of baseline/ingest pairs per benchmark iteration: OMEN_BENCH_ROUNDS,
// default 3. Figures are medians over the rounds, which damps the noise of a shared machine.
func benchRounds(b *testing.B) int {
	if s := os.Getenv("OMEN_BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("OMEN_BENCH_ROUNDS=%q: want a positive integer", s)
		}
		return n
	}
	return 3
}

// measured is one timed run: wall and CPU time.
type measured struct{ wall, cpu time.Duration }

func measure(fn func()) measured {
	c, w := cpuTime(), time.Now()
	fn()
	return measured{time.Since(w), cpuTime() - c}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkIngest measures, in one run, the raw multi-row INSERT baseline (RawInsertBaseline) and
// the Ingester on the same N observables, alternating, into fresh files, and reports the medians:
// indicators/s, baseline_rows/s and ratio (target ≥ 0.25), plus cpu_ratio, the same ratio over CPU
// time, which other processes on the machine disturb less. Sub-benchmarks: "new" ingests into an
// empty store; "reingest" ingests the same observables again with LastSeen one hour later each
// round (every report and indicator is rewritten); "reingest-same" ingests identical reports again
// (every report counts as updated, nothing needs writing).
//
//	OMEN_BENCH_N=1000000 go test -run '^$' -bench Ingest -benchtime 1x ./internal/store/sqlite
func BenchmarkIngest(b *testing.B) {
	n := benchN(b)
	obs := syntheticObservables(n)
	batch := benchBatch(b)
	rounds := benchRounds(b)
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()

	baseline := func(b *testing.B) measured {
		path := filepath.Join(b.TempDir(), "baseline.db")
		var err error
		m := measure(func() { _, err = sqlite.RawInsertBaseline(ctx, path, obs) })
		if err != nil {
			b.Fatal(err)
		}
		os.Remove(path)
		return m
	}
	open := func(b *testing.B) *sqlite.DB {
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "omen.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if _, err := db.PutSource(ctx, intel.Source{Name: "bench", Kind: "list", Enabled: true}); err != nil {
			b.Fatal(err)
		}
		return db
	}
	run := func(b *testing.B, setup func(b *testing.B) *sqlite.DB, seen func(round int) time.Time, want func(store.IngestStats) bool) {
		for b.Loop() {
			var bw, bc, iw, ic []time.Duration
			for round := range rounds {
				db := setup(b)
				runtime.GC()
				m := baseline(b)
				bw, bc = append(bw, m.wall), append(bc, m.cpu)
				runtime.GC()
				var st store.IngestStats
				m = measure(func() { st = ingestAll(b, db, obs, seen(round), batch) })
				if !want(st) {
					b.Fatalf("stats %+v", st)
				}
				iw, ic = append(iw, m.wall), append(ic, m.cpu)
				b.Logf("round %d: baseline %v (cpu %v), ingest %v (cpu %v), ratio %.3f", round,
					bw[round].Round(time.Millisecond), bc[round].Round(time.Millisecond),
					iw[round].Round(time.Millisecond), ic[round].Round(time.Millisecond),
					bw[round].Seconds()/iw[round].Seconds())
			}
			rate, base := float64(n)/median(iw).Seconds(), float64(n)/median(bw).Seconds()
			b.ReportMetric(rate, "indicators/s")
			b.ReportMetric(base, "baseline_rows/s")
			b.ReportMetric(rate/base, "ratio")
			b.ReportMetric(median(bc).Seconds()/median(ic).Seconds(), "cpu_ratio")
		}
	}
	fresh := func(b *testing.B) *sqlite.DB { return open(b) }
	b.Run("new", func(b *testing.B) {
		run(b, fresh, func(int) time.Time { return t0 },
			func(st store.IngestStats) bool { return st.New == n && st.Indicators == n })
	})
	b.Run("reingest", func(b *testing.B) {
		var db *sqlite.DB
		hours := 0
		setup := func(b *testing.B) *sqlite.DB {
			if db == nil {
				db = open(b)
				ingestAll(b, db, obs, t0, batch)
			}
			return db
		}
		run(b, setup, func(int) time.Time { hours++; return t0.Add(time.Duration(hours) * time.Hour) },
			func(st store.IngestStats) bool { return st.Updated == n && st.Indicators == 0 })
	})
	b.Run("reingest-same", func(b *testing.B) {
		var db *sqlite.DB
		setup := func(b *testing.B) *sqlite.DB {
			if db == nil {
				db = open(b)
				ingestAll(b, db, obs, t0, batch)
			}
			return db
		}
		run(b, setup, func(int) time.Time { return t0 },
			func(st store.IngestStats) bool { return st.Updated == n && st.Indicators == 0 })
	})
}

// BenchmarkRead measures reads from a store holding N indicators (OMEN_BENCH_N): Indicators for
// 1,000 and 300,000 observables (half stored, half not) and a full ScanIndicators.
func BenchmarkRead(b *testing.B) {
	n := benchN(b)
	obs := syntheticObservables(2 * n)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "omen.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.PutSource(ctx, intel.Source{Name: "bench", Kind: "list", Enabled: true}); err != nil {
		b.Fatal(err)
	}
	ingestAll(b, db, obs[:n], time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), 0)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, size := range []int{1000, 300_000} {
		q := make([]intel.Observable, size)
		for i := range q {
			q[i] = obs[rng.IntN(len(obs))]
		}
		b.Run(fmt.Sprintf("Indicators-%d", size), func(b *testing.B) {
			for b.Loop() {
				if _, err := db.Indicators(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds(), "observables/s")
		})
	}
	b.Run("ScanIndicators", func(b *testing.B) {
		for b.Loop() {
			k := 0
			if err := db.ScanIndicators(ctx, func(intel.Indicator) error { k++; return nil }); err != nil {
				b.Fatal(err)
			}
			if k != n {
				b.Fatalf("scanned %d, want %d", k, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "indicators/s")
	})
}
