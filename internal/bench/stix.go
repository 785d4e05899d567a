package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// writeSTIXBundle writes the observables as a STIX 2.1 bundle of one indicator each, shaped like a
// vendor feed: name, types, labels, confidence, validity and a TLP:GREEN marking.
func writeSTIXBundle(path string, obs []intel.Observable) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(`{"type":"bundle","id":"bundle--6f0a1c7e-0b8e-4e0f-9d5c-2a7f3e1b9c40","objects":[`)
	green := stix.TLPMarkingID(intel.TLPGreen)
	for i, o := range obs {
		p, ok := stix.PatternFor(o)
		if !ok {
			continue
		}
		if i > 0 {
			w.WriteByte(',')
		}
		pat, _ := json.Marshal(p)
		name, _ := json.Marshal(o.Value)
		fmt.Fprintf(w, `{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-%04x-4000-8000-%012x",`+
			`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":%s,`+
			`"indicator_types":["malicious-activity"],"labels":["bench"],"pattern":%s,"pattern_type":"stix",`+
			`"pattern_version":"2.1","valid_from":"2026-01-01T00:00:00Z","confidence":80,"object_marking_refs":[%q]}`,
			i, i>>32&0xffff, i, name, pat, green)
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// STIX measures the STIX import of a synthetic bundle of n indicators (streamed, verbatim objects
// stored, patterns parsed and reduced, one report per observable) into a fresh SQLite store, beside
// the plain-list import (the `omen import` path of [Import]) of the same observables into another
// fresh store, measured in the same run.
func STIX(ctx context.Context, dir string, n int, logf func(string, ...any)) ([]Figure, error) {
	obs := Synthetic(n, 3)
	listPath, bundlePath := filepath.Join(dir, "stix-baseline.txt"), filepath.Join(dir, "bundle.json")
	if err := writeList(listPath, obs); err != nil {
		return nil, err
	}
	if err := writeSTIXBundle(bundlePath, obs); err != nil {
		return nil, err
	}
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		return nil, err
	}
	logf("baseline: plain-list import of the same %d observables", n)
	listRate, err := listImportRate(ctx, filepath.Join(dir, "list.db"), listPath, n, lists)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	logf("STIX import of a %d-indicator bundle", n)
	rate, err := stixImportRate(ctx, filepath.Join(dir, "stix.db"), bundlePath, n, lists)
	if err != nil {
		return nil, err
	}
	return []Figure{{Name: "STIX import (sqlite)", Value: rate, Unit: "objects/s", Baseline: listRate,
		BaseName: "plain-list import indicators/s", Ratio: rate / listRate, Target: "≥ 0.25"}}, nil
}

// listImportRate imports the list at path into a fresh store at db and returns indicators/s.
func listImportRate(ctx context.Context, db, path string, n int, lists *match.WarninglistSet) (float64, error) {
	st, err := sqlite.Open(ctx, db, nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	im := &ingest.Importer{Store: st, Warninglists: lists}
	start := time.Now()
	sum, err := im.File(ctx, path, ingest.Options{Source: "bench", Reliability: intel.ReliabilityB, Confidence: 80,
		Parse: list.Options{Format: list.Text}}, nil)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	if sum.New != n {
		return 0, fmt.Errorf("the list import stored %d new of %d (rejected %d)", sum.New, n, sum.Rejected)
	}
	return float64(n) / took.Seconds(), nil
}

// stixImportRate imports the bundle at path into a fresh store at db and returns objects/s.
func stixImportRate(ctx context.Context, db, path string, n int, lists *match.WarninglistSet) (float64, error) {
	st, err := sqlite.Open(ctx, db, nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	start := time.Now()
	if _, err := st.PutSource(ctx, intel.Source{Name: "bench-stix", Kind: "import", Reliability: intel.ReliabilityB,
		Confidence: 80, TLP: intel.TLPGreen, Enabled: true}); err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	im := &stix.Importer{Store: st, Warninglists: lists}
	c, err := im.Bundle(ctx, f, stix.Options{Source: "bench-stix"})
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	if c.Stored != n || c.Observables != n || c.Rejected != 0 {
		return 0, fmt.Errorf("the STIX import stored %d objects and %d observables of %d (rejected %d: %v)",
			c.Stored, c.Observables, n, c.Rejected, c.Errors)
	}
	return float64(c.Objects) / took.Seconds(), nil
}
