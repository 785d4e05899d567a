package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// syntheticIPv4 returns n distinct public-looking IPv4 addresses, deterministic for a seed.
func syntheticIPv4(n int, seed uint64) []intel.Observable {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seen := make(map[[4]byte]struct{}, n)
	out := make([]intel.Observable, 0, n)
	for len(out) < n {
		b := [4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}
		if _, dup := seen[b]; dup {
			continue
		}
		seen[b] = struct{}{}
		out = append(out, intel.Observable{Type: intel.IPv4, Value: netip.AddrFrom4(b).String()})
	}
	return out
}

// Export measures the regeneration of an n-entry IP blocklist as omen serve does it: from the
// export's in-memory index (see respond.Index), every candidate scored again at the current time,
// ranked, aggregated and written by the plain-ip format into a file; beside sorting and writing
// the same n strings into a file, measured in the same run. It also gives the first build of the
// index from the store, a regeneration after 1,000 indicators changed (the ingest, the index
// update and the regeneration), and the one-shot export from the store (omen export).
func Export(ctx context.Context, dir string, n int, logf func(string, ...any)) ([]Figure, error) {
	f, ok := respond.Lookup("plain-ip")
	if !ok {
		return nil, fmt.Errorf("no plain-ip format")
	}
	obs := syntheticIPv4(n, 6)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "export.db"), nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := time.Now().UTC()
	logf("loading %d IPv4 indicators", n)
	if err := loadReports(ctx, st, obs, now); err != nil {
		return nil, err
	}
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		return nil, err
	}
	g := respond.NewGuard([]intel.Asset{{ID: 1, Name: "HQ", Kind: "network", Values: []string{"194.53.20.0/24", "81.2.69.0/24"}},
		{ID: 2, Name: "mail", Kind: "domain", Values: []string{"northwind-traders.com"}}}, lists,
		[]intel.AllowEntry{{ID: 1, Observable: intel.Observable{Type: intel.CIDR, Value: "45.137.20.0/23"}}})
	sel := respond.Selection{TLP: intel.TLPAmber}
	model := risk.DefaultModel()

	logf("baseline: sorting and writing %d strings", n)
	base, err := sortAndWrite(obs, filepath.Join(dir, "baseline.txt"))
	if err != nil {
		return nil, err
	}
	logf("building the export index from the store")
	x := respond.NewIndex(f, sel, model)
	build, err := timed(func() error { return x.Build(ctx, st, g) })
	if err != nil {
		return nil, err
	}
	runtime.GC()
	var written int
	regen := func(name string) (time.Duration, error) {
		return timed(func() error {
			es, rep, err := x.Collect(ctx, time.Time{}, 0, 0, time.Now().UTC())
			if err != nil {
				return err
			}
			written = rep.Written
			defer x.Release(es) // as the feed server does once a feed is written
			return respond.WriteFile(f, filepath.Join(dir, name), es, respond.WriteOptions{Name: "omen", Generated: now})
		})
	}
	const reps = 5
	logf("regenerating the %s list from the index, %d times", f.Name, reps)
	var lat []time.Duration
	for range reps {
		d, err := regen("list.txt")
		if err != nil {
			return nil, err
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	if written < n*9/10 {
		return nil, fmt.Errorf("the export wrote %d of %d entries", written, n)
	}
	logf("1,000 indicators change: ingest, index update, regeneration")
	changed := obs[:min(1000, len(obs))]
	var upd time.Duration
	if err := loadMore(ctx, st, changed, now); err != nil {
		return nil, err
	}
	upd, err = timed(func() error {
		if err := x.Update(ctx, st, changed); err != nil {
			return err
		}
		_, err := regen("list-updated.txt")
		return err
	})
	if err != nil {
		return nil, err
	}
	logf("the one-shot export from the store (omen export)")
	oneShot, err := timed(func() error {
		es, _, err := respond.Collect(ctx, st, g, model, sel, f, now)
		if err != nil {
			return err
		}
		return respond.WriteFile(f, filepath.Join(dir, "list-once.txt"), es, respond.WriteOptions{Name: "omen", Generated: now})
	})
	if err != nil {
		return nil, err
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	baseName := fmt.Sprintf("ms to sort and write %d strings", n)
	fig := func(name string, d time.Duration, target string) Figure {
		return Figure{Name: name, Value: ms(d), Unit: "ms", Baseline: ms(base), BaseName: baseName, Ratio: float64(d) / float64(base), Target: target}
	}
	return []Figure{
		fig(fmt.Sprintf("regenerate %s (%d entries) from the export index (median of %d)", f.Name, written, reps), lat[len(lat)/2], "≤ 2"),
		fig(fmt.Sprintf("regenerate %s from the export index (slowest of %d)", f.Name, reps), lat[len(lat)-1], ""),
		fig("1,000 indicators changed: index update and regeneration", upd, "≤ 2"),
		fig("first build of the export index from the store", build, ""),
		fig(fmt.Sprintf("one-shot export of %s from the store (omen export)", f.Name), oneShot, ""),
	}, nil
}

func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// loadReports stores one report per observable from a bench source.
func loadReports(ctx context.Context, st store.Store, obs []intel.Observable, now time.Time) error {
	src := intel.Source{Name: "bench", Kind: "import", Reliability: intel.ReliabilityB, Confidence: 80, TLP: intel.TLPGreen, Enabled: true}
	return ingestEach(ctx, st, src, obs, func(i int, o intel.Observable) intel.Report {
		seen := now.Add(-time.Duration(i%72) * time.Hour)
		return intel.Report{Observable: o, Confidence: 60 + i%40, TLP: intel.TLPGreen, FirstSeen: seen, LastSeen: seen, ThreatType: "c2"}
	})
}

// loadMore stores a second report, from another source, on each of obs.
func loadMore(ctx context.Context, st store.Store, obs []intel.Observable, now time.Time) error {
	src := intel.Source{Name: "bench-2", Kind: "import", Reliability: intel.ReliabilityA, Confidence: 90, TLP: intel.TLPClear, Enabled: true}
	return ingestEach(ctx, st, src, obs, func(_ int, o intel.Observable) intel.Report {
		return intel.Report{Observable: o, Confidence: 90, TLP: intel.TLPClear, FirstSeen: now, LastSeen: now, ThreatType: "c2"}
	})
}

// ingestEach stores report(i, obs[i]) for each observable, from source src.
func ingestEach(ctx context.Context, st store.Store, src intel.Source, obs []intel.Observable, report func(int, intel.Observable) intel.Report) error {
	if _, err := st.PutSource(ctx, src); err != nil {
		return err
	}
	in, err := st.NewIngester(ctx, store.IngestOptions{Source: src.Name})
	if err != nil {
		return err
	}
	for i, o := range obs {
		if err := in.Add(ctx, report(i, o)); err != nil {
			in.Abort()
			return err
		}
	}
	_, err = in.Close(ctx)
	return err
}

// sortAndWrite is the baseline: sort the values and write them one a line into a file.
func sortAndWrite(obs []intel.Observable, path string) (time.Duration, error) {
	vals := make([]string, len(obs))
	for i, o := range obs {
		vals[i] = o.Value
	}
	return timed(func() error {
		slices.Sort(vals)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<16)
		for _, v := range vals {
			w.WriteString(v)
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}
