package respond_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
)

// sameAsCollect checks that the index gives what Collect gives over the store.
func sameAsCollect(t *testing.T, x *respond.Index, st store.Store, g *respond.Guard, sel respond.Selection, f respond.Format, now time.Time) {
	t.Helper()
	want, wrep, err := respond.Collect(context.Background(), st, g, risk.DefaultModel(), sel, f, now)
	if err != nil {
		t.Fatal(err)
	}
	got, grep, err := x.Collect(context.Background(), sel.Since, sel.MinScore, sel.Max, now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: entries differ:\nindex   %v\ncollect %v", f.Name, got, want)
	}
	if !reflect.DeepEqual(grep, wrep) {
		t.Errorf("%s: reports differ:\nindex   %+v\ncollect %+v", f.Name, grep, wrep)
	}
	x.Release(got) // the next Collect writes over these: it must leave nothing of them behind
}

func TestIndexSameAsCollect(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st, g, _ := poisonedStore(t, now)
	sel := respond.Selection{TLP: intel.TLPAmber}
	for _, f := range append(respond.Formats(), testFormats...) {
		t.Run(f.Name, func(t *testing.T) {
			x := respond.NewIndex(f, sel, risk.DefaultModel())
			if err := x.Build(context.Background(), st, g); err != nil {
				t.Fatal(err)
			}
			sameAsCollect(t, x, st, g, sel, f, now)
			capped := sel
			capped.MinScore, capped.Max = 30, 3
			sameAsCollect(t, x, st, g, capped, f, now)
		})
	}
	sel2 := selectionStore(t, now)
	all := respond.Format{Name: "all"}
	for _, s := range []respond.Selection{{TLP: intel.TLPAmber}, {TLP: intel.TLPClear}, {TLP: intel.TLPAmber, Sources: []string{"b-feed"}},
		{TLP: intel.TLPAmber, Tags: []string{"phishing"}}, {TLP: intel.TLPAmber, Since: now.Add(-90 * time.Minute)}} {
		x := respond.NewIndex(all, s, risk.DefaultModel())
		if err := x.Build(context.Background(), sel2, nil); err != nil {
			t.Fatal(err)
		}
		sameAsCollect(t, x, sel2, nil, s, all, now)
	}
}

// After an ingest, updating the index with the values it wrote gives what a new Collect gives:
// new indicators come in, a report under the ceiling leaves, a raised score shows.
func TestIndexUpdate(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	st := selectionStore(t, now)
	ips := respond.Format{Name: "ips", Types: []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR}, Aggregate: true}
	sel := respond.Selection{TLP: intel.TLPClear}
	x := respond.NewIndex(ips, sel, risk.DefaultModel())
	if err := x.Build(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	changed := []intel.Report{
		{Observable: obs(intel.IPv4, "198.51.100.7")}, // new
		{Observable: obs(intel.IPv4, "192.0.2.99")},   // old one seen again
		{Observable: obs(intel.IPv4, "192.0.2.13")},   // was red only: now clear too
	}
	var lists *match.WarninglistSet
	ingestReports(t, st, lists, intel.Source{Name: "c-feed", Reliability: intel.ReliabilityB, TLP: intel.TLPClear, Confidence: 80}, changed, now)
	var touched []intel.Observable
	for _, r := range changed {
		touched = append(touched, r.Observable)
	}
	if err := x.Update(context.Background(), st, touched); err != nil {
		t.Fatal(err)
	}
	sameAsCollect(t, x, st, nil, sel, ips, now)
	if got, _, _ := x.Collect(context.Background(), time.Time{}, 0, 0, now); len(got) == 0 {
		t.Fatal("no entries")
	}
}
