package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
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

// plainLines is the stand-in for the plain-ip format while it is not registered: one value a line.
var plainLines = respond.Format{Name: "bench-plain", Types: []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR}, Aggregate: true,
	Write: func(w io.Writer, es []respond.Entry, _ respond.WriteOptions) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		for _, e := range es {
			bw.WriteString(e.Observable.Value)
			bw.WriteByte('\n')
		}
		return bw.Flush()
	}}

// memStore serves ScanIndicators from memory, to measure the pipeline without the store's reads.
type memStore struct {
	store.Store
	ins []intel.Indicator
}

func (m *memStore) ScanIndicators(ctx context.Context, fn func(intel.Indicator) error) error {
	for _, in := range m.ins {
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

// Export measures the regeneration of an n-entry IP blocklist: every indicator of the store read
// and selected, guarded (assets, the default warninglists, an allowlist), scored, ranked,
// aggregated and written by the plain-ip format into a file, beside sorting and writing the
// same n strings into a file, measured in the same run. A second figure runs the same pipeline
// over indicators already in memory: the share of the store's reads.
func Export(ctx context.Context, dir string, n int, logf func(string, ...any)) ([]Figure, error) {
	f, ok := respond.Lookup("plain-ip")
	if !ok {
		f = plainLines
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
	logf("regenerating the %s list from the store", f.Name)
	var written int
	regen, err := timed(func() error {
		es, rep, err := respond.Collect(ctx, st, g, model, sel, f, now)
		if err != nil {
			return err
		}
		written = rep.Written
		return respond.WriteFile(f, filepath.Join(dir, "list.txt"), es, respond.WriteOptions{Name: "omen", Generated: now})
	})
	if err != nil {
		return nil, err
	}
	if written < n*9/10 {
		return nil, fmt.Errorf("the export wrote %d of %d entries", written, n)
	}
	logf("the same pipeline over indicators in memory")
	mem := &memStore{Store: st, ins: make([]intel.Indicator, 0, n)}
	if err := st.ScanIndicators(ctx, func(in intel.Indicator) error { mem.ins = append(mem.ins, in); return nil }); err != nil {
		return nil, err
	}
	inMem, err := timed(func() error {
		es, _, err := respond.Collect(ctx, mem, g, model, sel, f, now)
		if err != nil {
			return err
		}
		return respond.WriteFile(f, filepath.Join(dir, "list-mem.txt"), es, respond.WriteOptions{Name: "omen", Generated: now})
	})
	if err != nil {
		return nil, err
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	baseName := fmt.Sprintf("ms to sort and write %d strings", n)
	return []Figure{
		{Name: fmt.Sprintf("regenerate %s (%d entries) from the store", f.Name, written), Value: ms(regen), Unit: "ms",
			Baseline: ms(base), BaseName: baseName, Ratio: float64(regen) / float64(base), Target: "≤ 2"},
		{Name: fmt.Sprintf("regenerate %s from indicators in memory", f.Name), Value: ms(inMem), Unit: "ms",
			Baseline: ms(base), BaseName: baseName, Ratio: float64(inMem) / float64(base), Target: "≤ 2"},
	}, nil
}

func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// loadReports stores one report per observable from a bench source.
func loadReports(ctx context.Context, st store.Store, obs []intel.Observable, now time.Time) error {
	if _, err := st.PutSource(ctx, intel.Source{Name: "bench", Kind: "import", Reliability: intel.ReliabilityB,
		Confidence: 80, TLP: intel.TLPGreen, Enabled: true}); err != nil {
		return err
	}
	in, err := st.NewIngester(ctx, store.IngestOptions{Source: "bench"})
	if err != nil {
		return err
	}
	for i, o := range obs {
		seen := now.Add(-time.Duration(i%72) * time.Hour)
		if err := in.Add(ctx, intel.Report{Observable: o, Confidence: 60 + i%40, TLP: intel.TLPGreen, FirstSeen: seen,
			LastSeen: seen, ThreatType: "c2"}); err != nil {
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
