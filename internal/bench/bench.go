// Package bench measures whole omen pipelines beside the baselines they are judged against, measured
// in the same run on the same machine (see DESIGN.md's performance table). `omen bench` prints them.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/collect/list"
	_ "github.com/omen-tip/omen/internal/collect/listfeed" // kind list
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// Figure is one measured figure beside its baseline.
type Figure struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline float64 `json:"baseline,omitempty"`
	BaseName string  `json:"baseline_name,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Target   string  `json:"target,omitempty"`
}

// Synthetic returns n distinct canonical observables, deterministic for a seed: 60% IPv4, 15% domains,
// 15% URLs, 10% SHA-256.
func Synthetic(n int, seed uint64) []intel.Observable {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seen := make(map[intel.Observable]struct{}, n)
	out := make([]intel.Observable, 0, n)
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	word := func(l int) string {
		b := make([]byte, l)
		for i := range b {
			b[i] = letters[r.IntN(26)]
		}
		return string(b)
	}
	tlds := []string{"com", "net", "org", "ru", "xyz", "top", "info", "io", "cn", "de"}
	for len(out) < n {
		var o intel.Observable
		switch k := r.IntN(100); {
		case k < 60:
			var b [4]byte
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			b[0] = byte(1 + r.IntN(223))
			o = intel.Observable{Type: intel.IPv4, Value: netip.AddrFrom4(b).String()}
		case k < 75:
			o = intel.Observable{Type: intel.Domain, Value: word(6+r.IntN(10)) + "." + tlds[r.IntN(len(tlds))]}
		case k < 90:
			o = intel.Observable{Type: intel.URL, Value: "http://" + word(5+r.IntN(8)) + "." + tlds[r.IntN(len(tlds))] + "/" + word(4+r.IntN(12)) + ".php"}
		default:
			const hex = "0123456789abcdef"
			b := make([]byte, 64)
			for i := range b {
				b[i] = hex[r.IntN(16)]
			}
			o = intel.Observable{Type: intel.SHA256, Value: string(b)}
		}
		if _, dup := seen[o]; dup {
			continue
		}
		seen[o] = struct{}{}
		out = append(out, o)
	}
	return out
}

// writeList writes the values one a line.
func writeList(path string, obs []intel.Observable) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, o := range obs {
		w.WriteString(o.Value)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// prepare writes n synthetic values (seed) as a text list at path and measures the baseline: the raw
// multi-row INSERT of the same rows into a plain table beside it, in rows/s.
func prepare(ctx context.Context, path string, n int, seed uint64, logf func(string, ...any)) ([]intel.Observable, float64, error) {
	obs := Synthetic(n, seed)
	if err := writeList(path, obs); err != nil {
		return nil, 0, err
	}
	logf("baseline: raw multi-row INSERT of %d rows", n)
	base, err := sqlite.RawInsertBaseline(ctx, path+".baseline.db", obs)
	if err != nil {
		return nil, 0, fmt.Errorf("baseline: %w", err)
	}
	return obs, float64(n) / base.Seconds(), nil
}

// Feed measures one run of a `list` feed of n synthetic indicators end to end: fetched over HTTP
// from a local server, checked, parsed, normalised, warninglist-checked, stored and scored
// (the run's lookups score on read), beside the raw multi-row INSERT of the same rows.
func Feed(ctx context.Context, dir string, n int, logf func(string, ...any)) ([]Figure, error) {
	path := filepath.Join(dir, "feed.txt")
	_, baseRate, err := prepare(ctx, path, n, 2, logf)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
	}))
	defer srv.Close()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "feed.db"), nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		return nil, err
	}
	cl, err := fetch.New(fetch.Options{TempDir: dir, MaxBytes: 4 << 30})
	if err != nil {
		return nil, err
	}
	r := &collect.Runner{Store: st, Fetch: cl, Importer: &ingest.Importer{Store: st, Warninglists: lists}}
	src := config.Source{Name: "bench-feed", Kind: "list", URL: srv.URL + "/feed.txt", Interval: config.DefaultInterval,
		Reliability: 'B', Confidence: 80, Format: "text"}
	logf("list feed run of %d indicators", n)
	start := time.Now()
	run, err := r.Run(ctx, src)
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	if run.Stats.New != n {
		return nil, fmt.Errorf("the feed run stored %d new of %d", run.Stats.New, n)
	}
	rate := float64(n) / took.Seconds()
	return []Figure{{Name: "list feed run (fetch, check, parse, store)", Value: rate, Unit: "indicators/s", Baseline: baseRate,
		BaseName: "raw multi-row INSERT rows/s", Ratio: rate / baseRate, Target: "≥ 0.25"}}, nil
}

// Import measures `omen import` of n synthetic indicators from a text list (parse, normalise,
// warninglist check, dedup, merge, commit) into a fresh SQLite store, beside the raw multi-row INSERT
// of the same rows into a plain table, and then lookup latency on the loaded store.
func Import(ctx context.Context, dir string, n int, logf func(string, ...any)) ([]Figure, error) {
	list1 := filepath.Join(dir, "indicators.txt")
	obs, baseRate, err := prepare(ctx, list1, n, 1, logf)
	if err != nil {
		return nil, err
	}

	st, err := sqlite.Open(ctx, filepath.Join(dir, "omen.db"), nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		return nil, err
	}
	im := &ingest.Importer{Store: st, Warninglists: lists}
	logf("omen import of %d indicators", n)
	start := time.Now()
	sum, err := im.File(ctx, list1, ingest.Options{Source: "bench", Reliability: intel.ReliabilityB, Confidence: 80,
		Parse: list.Options{Format: list.Text}}, nil)
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	if sum.New != n {
		return nil, fmt.Errorf("imported %d new of %d (rejected %d)", sum.New, n, sum.Rejected)
	}
	rate := float64(n) / took.Seconds()
	figs := []Figure{{Name: "import (sqlite)", Value: rate, Unit: "indicators/s", Baseline: baseRate,
		BaseName: "raw multi-row INSERT rows/s", Ratio: rate / baseRate, Target: "≥ 0.25"}}

	logf("re-import of the same %d indicators (all updates)", n)
	start = time.Now()
	if _, err := im.File(ctx, list1, ingest.Options{Source: "bench", Parse: list.Options{Format: list.Text}}, nil); err != nil {
		return nil, err
	}
	re := float64(n) / time.Since(start).Seconds()
	figs = append(figs, Figure{Name: "re-import (sqlite, all updates)", Value: re, Unit: "indicators/s", Baseline: baseRate,
		BaseName: "raw multi-row INSERT rows/s", Ratio: re / baseRate})

	logf("building the in-memory index (as serve does)")
	t0 := time.Now()
	k, err := kb.Open(ctx, st, kb.Options{Warninglists: lists})
	if err != nil {
		return nil, err
	}
	figs = append(figs, Figure{Name: "match index build (store scan)", Value: float64(n) / time.Since(t0).Seconds(), Unit: "indicators/s"})
	logf("lookups")
	svc := lookup.NewWithKB(k, risk.DefaultModel())
	r := rand.New(rand.NewPCG(7, 7))
	const single = 2000
	lat := make([]time.Duration, 0, single)
	for i := range single {
		v := obs[r.IntN(len(obs))].Value
		if i%2 == 1 {
			v = fmt.Sprintf("198.51.%d.%d", r.IntN(256), r.IntN(256)) // TEST-NET-2: never in the synthetic set
		}
		t0 := time.Now()
		if _, err := svc.Lookup(ctx, []string{v}, intel.TLPRed); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	figs = append(figs,
		Figure{Name: "lookup p50 (one value)", Value: float64(lat[len(lat)/2].Microseconds()), Unit: "µs"},
		Figure{Name: "lookup p99 (one value)", Value: float64(lat[len(lat)*99/100].Microseconds()), Unit: "µs"})
	bulk := make([]string, 1000)
	for i := range bulk {
		bulk[i] = obs[r.IntN(len(obs))].Value
	}
	t0 = time.Now()
	if _, err := svc.Lookup(ctx, bulk, intel.TLPRed); err != nil {
		return nil, err
	}
	figs = append(figs, Figure{Name: "bulk lookup of 1,000 values", Value: float64(time.Since(t0).Microseconds()) / 1000, Unit: "ms", Target: "< 10 ms (issue 5's engine)"})
	return figs, nil
}
