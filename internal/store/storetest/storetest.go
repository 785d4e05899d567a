// Package storetest is the conformance suite of [store.Store]: every implementation runs [Run] from
// its own tests and must pass it unchanged.
//
// Times in the suite are whole seconds in UTC, so implementations storing microseconds (PostgreSQL)
// or nanoseconds compare equal.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// t0 is the base time of the suite.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 plus h hours.
func at(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

// Run runs the conformance suite. open must return a new, empty store for each call and close it
// when the test ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Sources", testSources},
		{"SourceRuns", testSourceRuns},
		{"SourceState", testSourceState},
		{"SourceHealth", testSourceHealth},
		{"IngestCounts", testIngestCounts},
		{"IngestMergeWithinIngest", testIngestMergeWithin},
		{"IngestMergeWithStored", testIngestMergeWithStored},
		{"IngestTwoSources", testIngestTwoSources},
		{"IngestWarninglists", testIngestWarninglists},
		{"IngestBatches", testIngestBatches},
		{"IngestInvalidReports", testIngestInvalid},
		{"IngestUnknownSource", testIngestUnknownSource},
		{"IngestAbort", testIngestAbort},
		{"IngestAtomic", testIngestAtomic},
		{"IngestClosed", testIngestClosed},
		{"IngestUncommonValues", testIngestUncommonValues},
		{"IngestLarge", testIngestLarge},
		{"Indicators", testIndicators},
		{"ScanIndicators", testScanIndicators},
		{"Entities", testEntities},
		{"MergeEntityAttributes", testMergeEntityAttributes},
		{"EntityFilter", testEntityFilter},
		{"Relationships", testRelationships},
		{"Sightings", testSightings},
		{"Assets", testAssets},
		{"Findings", testFindings},
		{"Audit", testAudit},
		{"APIKeys", testAPIKeys},
		{"Stats", testStats},
		{"Concurrency", testConcurrency},
		{"IndicatorsByID", testIndicatorsByID},
		{"FindingFields", testFindingFields},
		{"FindingFilter", testFindingFilter},
		{"UpdateFinding", testUpdateFinding},
		{"Allowlist", testAllowlist},
		{"Verdicts", testVerdicts},
		{"SightingVerdict", testSightingVerdict},
		{"SightingsOf", testSightingsOf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
	t.Run("STIX", func(t *testing.T) { testSTIX(t, open) })
}

// Helpers.

func ipv4(v string) intel.Observable { return intel.Observable{Type: intel.IPv4, Value: v} }

func domain(v string) intel.Observable { return intel.Observable{Type: intel.Domain, Value: v} }

func putSource(t *testing.T, s store.Store, name string) intel.Source {
	t.Helper()
	src, err := s.PutSource(t.Context(), intel.Source{Name: name, Kind: "list", Reliability: intel.ReliabilityB,
		Confidence: 60, TLP: intel.TLPGreen, Enabled: true})
	if err != nil {
		t.Fatalf("PutSource(%s): %v", name, err)
	}
	return src
}

// ingest runs one ingest of rs from source and returns its stats.
func ingest(t *testing.T, s store.Store, opts store.IngestOptions, rs ...intel.Report) store.IngestStats {
	t.Helper()
	ctx := t.Context()
	in, err := s.NewIngester(ctx, opts)
	if err != nil {
		t.Fatalf("NewIngester(%s): %v", opts.Source, err)
	}
	for _, r := range rs {
		if err := in.Add(ctx, r); err != nil {
			t.Fatalf("Add(%s): %v", r.Observable, err)
		}
	}
	st, err := in.Close(ctx)
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	return st
}

func report(o intel.Observable, first, last int, tags ...string) intel.Report {
	return intel.Report{Observable: o, Confidence: 50, TLP: intel.TLPGreen, FirstSeen: at(first),
		LastSeen: at(last), Tags: tags, ThreatType: "c2"}
}

// indicator returns the indicator of o, failing when there is none.
func indicator(t *testing.T, s store.Store, o intel.Observable) intel.Indicator {
	t.Helper()
	ins, err := s.Indicators(t.Context(), []intel.Observable{o})
	if err != nil {
		t.Fatalf("Indicators(%s): %v", o, err)
	}
	if len(ins) != 1 {
		t.Fatalf("Indicators(%s) = %d indicators, want 1", o, len(ins))
	}
	return ins[0]
}

// reportOf returns the report of source in in.
func reportOf(t *testing.T, in intel.Indicator, source string) intel.Report {
	t.Helper()
	for _, r := range in.Reports {
		if r.Source == source {
			return r
		}
	}
	t.Fatalf("indicator %s has no report from %s (reports %+v)", in.Observable, source, in.Reports)
	return intel.Report{}
}

// checkReport compares the stored report got with want (Source and Observable included).
func checkReport(t *testing.T, got, want intel.Report) {
	t.Helper()
	var diffs []string
	if got.Observable != want.Observable {
		diffs = append(diffs, fmt.Sprintf("observable %s, want %s", got.Observable, want.Observable))
	}
	if got.Source != want.Source {
		diffs = append(diffs, fmt.Sprintf("source %q, want %q", got.Source, want.Source))
	}
	if got.Confidence != want.Confidence {
		diffs = append(diffs, fmt.Sprintf("confidence %d, want %d", got.Confidence, want.Confidence))
	}
	if got.TLP != want.TLP {
		diffs = append(diffs, fmt.Sprintf("TLP %s, want %s", got.TLP, want.TLP))
	}
	for _, tt := range []struct {
		name      string
		got, want time.Time
	}{{"first seen", got.FirstSeen, want.FirstSeen}, {"last seen", got.LastSeen, want.LastSeen},
		{"valid until", got.ValidUntil, want.ValidUntil}} {
		if !tt.got.Equal(tt.want) {
			diffs = append(diffs, fmt.Sprintf("%s %v, want %v", tt.name, tt.got, tt.want))
		}
	}
	if !slices.Equal(got.Tags, want.Tags) {
		diffs = append(diffs, fmt.Sprintf("tags %q, want %q", got.Tags, want.Tags))
	}
	if got.ThreatType != want.ThreatType || got.Malware != want.Malware {
		diffs = append(diffs, fmt.Sprintf("threat %q/%q, want %q/%q", got.ThreatType, got.Malware,
			want.ThreatType, want.Malware))
	}
	if len(diffs) > 0 {
		t.Errorf("report on %s from %s: %s", want.Observable, want.Source, strings.Join(diffs, "; "))
	}
}

func checkStats(t *testing.T, got, want store.IngestStats) {
	t.Helper()
	if got != want {
		t.Errorf("ingest stats = %+v, want %+v", got, want)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// Sources.

func testSources(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, err := s.PutSource(ctx, intel.Source{Name: "zeta", Kind: "list", URL: "https://example.org/list.txt",
		Reliability: intel.ReliabilityB, Confidence: 70, TLP: intel.TLPAmber, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.CreatedAt.IsZero() || a.UpdatedAt.IsZero() {
		t.Errorf("PutSource = %+v, want ID and times set", a)
	}
	if a.Kind != "list" || a.URL != "https://example.org/list.txt" || a.Reliability != intel.ReliabilityB ||
		a.Confidence != 70 || a.TLP != intel.TLPAmber || !a.Enabled {
		t.Errorf("PutSource = %+v, fields not kept", a)
	}
	putSource(t, s, "alpha")

	// Upsert by name keeps the ID and CreatedAt.
	b, err := s.PutSource(ctx, intel.Source{Name: "zeta", Kind: "misp", Reliability: intel.ReliabilityD,
		Confidence: 30, TLP: intel.TLPRed, Enabled: false})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != a.ID {
		t.Errorf("upsert changed the ID: %d, want %d", b.ID, a.ID)
	}
	sameTime(t, "CreatedAt after upsert", b.CreatedAt, a.CreatedAt)
	if b.UpdatedAt.Before(a.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v < %v", b.UpdatedAt, a.UpdatedAt)
	}
	got, err := s.Source(ctx, "zeta")
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != "misp" || got.Reliability != intel.ReliabilityD || got.Confidence != 30 ||
		got.TLP != intel.TLPRed || got.Enabled || got.URL != "" {
		t.Errorf("Source after upsert = %+v", got)
	}
	_, err = s.Source(ctx, "missing")
	wantErr(t, "Source(missing)", err, store.ErrNotFound)

	list, err := s.ListSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if !slices.Equal(names, []string{"alpha", "zeta"}) {
		t.Errorf("ListSources names = %q, want [alpha zeta]", names)
	}
	if _, err := s.PutSource(ctx, intel.Source{}); err == nil {
		t.Error("PutSource with an empty name succeeded")
	}
}

// run returns a run at hour h with the given record count and error.
func run(h, records int, runErr string) intel.SourceRun {
	return intel.SourceRun{At: at(h), Err: runErr, Stats: intel.RunStats{Duration: 1500 * time.Millisecond,
		FetchedBytes: int64(100 * records), Records: records, New: records / 2, Updated: records / 4,
		Rejected: 1, Entities: 2, Relationships: 3}}
}

// recordRun records r for source name, failing on error.
func recordRun(t *testing.T, s store.Store, name string, r intel.SourceRun) intel.Source {
	t.Helper()
	if err := s.RecordSourceRun(t.Context(), name, r); err != nil {
		t.Fatalf("RecordSourceRun(%s): %v", name, err)
	}
	src, err := s.Source(t.Context(), name)
	if err != nil {
		t.Fatalf("Source(%s): %v", name, err)
	}
	return src
}

// sourceState returns the saved state of source name, failing on error.
func sourceState(t *testing.T, s store.Store, name string) []byte {
	t.Helper()
	st, err := s.SourceState(t.Context(), name)
	if err != nil {
		t.Fatalf("SourceState(%s): %v", name, err)
	}
	return st
}

func testSourceRuns(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	ok := run(1, 1000, "")
	ok.State = []byte(`{"etag":"v1"}`)
	src := recordRun(t, s, "feed", ok)
	sameTime(t, "LastRun", src.LastRun, at(1))
	sameTime(t, "LastSuccess", src.LastSuccess, at(1))
	if src.LastError != "" || src.GoodRecords != 1000 || src.LastStats != ok.Stats {
		t.Errorf("Source after a good run = %+v, want GoodRecords 1000, LastStats %+v", src, ok.Stats)
	}

	// A failure records LastRun, LastStats and LastError, and keeps the rest of the last good run.
	bad := run(2, 10, "fetching list: 503")
	bad.State = []byte("ignored")
	src = recordRun(t, s, "feed", bad)
	sameTime(t, "LastRun after failure", src.LastRun, at(2))
	sameTime(t, "LastSuccess after failure", src.LastSuccess, at(1))
	if src.LastError != "fetching list: 503" || src.GoodRecords != 1000 || src.LastStats != bad.Stats {
		t.Errorf("Source after a failed run = %+v, want LastError set, GoodRecords 1000, LastStats %+v", src, bad.Stats)
	}
	if st := sourceState(t, s, "feed"); string(st) != `{"etag":"v1"}` {
		t.Errorf("SourceState after failure = %q, want the good run's", st)
	}

	// Not modified: a success that keeps GoodRecords; a nil State keeps the saved one.
	nm := intel.SourceRun{At: at(3), Stats: intel.RunStats{Duration: time.Second, NotModified: true}}
	src = recordRun(t, s, "feed", nm)
	sameTime(t, "LastSuccess after 304", src.LastSuccess, at(3))
	if src.LastError != "" || src.GoodRecords != 1000 || src.LastStats != nm.Stats {
		t.Errorf("Source after a not-modified run = %+v, want LastError cleared, GoodRecords 1000", src)
	}
	if st := sourceState(t, s, "feed"); string(st) != `{"etag":"v1"}` {
		t.Errorf("SourceState after a run without state = %q, want the saved one", st)
	}

	// A full good run without state sets GoodRecords (shrinking too) and keeps the state; with state
	// it replaces it.
	src = recordRun(t, s, "feed", run(4, 10, ""))
	if src.GoodRecords != 10 {
		t.Errorf("GoodRecords = %d, want 10", src.GoodRecords)
	}
	if st := sourceState(t, s, "feed"); string(st) != `{"etag":"v1"}` {
		t.Errorf("SourceState after a run without state = %q, want the saved one", st)
	}
	next := run(5, 0, "")
	next.State = []byte{0, 1, 2, 0xff}
	src = recordRun(t, s, "feed", next)
	if src.GoodRecords != 0 {
		t.Errorf("GoodRecords after an empty good run = %d, want 0", src.GoodRecords)
	}
	if st := sourceState(t, s, "feed"); !slices.Equal(st, next.State) {
		t.Errorf("SourceState = %q, want %q", st, next.State)
	}

	// A later PutSource keeps the health fields and the state; ListSources returns them too.
	if _, err := s.PutSource(ctx, intel.Source{Name: "feed", Kind: "list", Enabled: true, GoodRecords: 7,
		LastError: "x", LastStats: intel.RunStats{Records: 7}}); err != nil {
		t.Fatal(err)
	}
	src, _ = s.Source(ctx, "feed")
	sameTime(t, "LastRun after PutSource", src.LastRun, at(5))
	if src.LastError != "" || src.GoodRecords != 0 || src.LastStats != next.Stats {
		t.Errorf("Source after PutSource = %+v, want run health kept", src)
	}
	if st := sourceState(t, s, "feed"); !slices.Equal(st, next.State) {
		t.Errorf("SourceState after PutSource = %q, want %q", st, next.State)
	}
	list, err := s.ListSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].LastStats != next.Stats || list[0].GoodRecords != 0 || !list[0].LastRun.Equal(at(5)) {
		t.Errorf("ListSources = %+v", list)
	}

	err = s.RecordSourceRun(ctx, "missing", run(1, 1, ""))
	wantErr(t, "RecordSourceRun(missing)", err, store.ErrNotFound)
	err = s.RecordSourceRun(ctx, "missing", run(1, 1, "boom"))
	wantErr(t, "RecordSourceRun(missing, failed)", err, store.ErrNotFound)
}

func testSourceState(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	if st := sourceState(t, s, "feed"); st != nil {
		t.Errorf("SourceState of a new source = %q, want nil", st)
	}
	// A failed run never saves its state; a good run without state saves none.
	bad := run(1, 5, "parse error")
	bad.State = []byte("cursor-1")
	recordRun(t, s, "feed", bad)
	recordRun(t, s, "feed", run(2, 5, ""))
	if st := sourceState(t, s, "feed"); st != nil {
		t.Errorf("SourceState = %q, want nil", st)
	}
	good := run(3, 5, "")
	good.State = []byte("cursor-2")
	recordRun(t, s, "feed", good)
	if st := sourceState(t, s, "feed"); string(st) != "cursor-2" {
		t.Errorf("SourceState = %q, want cursor-2", st)
	}
	// The state belongs to its source.
	putSource(t, s, "other")
	if st := sourceState(t, s, "other"); st != nil {
		t.Errorf("SourceState(other) = %q, want nil", st)
	}
	_, err := s.SourceState(ctx, "missing")
	wantErr(t, "SourceState(missing)", err, store.ErrNotFound)
}

func testSourceHealth(t *testing.T, s store.Store) {
	putSource(t, s, "feed")
	health := func(want string) {
		t.Helper()
		src, err := s.Source(t.Context(), "feed")
		if err != nil {
			t.Fatal(err)
		}
		if got := src.Health(); got != want {
			t.Errorf("Health = %q, want %q (source %+v)", got, want, src)
		}
		list, err := s.ListSources(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Health() != want {
			t.Errorf("ListSources health = %+v, want %q", list, want)
		}
	}
	health(intel.HealthNever)
	recordRun(t, s, "feed", run(1, 3, ""))
	health(intel.HealthOK)
	recordRun(t, s, "feed", run(2, 0, "rejected: the list shrank from 3 to 0 records"))
	health(intel.HealthDegraded)
	recordRun(t, s, "feed", intel.SourceRun{At: at(3), Stats: intel.RunStats{NotModified: true}})
	health(intel.HealthOK)
}

// Ingest.

func testIngestCounts(t *testing.T, s store.Store) {
	putSource(t, s, "feed")
	a, b, c, d := ipv4("192.0.2.1"), ipv4("192.0.2.2"), domain("evil.example"), ipv4("192.0.2.4")
	st := ingest(t, s, store.IngestOptions{Source: "feed"},
		report(a, 0, 1), report(b, 0, 1), report(a, 0, 2), report(c, 0, 1), report(a, 1, 1))
	checkStats(t, st, store.IngestStats{Reports: 5, Duplicates: 2, New: 3, Indicators: 3})

	st = ingest(t, s, store.IngestOptions{Source: "feed"}, report(a, 0, 3), report(c, 0, 3), report(d, 0, 3))
	checkStats(t, st, store.IngestStats{Reports: 3, New: 1, Updated: 2, Indicators: 1})

	// Another source: new reports, no new indicators.
	putSource(t, s, "other")
	st = ingest(t, s, store.IngestOptions{Source: "other"}, report(a, 0, 3), report(b, 0, 3))
	checkStats(t, st, store.IngestStats{Reports: 2, New: 2})

	// Re-ingesting identical reports still counts them as updated.
	st = ingest(t, s, store.IngestOptions{Source: "other"}, report(a, 0, 3), report(b, 0, 3))
	checkStats(t, st, store.IngestStats{Reports: 2, Updated: 2})

	// An empty ingest.
	st = ingest(t, s, store.IngestOptions{Source: "other"})
	checkStats(t, st, store.IngestStats{})
}

func testIngestMergeWithin(t *testing.T, s store.Store) {
	putSource(t, s, "feed")
	o := ipv4("198.51.100.7")
	p := domain("tie.example")
	st := ingest(t, s, store.IngestOptions{Source: "feed"},
		intel.Report{Observable: o, Confidence: 40, TLP: intel.TLPAmber, FirstSeen: at(5), LastSeen: at(9),
			Tags: []string{"botnet", "emotet"}, ThreatType: "c2", Malware: "emotet", ValidUntil: at(100)},
		// Earlier LastSeen: only widens times and adds tags.
		intel.Report{Observable: o, Confidence: 90, TLP: intel.TLPRed, FirstSeen: at(2), LastSeen: at(3),
			Tags: []string{"scanner", "botnet"}, ThreatType: "scanner"},
		// Tie on LastSeen: the later report wins.
		intel.Report{Observable: p, Confidence: 10, TLP: intel.TLPGreen, FirstSeen: at(1), LastSeen: at(4),
			ThreatType: "phishing"},
		intel.Report{Observable: p, Confidence: 20, TLP: intel.TLPClear, FirstSeen: at(2), LastSeen: at(4),
			ThreatType: "malware-download", Tags: []string{"kit"}},
	)
	checkStats(t, st, store.IngestStats{Reports: 4, Duplicates: 2, New: 2, Indicators: 2})
	in := indicator(t, s, o)
	if len(in.Reports) != 1 {
		t.Fatalf("%d reports, want 1", len(in.Reports))
	}
	checkReport(t, in.Reports[0], intel.Report{Observable: o, Source: "feed", Confidence: 40, TLP: intel.TLPAmber,
		FirstSeen: at(2), LastSeen: at(9), ValidUntil: at(100), Tags: []string{"botnet", "emotet", "scanner"},
		ThreatType: "c2", Malware: "emotet"})
	sameTime(t, "indicator FirstSeen", in.FirstSeen, at(2))
	sameTime(t, "indicator LastSeen", in.LastSeen, at(9))
	checkReport(t, reportOf(t, indicator(t, s, p), "feed"), intel.Report{Observable: p, Source: "feed",
		Confidence: 20, TLP: intel.TLPClear, FirstSeen: at(1), LastSeen: at(4), Tags: []string{"kit"},
		ThreatType: "malware-download"})
}

func testIngestMergeWithStored(t *testing.T, s store.Store) {
	putSource(t, s, "feed")
	o := ipv4("203.0.113.9")
	q := ipv4("203.0.113.10")
	ingest(t, s, store.IngestOptions{Source: "feed"},
		intel.Report{Observable: o, Confidence: 40, TLP: intel.TLPAmber, FirstSeen: at(5), LastSeen: at(10),
			Tags: []string{"a", "b"}, ThreatType: "c2", Malware: "qakbot"},
		intel.Report{Observable: q, Confidence: 40, TLP: intel.TLPAmber, FirstSeen: at(5), LastSeen: at(10),
			Tags: []string{"a"}, ThreatType: "c2"})
	st := ingest(t, s, store.IngestOptions{Source: "feed"},
		// Newer: its fields win; times widen; tags union with the stored ones first.
		intel.Report{Observable: o, Confidence: 80, TLP: intel.TLPGreen, FirstSeen: at(7), LastSeen: at(20),
			Tags: []string{"c", "a"}, ThreatType: "scanner"},
		// Older than stored: the stored fields stay, times and tags still merge.
		intel.Report{Observable: q, Confidence: 99, TLP: intel.TLPRed, FirstSeen: at(1), LastSeen: at(2),
			Tags: []string{"z"}, ThreatType: "phishing"})
	checkStats(t, st, store.IngestStats{Reports: 2, Updated: 2})
	in := indicator(t, s, o)
	checkReport(t, reportOf(t, in, "feed"), intel.Report{Observable: o, Source: "feed", Confidence: 80,
		TLP: intel.TLPGreen, FirstSeen: at(5), LastSeen: at(20), Tags: []string{"a", "b", "c"}, ThreatType: "scanner"})
	sameTime(t, "indicator FirstSeen", in.FirstSeen, at(5))
	sameTime(t, "indicator LastSeen", in.LastSeen, at(20))
	inq := indicator(t, s, q)
	checkReport(t, reportOf(t, inq, "feed"), intel.Report{Observable: q, Source: "feed", Confidence: 40,
		TLP: intel.TLPAmber, FirstSeen: at(1), LastSeen: at(10), Tags: []string{"a", "z"}, ThreatType: "c2"})
	sameTime(t, "indicator FirstSeen", inq.FirstSeen, at(1))
	sameTime(t, "indicator LastSeen", inq.LastSeen, at(10))
}

func testIngestTwoSources(t *testing.T, s store.Store) {
	putSource(t, s, "alpha")
	putSource(t, s, "beta")
	o := domain("c2.example")
	ingest(t, s, store.IngestOptions{Source: "alpha"}, intel.Report{Observable: o, Confidence: 30,
		TLP: intel.TLPAmber, FirstSeen: at(3), LastSeen: at(4), Tags: []string{"x"}, Source: "ignored"})
	st := ingest(t, s, store.IngestOptions{Source: "beta"}, intel.Report{Observable: o, Confidence: 90,
		TLP: intel.TLPClear, FirstSeen: at(1), LastSeen: at(2), Tags: []string{"y"}})
	checkStats(t, st, store.IngestStats{Reports: 1, New: 1})
	in := indicator(t, s, o)
	if len(in.Reports) != 2 {
		t.Fatalf("%d reports, want 2", len(in.Reports))
	}
	// Reports are ordered by first seen: beta (1h) before alpha (3h).
	if in.Reports[0].Source != "beta" || in.Reports[1].Source != "alpha" {
		t.Errorf("report order = %s, %s; want beta, alpha", in.Reports[0].Source, in.Reports[1].Source)
	}
	checkReport(t, reportOf(t, in, "alpha"), intel.Report{Observable: o, Source: "alpha", Confidence: 30,
		TLP: intel.TLPAmber, FirstSeen: at(3), LastSeen: at(4), Tags: []string{"x"}})
	checkReport(t, reportOf(t, in, "beta"), intel.Report{Observable: o, Source: "beta", Confidence: 90,
		TLP: intel.TLPClear, FirstSeen: at(1), LastSeen: at(2), Tags: []string{"y"}})
	sameTime(t, "indicator FirstSeen", in.FirstSeen, at(1))
	sameTime(t, "indicator LastSeen", in.LastSeen, at(4))
	if in.TLP() != intel.TLPClear {
		t.Errorf("indicator TLP = %s, want clear", in.TLP())
	}
	// A later ingest of alpha leaves beta's report alone.
	ingest(t, s, store.IngestOptions{Source: "alpha"}, intel.Report{Observable: o, Confidence: 35,
		TLP: intel.TLPRed, FirstSeen: at(3), LastSeen: at(6)})
	in = indicator(t, s, o)
	checkReport(t, reportOf(t, in, "beta"), intel.Report{Observable: o, Source: "beta", Confidence: 90,
		TLP: intel.TLPClear, FirstSeen: at(1), LastSeen: at(2), Tags: []string{"y"}})
	if r := reportOf(t, in, "alpha"); r.TLP != intel.TLPRed || r.Confidence != 35 {
		t.Errorf("alpha report = %+v, want TLP red, confidence 35", r)
	}
	sameTime(t, "indicator LastSeen", in.LastSeen, at(6))
}

func testIngestWarninglists(t *testing.T, s store.Store) {
	putSource(t, s, "feed")
	dns, other := ipv4("8.8.8.8"), ipv4("192.0.2.77")
	classify := func(o intel.Observable) []string {
		if o == dns {
			return []string{"public-dns-v4", "google"}
		}
		return nil
	}
	ingest(t, s, store.IngestOptions{Source: "feed", Classify: classify}, report(dns, 0, 1), report(other, 0, 1))
	if got := indicator(t, s, dns).Warninglists; !slices.Equal(got, []string{"public-dns-v4", "google"}) {
		t.Errorf("warninglists = %q", got)
	}
	if got := indicator(t, s, other).Warninglists; len(got) != 0 {
		t.Errorf("warninglists of an unlisted value = %q, want none", got)
	}
	// Without Classify the flags stay.
	ingest(t, s, store.IngestOptions{Source: "feed"}, report(dns, 0, 2))
	if got := indicator(t, s, dns).Warninglists; !slices.Equal(got, []string{"public-dns-v4", "google"}) {
		t.Errorf("warninglists after an ingest without Classify = %q", got)
	}
	// With Classify they are replaced.
	ingest(t, s, store.IngestOptions{Source: "feed", Classify: func(o intel.Observable) []string {
		if o == other {
			return []string{"rfc5737"}
		}
		return nil
	}}, report(dns, 0, 2), report(other, 0, 2))
	if got := indicator(t, s, dns).Warninglists; len(got) != 0 {
		t.Errorf("warninglists after reclassification = %q, want none", got)
	}
	if got := indicator(t, s, other).Warninglists; !slices.Equal(got, []string{"rfc5737"}) {
		t.Errorf("warninglists after reclassification = %q, want [rfc5737]", got)
	}
}

func testIngestBatches(t *testing.T, s store.Store) {
	putSource(t, s, "feed")
	var rs []intel.Report
	for i := range 10 {
		rs = append(rs, report(ipv4(fmt.Sprintf("10.0.0.%d", i)), 0, i, fmt.Sprintf("t%d", i)))
	}
	st := ingest(t, s, store.IngestOptions{Source: "feed", BatchSize: 3}, rs...)
	checkStats(t, st, store.IngestStats{Reports: 10, New: 10, Indicators: 10})
	var obs []intel.Observable
	for _, r := range rs {
		obs = append(obs, r.Observable)
	}
	ins, err := s.Indicators(t.Context(), obs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 10 {
		t.Fatalf("%d indicators, want 10", len(ins))
	}
	for i, in := range ins {
		checkReport(t, reportOf(t, in, "feed"), intel.Report{Observable: rs[i].Observable, Source: "feed",
			Confidence: 50, TLP: intel.TLPGreen, FirstSeen: at(0), LastSeen: at(i), Tags: []string{fmt.Sprintf("t%d", i)},
			ThreatType: "c2"})
	}

	// A repeat inside a batch is a duplicate; one across batches is an update.
	a, b, c, d := ipv4("10.1.0.1"), ipv4("10.1.0.2"), ipv4("10.1.0.3"), ipv4("10.1.0.4")
	st = ingest(t, s, store.IngestOptions{Source: "feed", BatchSize: 3},
		report(a, 1, 1, "x"), report(a, 0, 1, "y"), report(b, 1, 1), report(c, 1, 1), // batch 1: a, b, c
		report(d, 1, 1), report(a, 1, 5, "z")) // batch 2: d, a
	checkStats(t, st, store.IngestStats{Reports: 6, Duplicates: 1, New: 4, Updated: 1, Indicators: 4})
	checkReport(t, reportOf(t, indicator(t, s, a), "feed"), intel.Report{Observable: a, Source: "feed",
		Confidence: 50, TLP: intel.TLPGreen, FirstSeen: at(0), LastSeen: at(5), Tags: []string{"x", "y", "z"},
		ThreatType: "c2"})
}

func testIngestInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	in, err := s.NewIngester(ctx, store.IngestOptions{Source: "feed"})
	if err != nil {
		t.Fatal(err)
	}
	bad := []intel.Report{
		{Observable: intel.Observable{Type: "bogus", Value: "x"}},
		{Observable: intel.Observable{Type: intel.IPv4}},
		{Observable: ipv4("192.0.2.1"), Confidence: 101},
		{Observable: ipv4("192.0.2.1"), Confidence: -1},
		{Observable: ipv4("192.0.2.1"), TLP: intel.TLPRed + 1},
	}
	for _, r := range bad {
		if err := in.Add(ctx, r); err == nil {
			t.Errorf("Add(%+v) succeeded, want an error", r)
		}
	}
	if err := in.Add(ctx, report(ipv4("192.0.2.1"), 0, 1)); err != nil {
		t.Fatalf("Add after invalid reports: %v", err)
	}
	st, err := in.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkStats(t, st, store.IngestStats{Reports: 1, New: 1, Indicators: 1})
}

func testIngestUnknownSource(t *testing.T, s store.Store) {
	_, err := s.NewIngester(t.Context(), store.IngestOptions{Source: "nope"})
	wantErr(t, "NewIngester(unknown source)", err, store.ErrNotFound)
}

func testIngestAbort(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	in, err := s.NewIngester(ctx, store.IngestOptions{Source: "feed", BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	var obs []intel.Observable
	for i := range 8 {
		o := ipv4(fmt.Sprintf("10.9.0.%d", i))
		obs = append(obs, o)
		if err := in.Add(ctx, report(o, 0, 1)); err != nil {
			t.Fatal(err)
		}
	}
	in.Abort() // batches 1 and 2 are committed, the last two reports are dropped
	in.Abort() // idempotent
	if err := in.Add(ctx, report(ipv4("10.9.1.1"), 0, 1)); err == nil {
		t.Error("Add after Abort succeeded")
	}
	ins, err := s.Indicators(ctx, obs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 6 {
		t.Fatalf("%d indicators after Abort, want the 6 of the committed batches", len(ins))
	}
	for i, in := range ins {
		if in.Observable != obs[i] || len(in.Reports) != 1 {
			t.Errorf("indicator %d = %s with %d reports, want %s with 1", i, in.Observable, len(in.Reports), obs[i])
		}
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Indicators != 6 || st.Reports != 6 {
		t.Errorf("Stats after Abort = %+v, want 6 indicators and 6 reports", st)
	}
}

// testIngestAtomic checks that an atomic ingest leaves nothing when aborted, even after several full
// batches, and everything when closed; the store stays usable in both cases.
func testIngestAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	var obs []intel.Observable
	for i := range 8 {
		obs = append(obs, ipv4(fmt.Sprintf("10.19.0.%d", i)))
	}
	ingest := func(abort bool) {
		t.Helper()
		in, err := s.NewIngester(ctx, store.IngestOptions{Source: "feed", BatchSize: 3, Atomic: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			if err := in.Add(ctx, report(o, 0, 1)); err != nil {
				t.Fatal(err)
			}
		}
		if abort {
			in.Abort()
			return
		}
		st, err := in.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.New != 8 || st.Indicators != 8 {
			t.Errorf("Close = %+v, want 8 new indicators", st)
		}
	}
	ingest(true)
	ins, err := s.Indicators(ctx, obs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 0 {
		t.Fatalf("%d indicators after an aborted atomic ingest, want none", len(ins))
	}
	if _, err := s.PutSource(ctx, intel.Source{Name: "other", Reliability: intel.ReliabilityB}); err != nil {
		t.Fatalf("store not writable after an aborted atomic ingest: %v", err)
	}
	ingest(false)
	if ins, err = s.Indicators(ctx, obs); err != nil {
		t.Fatal(err)
	}
	if len(ins) != 8 {
		t.Fatalf("%d indicators after a closed atomic ingest, want 8", len(ins))
	}
}

func testIngestClosed(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	in, err := s.NewIngester(ctx, store.IngestOptions{Source: "feed"})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Add(ctx, report(ipv4("192.0.2.1"), 0, 1)); err != nil {
		t.Fatal(err)
	}
	st, err := in.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Add(ctx, report(ipv4("192.0.2.2"), 0, 1)); err == nil {
		t.Error("Add after Close succeeded")
	}
	st2, err := in.Close(ctx)
	if err != nil || st2 != st {
		t.Errorf("second Close = %+v, %v; want %+v, nil", st2, err, st)
	}
	in.Abort() // harmless after Close
	if _, err := s.Indicators(ctx, []intel.Observable{ipv4("192.0.2.1")}); err != nil {
		t.Fatal(err)
	}
}

// testIngestUncommonValues stores values that need escaping or are otherwise unusual, and a report
// with every field set, including zero times.
func testIngestUncommonValues(t *testing.T, s store.Store) {
	putSource(t, s, "feed")
	values := []intel.Observable{
		{Type: intel.URL, Value: `http://evil.example/a"b\c?d=<e>&f='g'`},
		{Type: intel.URL, Value: "http://xn--80ak6aa92e.example/путь\t\u007f"},
		{Type: intel.Account, Value: "user\x01name"},
		{Type: intel.Account, Value: "日本語"},
		{Type: intel.Email, Value: "a@b.example"},
	}
	var rs []intel.Report
	for i, o := range values {
		rs = append(rs, intel.Report{Observable: o, Confidence: i * 10, TLP: intel.TLP(i % 5), FirstSeen: at(i),
			LastSeen: at(i + 1), ValidUntil: at(1000), Tags: []string{`q"uote`, "back\\slash", "ü"},
			ThreatType: "phishing", Malware: "kit"})
	}
	// Zero times are kept as zero.
	zero := intel.Report{Observable: domain("zero.example"), Confidence: 5}
	rs = append(rs, zero)
	st := ingest(t, s, store.IngestOptions{Source: "feed"}, rs...)
	checkStats(t, st, store.IngestStats{Reports: 6, New: 6, Indicators: 6})
	for _, r := range rs {
		want := r
		want.Source = "feed"
		checkReport(t, reportOf(t, indicator(t, s, r.Observable), "feed"), want)
	}
	in := indicator(t, s, zero.Observable)
	if !in.FirstSeen.IsZero() || !in.LastSeen.IsZero() {
		t.Errorf("indicator with zero times = %v/%v, want zero", in.FirstSeen, in.LastSeen)
	}
	// Re-ingest: every value is found again, not duplicated.
	st = ingest(t, s, store.IngestOptions{Source: "feed"}, rs...)
	checkStats(t, st, store.IngestStats{Reports: 6, Updated: 6})

	// Tags that need escaping merge like any other.
	var more []intel.Report
	for _, r := range rs[:len(values)] {
		r.Tags = []string{"ü", "nouveau\\", `"`}
		more = append(more, r)
	}
	ingest(t, s, store.IngestOptions{Source: "feed"}, more...)
	for _, r := range more {
		want := r
		want.Source = "feed"
		want.Tags = []string{`q"uote`, "back\\slash", "ü", "nouveau\\", `"`}
		checkReport(t, reportOf(t, indicator(t, s, r.Observable), "feed"), want)
	}
}

// testIngestLarge ingests enough uniform reports to exercise bulk paths, then updates half of them
// and adds new ones in the same batch.
func testIngestLarge(t *testing.T, s store.Store) {
	const n = 3000
	putSource(t, s, "feed")
	var rs []intel.Report
	for i := range n {
		o := ipv4(fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff))
		if i%3 == 0 {
			o = domain(fmt.Sprintf("host%d.example", i))
		}
		rs = append(rs, report(o, 0, 1, "bulk"))
	}
	st := ingest(t, s, store.IngestOptions{Source: "feed", BatchSize: 1000}, rs...)
	checkStats(t, st, store.IngestStats{Reports: n, New: n, Indicators: n})

	// Half again with a later LastSeen (and another tag), plus as many new observables.
	var again []intel.Report
	for i := 0; i < n; i += 2 {
		r := rs[i]
		r.LastSeen, r.Tags = at(10), []string{"bulk", "again"}
		again = append(again, r)
		again = append(again, report(domain(fmt.Sprintf("new%d.example", i)), 2, 3))
	}
	st = ingest(t, s, store.IngestOptions{Source: "feed", BatchSize: 1000}, again...)
	checkStats(t, st, store.IngestStats{Reports: n, New: n / 2, Updated: n / 2, Indicators: n / 2})

	var obs []intel.Observable
	for _, r := range again {
		obs = append(obs, r.Observable)
	}
	ins, err := s.Indicators(t.Context(), obs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != len(again) {
		t.Fatalf("%d indicators, want %d", len(ins), len(again))
	}
	for i, in := range ins {
		want := again[i]
		want.Source = "feed"
		if i%2 == 0 {
			want.FirstSeen = at(0)
		}
		checkReport(t, reportOf(t, in, "feed"), want)
		sameTime(t, "indicator LastSeen", in.LastSeen, want.LastSeen)
	}
	stats, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Indicators != n+n/2 || stats.Reports != n+n/2 {
		t.Errorf("Stats = %+v, want %d indicators and reports", stats, n+n/2)
	}
}

// Reading indicators.

func testIndicators(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	var rs []intel.Report
	var obs []intel.Observable
	for i := range 1200 { // more than one lookup chunk
		o := ipv4(fmt.Sprintf("172.16.%d.%d", i/256, i%256))
		if i%4 == 1 {
			o = domain(fmt.Sprintf("d%04d.example", i))
		}
		obs = append(obs, o)
		rs = append(rs, report(o, 0, 1))
	}
	ingest(t, s, store.IngestOptions{Source: "feed"}, rs...)

	ins, err := s.Indicators(ctx, nil)
	if err != nil || len(ins) != 0 {
		t.Errorf("Indicators(nil) = %d, %v; want none", len(ins), err)
	}
	// Reverse order with missing and repeated values mixed in.
	var query, want []intel.Observable
	for i := len(obs) - 1; i >= 0; i-- {
		query = append(query, obs[i])
		want = append(want, obs[i])
		if i%100 == 0 {
			query = append(query, ipv4(fmt.Sprintf("192.0.2.%d", i%256)), domain("missing.example"),
				intel.Observable{Type: "bogus", Value: "x"}, intel.Observable{Type: intel.IPv4})
		}
	}
	query = append(query, obs[7])
	want = append(want, obs[7])
	ins, err = s.Indicators(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != len(want) {
		t.Fatalf("%d indicators, want %d", len(ins), len(want))
	}
	for i, in := range ins {
		if in.Observable != want[i] {
			t.Fatalf("indicator %d = %s, want %s", i, in.Observable, want[i])
		}
		if in.ID == 0 || len(in.Reports) != 1 || in.Reports[0].Observable != want[i] {
			t.Fatalf("indicator %d = %+v", i, in)
		}
	}
	if ins[0].ID == ins[1].ID {
		t.Error("two indicators share an ID")
	}
}

func testScanIndicators(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "a")
	putSource(t, s, "b")
	const n = 2500 // more than one page
	var rs []intel.Report
	for i := range n {
		rs = append(rs, report(ipv4(fmt.Sprintf("10.20.%d.%d", i/256, i%256)), 0, 1))
	}
	ingest(t, s, store.IngestOptions{Source: "a", BatchSize: 700}, rs...)
	ingest(t, s, store.IngestOptions{Source: "b"}, rs[:10]...)

	var last int64
	seen := map[intel.Observable]bool{}
	reports := 0
	err := s.ScanIndicators(ctx, func(in intel.Indicator) error {
		if in.ID <= last {
			return fmt.Errorf("ID %d after %d", in.ID, last)
		}
		last = in.ID
		if seen[in.Observable] {
			return fmt.Errorf("%s seen twice", in.Observable)
		}
		seen[in.Observable] = true
		reports += len(in.Reports)
		for _, r := range in.Reports {
			if r.Observable != in.Observable {
				return fmt.Errorf("report on %s inside indicator %s", r.Observable, in.Observable)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n || reports != n+10 {
		t.Errorf("scan saw %d indicators and %d reports, want %d and %d", len(seen), reports, n, n+10)
	}

	// Early stop returns fn's error.
	stop := errors.New("stop")
	calls := 0
	err = s.ScanIndicators(ctx, func(intel.Indicator) error {
		calls++
		if calls == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 5 {
		t.Errorf("ScanIndicators with early stop = %v after %d calls, want stop after 5", err, calls)
	}

	// fn may use the store.
	err = s.ScanIndicators(ctx, func(in intel.Indicator) error {
		if in.ID%500 == 0 {
			_, err := s.Indicators(ctx, []intel.Observable{in.Observable})
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("ScanIndicators calling the store: %v", err)
	}

	// A full scan again counts every indicator once.
	count := 0
	if err := s.ScanIndicators(ctx, func(intel.Indicator) error { count++; return nil }); err != nil || count != n {
		t.Errorf("second scan = %d indicators, %v; want %d", count, err, n)
	}
}

// Entities and relationships.

func testEntities(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := intel.Entity{ID: "malware--0b6d", Type: intel.Malware, Name: "Emotet", Aliases: []string{"Geodo", "Heodo"},
		Description: "Banking trojan turned loader.", Source: "mitre", TLP: intel.TLPClear, Created: at(1),
		Modified: at(2), Attributes: map[string]any{"mitre_id": "S0367", "score": 0.5, "platforms": []any{"windows"}}}
	a := intel.Entity{ID: "intrusion-set--1", Type: intel.IntrusionSet, Name: "TA542"}
	if err := s.PutEntities(ctx, []intel.Entity{e, a}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Entity(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != e.Name || got.Type != e.Type || !slices.Equal(got.Aliases, e.Aliases) ||
		got.Description != e.Description || got.Source != e.Source || got.TLP != e.TLP {
		t.Errorf("Entity = %+v, want %+v", got, e)
	}
	sameTime(t, "Created", got.Created, e.Created)
	sameTime(t, "Modified", got.Modified, e.Modified)
	gotAttrs, _ := json.Marshal(got.Attributes)
	wantAttrs, _ := json.Marshal(e.Attributes)
	if string(gotAttrs) != string(wantAttrs) {
		t.Errorf("Attributes = %s, want %s", gotAttrs, wantAttrs)
	}
	// Upsert replaces every field.
	e2 := intel.Entity{ID: e.ID, Type: intel.Malware, Name: "Emotet", Aliases: []string{"Mealybug"}}
	if err := s.PutEntities(ctx, []intel.Entity{e2}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Entity(ctx, e.ID)
	if !slices.Equal(got.Aliases, []string{"Mealybug"}) || got.Description != "" || got.Attributes != nil {
		t.Errorf("Entity after upsert = %+v", got)
	}
	_, err = s.Entity(ctx, "malware--missing")
	wantErr(t, "Entity(missing)", err, store.ErrNotFound)
	if err := s.PutEntities(ctx, nil); err != nil {
		t.Errorf("PutEntities(nil) = %v", err)
	}
	if err := s.PutEntities(ctx, []intel.Entity{{Name: "no id"}}); err == nil {
		t.Error("PutEntities without an ID succeeded")
	}
}

func testMergeEntityAttributes(t *testing.T, s store.Store) {
	ctx := t.Context()
	e := intel.Entity{ID: "vulnerability--1", Type: intel.Vulnerability, Name: "CVE-2024-3400",
		Aliases: []string{"PAN-OS GlobalProtect"}, Description: "Command injection.", Source: "cisa-kev",
		TLP: intel.TLPClear, Created: at(1), Modified: at(2),
		Attributes: map[string]any{"kev": true, "vendor": "Palo Alto Networks", "epss": 0.5}}
	bare := intel.Entity{ID: "vulnerability--2", Type: intel.Vulnerability, Name: "CVE-2021-44228"}
	if err := s.PutEntities(ctx, []intel.Entity{e, bare}); err != nil {
		t.Fatal(err)
	}
	if err := s.MergeEntityAttributes(ctx, e.ID, map[string]any{"epss": 0.97, "epss_percentile": 0.999,
		"epss_date": "2025-03-01"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Entity(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"kev": true, "vendor": "Palo Alto Networks", "epss": 0.97, "epss_percentile": 0.999,
		"epss_date": "2025-03-01"}
	gotAttrs, _ := json.Marshal(got.Attributes)
	wantAttrs, _ := json.Marshal(want)
	if string(gotAttrs) != string(wantAttrs) {
		t.Errorf("Attributes after merge = %s, want %s", gotAttrs, wantAttrs)
	}
	if got.Name != e.Name || got.Type != e.Type || !slices.Equal(got.Aliases, e.Aliases) ||
		got.Description != e.Description || got.Source != e.Source || got.TLP != e.TLP {
		t.Errorf("Entity after merge = %+v, want the other fields of %+v", got, e)
	}
	sameTime(t, "Created after merge", got.Created, e.Created)
	sameTime(t, "Modified after merge", got.Modified, e.Modified)
	// Names and aliases still find it.
	if es, err := s.ListEntities(ctx, store.EntityFilter{Name: "pan-os globalprotect"}); err != nil || len(es) != 1 {
		t.Errorf("ListEntities(alias) after merge = %+v, %v", es, err)
	}

	// An entity without attributes gets them; an empty merge changes nothing.
	if err := s.MergeEntityAttributes(ctx, bare.ID, map[string]any{"epss": 0.1}); err != nil {
		t.Fatal(err)
	}
	if err := s.MergeEntityAttributes(ctx, bare.ID, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Entity(ctx, bare.ID)
	if len(got.Attributes) != 1 || got.Attributes["epss"] != 0.1 || got.Name != bare.Name {
		t.Errorf("Entity after merge = %+v", got)
	}

	err = s.MergeEntityAttributes(ctx, "vulnerability--missing", map[string]any{"epss": 0.1})
	wantErr(t, "MergeEntityAttributes(missing)", err, store.ErrNotFound)
	err = s.MergeEntityAttributes(ctx, "vulnerability--missing", nil)
	wantErr(t, "MergeEntityAttributes(missing, nothing)", err, store.ErrNotFound)
	if _, err := s.Entity(ctx, "vulnerability--missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MergeEntityAttributes created an entity: %v", err)
	}

	// Merges of different keys from concurrent callers are all kept.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			errs <- s.MergeEntityAttributes(ctx, bare.ID, map[string]any{fmt.Sprintf("k%d", i): i})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ = s.Entity(ctx, bare.ID)
	if len(got.Attributes) != 9 {
		t.Errorf("Attributes after concurrent merges = %v, want 9 keys", got.Attributes)
	}
}

func testEntityFilter(t *testing.T, s store.Store) {
	ctx := t.Context()
	es := []intel.Entity{
		{ID: "threat-actor--3", Type: intel.ThreatActor, Name: "Wizard Spider", Aliases: []string{"UNC1878", "Grim Spider"}},
		{ID: "malware--2", Type: intel.Malware, Name: "TrickBot", Aliases: []string{"TrickLoader"}},
		{ID: "malware--1", Type: intel.Malware, Name: "BazarLoader", Aliases: []string{"Team9", "KEGTAP"}},
		{ID: "tool--1", Type: intel.Tool, Name: "Cobalt Strike"},
		{ID: "threat-actor--4", Type: intel.ThreatActor, Name: "Сандворм", Aliases: []string{"ELECTRUM"}},
	}
	if err := s.PutEntities(ctx, es); err != nil {
		t.Fatal(err)
	}
	ids := func(f store.EntityFilter) []string {
		t.Helper()
		list, err := s.ListEntities(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.EntityFilter
		want []string
	}{
		{"all by name", store.EntityFilter{}, []string{"malware--1", "tool--1", "malware--2", "threat-actor--3", "threat-actor--4"}},
		{"type", store.EntityFilter{Type: intel.Malware}, []string{"malware--1", "malware--2"}},
		{"name, other case", store.EntityFilter{Name: "trickbot"}, []string{"malware--2"}},
		{"alias, other case", store.EntityFilter{Name: "unc1878"}, []string{"threat-actor--3"}},
		{"non-ASCII name, upper case", store.EntityFilter{Name: "САНДВОРМ"}, []string{"threat-actor--4"}},
		{"alias and type", store.EntityFilter{Name: "Team9", Type: intel.Malware}, []string{"malware--1"}},
		{"alias, wrong type", store.EntityFilter{Name: "Team9", Type: intel.Tool}, nil},
		{"no match", store.EntityFilter{Name: "Spider"}, nil},
		{"limit", store.EntityFilter{Limit: 2}, []string{"malware--1", "tool--1"}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ListEntities(%+v) = %q, want %q", tc.name, tc.f, got, tc.want)
		}
	}
	// Replacing an entity drops its old aliases from the name lookup.
	if err := s.PutEntities(ctx, []intel.Entity{{ID: "malware--2", Type: intel.Malware, Name: "TrickBot"}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(store.EntityFilter{Name: "trickloader"}); len(got) != 0 {
		t.Errorf("old alias still matches: %q", got)
	}
}

func testRelationships(t *testing.T, s store.Store) {
	ctx := t.Context()
	rs := []intel.Relationship{
		{ID: "relationship--b", Type: "uses", SourceRef: "intrusion-set--1", TargetRef: "malware--1", Source: "mitre",
			TLP: intel.TLPClear, Created: at(1), Modified: at(2)},
		{ID: "relationship--a", Type: "indicates", SourceRef: "ipv4:192.0.2.1", TargetRef: "malware--1"},
		{ID: "relationship--c", Type: "uses", SourceRef: "malware--1", TargetRef: "attack-pattern--t1059"},
		{ID: "relationship--d", Type: "uses", SourceRef: "intrusion-set--1", TargetRef: "tool--1"},
	}
	if err := s.PutRelationships(ctx, rs); err != nil {
		t.Fatal(err)
	}
	ids := func(ref string) []string {
		t.Helper()
		list, err := s.Relationships(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range list {
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids("malware--1"); !slices.Equal(got, []string{"relationship--a", "relationship--b", "relationship--c"}) {
		t.Errorf("Relationships(malware--1) = %q", got)
	}
	if got := ids("intrusion-set--1"); !slices.Equal(got, []string{"relationship--b", "relationship--d"}) {
		t.Errorf("Relationships(intrusion-set--1) = %q", got)
	}
	if got := ids("ipv4:192.0.2.1"); !slices.Equal(got, []string{"relationship--a"}) {
		t.Errorf("Relationships(ipv4:192.0.2.1) = %q", got)
	}
	if got := ids("nothing"); len(got) != 0 {
		t.Errorf("Relationships(nothing) = %q", got)
	}
	from, err := s.RelationshipsFrom(ctx, []string{"intrusion-set--1", "ipv4:192.0.2.1", "malware--x"})
	if err != nil {
		t.Fatal(err)
	}
	var fromIDs []string
	for _, r := range from {
		fromIDs = append(fromIDs, r.ID)
	}
	if !slices.Equal(fromIDs, []string{"relationship--a", "relationship--b", "relationship--d"}) {
		t.Errorf("RelationshipsFrom = %q, want the three whose source is named", fromIDs)
	}
	if from, err := s.RelationshipsFrom(ctx, nil); err != nil || len(from) != 0 {
		t.Errorf("RelationshipsFrom(nil) = %v, %v", from, err)
	}
	list, _ := s.Relationships(ctx, "tool--1")
	if len(list) != 1 || list[0].Type != "uses" || list[0].SourceRef != "intrusion-set--1" {
		t.Errorf("Relationships(tool--1) = %+v", list)
	}
	// Upsert by ID moves an edge.
	moved := rs[0]
	moved.TargetRef = "tool--1"
	if err := s.PutRelationships(ctx, []intel.Relationship{moved}); err != nil {
		t.Fatal(err)
	}
	if got := ids("tool--1"); !slices.Equal(got, []string{"relationship--b", "relationship--d"}) {
		t.Errorf("Relationships(tool--1) after upsert = %q", got)
	}
	list, _ = s.Relationships(ctx, "tool--1")
	if r := list[0]; r.Source != "mitre" || r.TLP != intel.TLPClear || !r.Created.Equal(at(1)) || !r.Modified.Equal(at(2)) {
		t.Errorf("relationship fields = %+v", r)
	}
	if err := s.PutRelationships(ctx, []intel.Relationship{{Type: "uses"}}); err == nil {
		t.Error("PutRelationships without an ID succeeded")
	}
}

// Sightings.

func testSightings(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := ipv4("192.0.2.50")
	got, err := s.AddSighting(ctx, intel.Sighting{Observable: o, Where: "fw-1", FirstSeen: at(5), LastSeen: at(6),
		Count: 3, Note: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == 0 || got.Count != 3 || got.Note != "first" {
		t.Errorf("AddSighting = %+v", got)
	}
	got, err = s.AddSighting(ctx, intel.Sighting{Observable: o, Where: "fw-1", FirstSeen: at(2), LastSeen: at(4),
		Count: 2, Verdict: "tp"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 5 || got.Verdict != "tp" || got.Note != "first" {
		t.Errorf("merged sighting = %+v, want count 5, verdict tp, note kept", got)
	}
	sameTime(t, "FirstSeen", got.FirstSeen, at(2))
	sameTime(t, "LastSeen", got.LastSeen, at(6))
	// No verdict keeps the stored one; Count 0 counts as 1; LastSeen alone sets both ends.
	got, err = s.AddSighting(ctx, intel.Sighting{Observable: o, Where: "fw-1", LastSeen: at(9)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 6 || got.Verdict != "tp" {
		t.Errorf("sighting = %+v, want count 6 and verdict tp", got)
	}
	sameTime(t, "FirstSeen", got.FirstSeen, at(2))
	sameTime(t, "LastSeen", got.LastSeen, at(9))
	other, err := s.AddSighting(ctx, intel.Sighting{Observable: o, Where: "proxy", FirstSeen: at(1), LastSeen: at(1),
		Count: 1, Verdict: "fp"})
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == got.ID {
		t.Error("sightings at two places share an ID")
	}
	if _, err := s.AddSighting(ctx, intel.Sighting{Observable: domain("x.example"), Where: "dns"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Sightings(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Where != "fw-1" || list[1].Where != "proxy" {
		t.Errorf("Sightings = %+v, want fw-1 then proxy", list)
	}
	if list, _ := s.Sightings(ctx, ipv4("192.0.2.51")); len(list) != 0 {
		t.Errorf("Sightings of an unseen value = %+v", list)
	}
	if _, err := s.AddSighting(ctx, intel.Sighting{Observable: o, Where: "fw-1", Verdict: "maybe"}); err == nil {
		t.Error("AddSighting with an invalid verdict succeeded")
	}
}

// Assets.

func testAssets(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, err := s.PutAsset(ctx, intel.Asset{Kind: "network", Name: "Finance LAN", Values: []string{"10.1.0.0/16"},
		Criticality: intel.CriticalityHigh, DataClass: "confidential", Service: "payroll", Owner: "fin-it",
		Exposure: "internal", Attributes: map[string]string{"site": "HQ"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.CreatedAt.IsZero() || a.UpdatedAt.IsZero() {
		t.Errorf("PutAsset = %+v, want ID and times", a)
	}
	b, err := s.PutAsset(ctx, intel.Asset{Kind: "domain", Name: "corp", Values: []string{"corp.example"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Asset(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Finance LAN" || !slices.Equal(got.Values, a.Values) || got.Criticality != intel.CriticalityHigh ||
		got.DataClass != "confidential" || got.Service != "payroll" || got.Owner != "fin-it" ||
		got.Exposure != "internal" || got.Attributes["site"] != "HQ" {
		t.Errorf("Asset = %+v", got)
	}
	a.Values = append(a.Values, "10.2.0.0/16")
	a.Criticality = intel.CriticalityExtreme
	a.CreatedAt = time.Time{}
	up, err := s.PutAsset(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != a.ID || len(up.Values) != 2 || up.Criticality != intel.CriticalityExtreme {
		t.Errorf("updated asset = %+v", up)
	}
	sameTime(t, "CreatedAt after update", up.CreatedAt, got.CreatedAt)
	_, err = s.PutAsset(ctx, intel.Asset{ID: 99999, Kind: "host", Name: "ghost"})
	wantErr(t, "PutAsset(missing ID)", err, store.ErrNotFound)

	all, err := s.ListAssets(ctx, "")
	if err != nil || len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
		t.Errorf("ListAssets() = %+v, %v", all, err)
	}
	nets, err := s.ListAssets(ctx, "network")
	if err != nil || len(nets) != 1 || nets[0].ID != a.ID {
		t.Errorf("ListAssets(network) = %+v, %v", nets, err)
	}
	if err := s.DeleteAsset(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Asset(ctx, a.ID)
	wantErr(t, "Asset(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteAsset(deleted)", s.DeleteAsset(ctx, a.ID), store.ErrNotFound)
}

// Findings.

func testFindings(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := ipv4("192.0.2.9")
	f1, err := s.PutFinding(ctx, intel.Finding{Kind: "indicator-match", Title: "C2 contact", Observable: &o, AssetID: 7,
		Priority: 85, TLP: intel.TLPAmber, Evidence: []string{"emotet c2", "3 sources"},
		Recommendations: []string{"isolate host"}, CreatedAt: at(1)})
	if err != nil {
		t.Fatal(err)
	}
	if f1.ID == 0 || f1.Status != intel.FindingNew || f1.UpdatedAt.IsZero() {
		t.Errorf("PutFinding = %+v, want ID, status new, UpdatedAt", f1)
	}
	sameTime(t, "CreatedAt", f1.CreatedAt, at(1))
	f2, err := s.PutFinding(ctx, intel.Finding{Kind: "lookalike-domain", Title: "corp-login.example",
		Status: intel.FindingTriaged, Priority: 40, CreatedAt: at(2)})
	if err != nil {
		t.Fatal(err)
	}
	f3, err := s.PutFinding(ctx, intel.Finding{Kind: "leaked-credential", Title: "j.doe", CreatedAt: at(3)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Finding(ctx, f1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Observable == nil || *got.Observable != o || got.AssetID != 7 || got.Priority != 85 || got.TLP != intel.TLPAmber ||
		!slices.Equal(got.Evidence, f1.Evidence) || !slices.Equal(got.Recommendations, f1.Recommendations) {
		t.Errorf("Finding = %+v", got)
	}
	if g2, _ := s.Finding(ctx, f2.ID); g2.Observable != nil {
		t.Errorf("finding without observable came back with %v", g2.Observable)
	}
	got.Status, got.Assignee = intel.FindingInProgress, "alice"
	up, err := s.PutFinding(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if up.Status != intel.FindingInProgress || up.Assignee != "alice" {
		t.Errorf("updated finding = %+v", up)
	}
	sameTime(t, "CreatedAt after update", up.CreatedAt, at(1))
	_, err = s.PutFinding(ctx, intel.Finding{ID: 99999, Title: "ghost"})
	wantErr(t, "PutFinding(missing ID)", err, store.ErrNotFound)
	_, err = s.Finding(ctx, 99999)
	wantErr(t, "Finding(missing)", err, store.ErrNotFound)

	ids := func(f store.FindingFilter) []int64 {
		t.Helper()
		list, err := s.ListFindings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	if got := ids(store.FindingFilter{}); !slices.Equal(got, []int64{f3.ID, f2.ID, f1.ID}) {
		t.Errorf("ListFindings() = %v, want newest first", got)
	}
	if got := ids(store.FindingFilter{Status: intel.FindingNew}); !slices.Equal(got, []int64{f3.ID}) {
		t.Errorf("ListFindings(new) = %v", got)
	}
	if got := ids(store.FindingFilter{Limit: 2}); !slices.Equal(got, []int64{f3.ID, f2.ID}) {
		t.Errorf("ListFindings(limit 2) = %v", got)
	}
	if got := ids(store.FindingFilter{Status: intel.FindingResolved}); len(got) != 0 {
		t.Errorf("ListFindings(resolved) = %v", got)
	}
}

// Audit log.

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, a := range []string{"key.create", "import", "finding.update", "key.revoke"} {
		if err := s.AppendAudit(ctx, intel.AuditEntry{Time: at(i), Actor: "admin", Action: a, Object: fmt.Sprint(i),
			Detail: "d"}); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now().Add(-time.Second)
	if err := s.AppendAudit(ctx, intel.AuditEntry{Actor: "system", Action: "startup"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.AuditLog(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range all {
		actions = append(actions, e.Action)
	}
	if !slices.Equal(actions, []string{"startup", "key.revoke", "finding.update", "import", "key.create"}) {
		t.Errorf("AuditLog actions = %q, want newest first", actions)
	}
	if all[0].Time.Before(before) || all[0].ID == 0 {
		t.Errorf("entry with zero time = %+v, want now", all[0])
	}
	if e := all[1]; e.Actor != "admin" || e.Object != "3" || e.Detail != "d" || !e.Time.Equal(at(3)) {
		t.Errorf("entry = %+v", e)
	}
	since, err := s.AuditLog(ctx, store.AuditFilter{Since: at(2)})
	if err != nil || len(since) != 3 || since[2].Action != "finding.update" {
		t.Errorf("AuditLog(since 2h) = %+v, %v; want 3 entries down to finding.update", since, err)
	}
	lim, err := s.AuditLog(ctx, store.AuditFilter{Since: at(1), Limit: 2})
	if err != nil || len(lim) != 2 || lim[0].Action != "startup" || lim[1].Action != "key.revoke" {
		t.Errorf("AuditLog(since 1h, limit 2) = %+v, %v", lim, err)
	}
}

// API keys.

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	h1, h2 := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	k, err := s.CreateAPIKey(ctx, intel.APIKey{Name: "siem", Role: intel.RoleReader, Prefix: "omen_ab",
		Hash: h1, Clearance: intel.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == 0 || k.CreatedAt.IsZero() || k.Revoked || !k.LastUsed.IsZero() {
		t.Errorf("CreateAPIKey = %+v", k)
	}
	_, err = s.CreateAPIKey(ctx, intel.APIKey{Name: "siem", Role: intel.RoleAdmin, Hash: h2})
	wantErr(t, "CreateAPIKey(duplicate name)", err, store.ErrConflict)
	_, err = s.CreateAPIKey(ctx, intel.APIKey{Name: "other", Role: intel.RoleAdmin, Hash: h1})
	wantErr(t, "CreateAPIKey(duplicate hash)", err, store.ErrConflict)
	k2, err := s.CreateAPIKey(ctx, intel.APIKey{Name: "soar", Role: intel.RoleAnalyst, Hash: h2})
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.APIKeyByHash(ctx, h1)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != k.ID || got.Name != "siem" || got.Role != intel.RoleReader || got.Prefix != "omen_ab" ||
		got.Clearance != intel.TLPAmber {
		t.Errorf("APIKeyByHash = %+v", got)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(b)), "hash") || strings.Contains(string(b), "0123456789abcdef") {
		t.Errorf("API key JSON exposes the hash: %s", b)
	}
	_, err = s.APIKeyByHash(ctx, []byte("unknown"))
	wantErr(t, "APIKeyByHash(unknown)", err, store.ErrNotFound)

	if err := s.TouchAPIKey(ctx, k.ID, at(5)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAPIKey(ctx, k.ID, at(4)); err != nil { // older: ignored
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.APIKeyByHash(ctx, h1)
	if !got.Revoked {
		t.Error("revoked key not marked revoked")
	}
	sameTime(t, "LastUsed", got.LastUsed, at(5))
	wantErr(t, "RevokeAPIKey(missing)", s.RevokeAPIKey(ctx, 99999), store.ErrNotFound)
	wantErr(t, "TouchAPIKey(missing)", s.TouchAPIKey(ctx, 99999, at(1)), store.ErrNotFound)

	list, err := s.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != k.ID || list[1].ID != k2.ID || !list[0].Revoked || list[1].Revoked {
		t.Errorf("ListAPIKeys = %+v", list)
	}
	for _, x := range list {
		if len(x.Hash) != 0 {
			t.Errorf("ListAPIKeys returns the hash of %s", x.Name)
		}
	}
	if _, err := s.CreateAPIKey(ctx, intel.APIKey{Name: "nohash", Role: intel.RoleReader}); err == nil {
		t.Error("CreateAPIKey without a hash succeeded")
	}
}

// Stats.

func testStats(t *testing.T, s store.Store) {
	ctx := t.Context()
	st, err := s.Stats(ctx)
	if err != nil || st != (store.Stats{}) {
		t.Errorf("Stats of an empty store = %+v, %v", st, err)
	}
	putSource(t, s, "a")
	putSource(t, s, "b")
	ingest(t, s, store.IngestOptions{Source: "a"}, report(ipv4("192.0.2.1"), 0, 1), report(ipv4("192.0.2.2"), 0, 1))
	ingest(t, s, store.IngestOptions{Source: "b"}, report(ipv4("192.0.2.1"), 0, 1))
	if err := s.PutEntities(ctx, []intel.Entity{{ID: "malware--1", Type: intel.Malware, Name: "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRelationships(ctx, []intel.Relationship{{ID: "relationship--1", Type: "indicates",
		SourceRef: "ipv4:192.0.2.1", TargetRef: "malware--1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddSighting(ctx, intel.Sighting{Observable: ipv4("192.0.2.1"), Where: "fw"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAsset(ctx, intel.Asset{Kind: "host", Name: "h"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.PutFinding(ctx, intel.Finding{Kind: "indicator-match", Title: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	st, err = s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Stats{Sources: 2, Indicators: 2, Reports: 3, Entities: 1, Relationships: 1, Sightings: 1, Assets: 1, Findings: 2}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

// Concurrency: readers and small writers run while an ingest commits batch after batch. Run the
// suite with -race.
func testConcurrency(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	putSource(t, s, "feed")
	putSource(t, s, "other")
	const n = 1500
	obs := make([]intel.Observable, n)
	for i := range obs {
		obs[i] = ipv4(fmt.Sprintf("10.30.%d.%d", i/256, i%256))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	fail := func(err error) {
		select {
		case errs <- err:
		default:
		}
		cancel()
	}
	ingestDone := make(chan struct{})
	for _, src := range []string{"feed", "other"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := s.NewIngester(ctx, store.IngestOptions{Source: src, BatchSize: 100})
			if err != nil {
				fail(err)
				return
			}
			for _, o := range obs {
				if err := in.Add(ctx, report(o, 0, 1)); err != nil {
					fail(err)
					return
				}
			}
			if _, err := in.Close(ctx); err != nil {
				fail(err)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(ingestDone)
	}()
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; ; i++ {
				select {
				case <-ingestDone:
					return
				case <-ctx.Done():
					return
				default:
				}
				var err error
				switch (r + i) % 4 {
				case 0:
					var ins []intel.Indicator
					ins, err = s.Indicators(ctx, obs[i%n:min(i%n+33, n)])
					for _, in := range ins {
						if len(in.Reports) == 0 {
							err = fmt.Errorf("indicator %s without reports", in.Observable)
						}
					}
				case 1:
					_, err = s.Stats(ctx)
				case 2:
					err = s.AppendAudit(ctx, intel.AuditEntry{Actor: "reader", Action: "poll"})
				case 3:
					stop := errors.New("stop")
					k := 0
					err = s.ScanIndicators(ctx, func(intel.Indicator) error {
						if k++; k == 50 {
							return stop
						}
						return nil
					})
					if errors.Is(err, stop) {
						err = nil
					}
				}
				if err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	readers.Wait()
	<-ingestDone
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, err := s.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Indicators != n || st.Reports != 2*n {
		t.Errorf("Stats after concurrent ingests = %+v, want %d indicators and %d reports", st, n, 2*n)
	}
}
