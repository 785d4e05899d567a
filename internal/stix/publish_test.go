package stix_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
)

// ingestList writes reports as the list source "feed" would, seen at the given time.
func ingestList(t *testing.T, e *env, at time.Time, reps ...intel.Report) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.st.PutSource(ctx, intel.Source{Name: "feed", Kind: "list", Reliability: 'B', Confidence: 80, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	in, err := e.st.NewIngester(ctx, store.IngestOptions{Source: "feed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		r.FirstSeen, r.LastSeen = at.Add(-time.Hour), at
		if err := in.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// poolIndicators returns omen's published indicator objects in the pool, every version, by id.
func poolIndicators(t *testing.T, e *env) map[string][]map[string]any {
	t.Helper()
	page, err := e.st.STIXObjects(context.Background(), store.STIXQuery{Collection: store.STIXPool,
		Types: []string{"indicator"}, Versions: []string{"all"}, MaxTLP: intel.TLPRed})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, o := range page.Objects {
		var m map[string]any
		if err := json.Unmarshal(o.Raw, &m); err != nil {
			t.Fatal(err)
		}
		if m["created_by_ref"] == stix.OmenIdentity {
			out[o.ID] = append(out[o.ID], m)
		}
	}
	return out
}

func TestPublisher(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	clock := now
	newPublisher := func() *stix.Publisher {
		return &stix.Publisher{Store: e.st, Model: risk.DefaultModel(), Now: func() time.Time { return clock }}
	}
	run := func(p *stix.Publisher, want stix.PublishStats) {
		t.Helper()
		st, err := p.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.Elapsed = 0
		if st != want {
			t.Errorf("Run = %+v, want %+v", st, want)
		}
	}
	ip := intel.Report{Observable: intel.Observable{Type: intel.IPv4, Value: "203.0.113.50"}, Confidence: 90, TLP: intel.TLPGreen,
		ThreatType: "c2", Tags: []string{"emotet"}}
	dom := intel.Report{Observable: intel.Observable{Type: intel.Domain, Value: "badhost-c2.net"}, Confidence: 80, TLP: intel.TLPClear}
	cve := intel.Report{Observable: intel.Observable{Type: intel.CVE, Value: "CVE-2025-48384"}, Confidence: 80, TLP: intel.TLPClear}
	ingestList(t, e, clock, ip, dom, cve)
	// A second source reports the IP at amber: the object (green) must not say so.
	if _, err := e.st.PutSource(ctx, intel.Source{Name: "secret", Kind: "list", Reliability: 'A', Confidence: 100, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	in, _ := e.st.NewIngester(ctx, store.IngestOptions{Source: "secret"})
	amber := ip
	amber.TLP, amber.Confidence, amber.Tags, amber.FirstSeen, amber.LastSeen = intel.TLPAmber, 100, []string{"apt"}, clock, clock
	in.Add(ctx, amber)
	if _, err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}

	p := newPublisher()
	run(p, stix.PublishStats{Indicators: 3, Published: 2, Skipped: 1})
	// What the objects refer to is there too, for a TAXII client to resolve.
	refs, err := e.st.STIXObjects(ctx, store.STIXQuery{Collection: store.STIXPool, MaxTLP: intel.TLPRed,
		IDs: []string{stix.OmenIdentity, stix.TLPMarkingID(intel.TLPGreen)}})
	if err != nil || len(refs.Objects) != 2 {
		t.Errorf("identity and marking in the pool: %d objects, %v", len(refs.Objects), err)
	}
	pool := poolIndicators(t, e)
	if len(pool) != 2 {
		t.Fatalf("%d published indicators, want 2: %v", len(pool), pool)
	}
	for _, vs := range pool {
		o := vs[0]
		if o["name"] == "203.0.113.50" {
			if o["confidence"] != 90.0 || len(o["labels"].([]any)) != 1 || o["pattern"] != "[ipv4-addr:value = '203.0.113.50']" {
				t.Errorf("green IP object says more than its green report: %v", o)
			}
		}
	}

	// The list refreshes its values an hour later: nothing new to say, no new version.
	clock = clock.Add(time.Hour)
	ingestList(t, e, clock, ip, dom)
	run(p, stix.PublishStats{Indicators: 3, Unchanged: 2, Skipped: 1})

	// A restarted omen reads back what it published.
	run(newPublisher(), stix.PublishStats{Indicators: 3, Unchanged: 2, Skipped: 1})

	// A new tag is news: one new version, same created, later modified.
	clock = clock.Add(time.Hour)
	dom.Tags = []string{"phishing"}
	ingestList(t, e, clock, dom)
	run(p, stix.PublishStats{Indicators: 3, Published: 1, Unchanged: 1, Skipped: 1})
	for _, vs := range poolIndicators(t, e) {
		if vs[0]["name"] != "badhost-c2.net" {
			continue
		}
		if len(vs) != 2 || vs[0]["created"] != vs[1]["created"] || vs[0]["modified"] == vs[1]["modified"] {
			t.Errorf("versions of the domain: %v", vs)
		}
	}

	// Months later, both have decayed away: one last version each, with valid_until.
	clock = clock.Add(400 * 24 * time.Hour)
	run(p, stix.PublishStats{Indicators: 3, Published: 2, Skipped: 1})
	for _, vs := range poolIndicators(t, e) {
		if _, ok := vs[len(vs)-1]["valid_until"]; !ok {
			t.Errorf("expired indicator published without valid_until: %v", vs[len(vs)-1])
		}
	}
	run(p, stix.PublishStats{Indicators: 3, Unchanged: 2, Skipped: 1})

	// What omen published imports elsewhere as the same observables.
	f := newEnv(t)
	page, err := e.st.STIXObjects(ctx, store.STIXQuery{Collection: store.STIXPool, MaxTLP: intel.TLPRed})
	if err != nil {
		t.Fatal(err)
	}
	var raws []json.RawMessage
	for _, o := range page.Objects {
		raws = append(raws, o.Raw)
	}
	c, err := f.im.Objects(ctx, raws, stix.Options{Source: "test", KeepDates: true})
	if err != nil || c.Reducible != 2 || c.Rejected != 0 {
		t.Fatalf("re-import: %+v %v", c, err)
	}
}

// Warninglisted values are never published; one published before it was warninglisted is revoked.
func TestPublisherWithholdsWarninglisted(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	if _, err := e.st.PutSource(ctx, intel.Source{Name: "feed", Kind: "list", Reliability: 'B', Confidence: 80, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ingest := func(listed bool, values ...string) {
		t.Helper()
		classify := func(intel.Observable) []string { return nil }
		if listed {
			classify = func(intel.Observable) []string { return []string{"public-dns-v4"} }
		}
		in, err := e.st.NewIngester(ctx, store.IngestOptions{Source: "feed", Classify: classify})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			in.Add(ctx, intel.Report{Observable: intel.Observable{Type: intel.IPv4, Value: v}, Confidence: 80,
				TLP: intel.TLPClear, FirstSeen: now, LastSeen: now})
		}
		if _, err := in.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ingest(true, "8.8.8.8")
	ingest(false, "203.0.113.9")
	p := &stix.Publisher{Store: e.st, Model: risk.DefaultModel(), Now: func() time.Time { return now }}
	st, err := p.Run(ctx)
	if err != nil || st.Published != 1 || st.Withheld != 1 || st.Revoked != 0 {
		t.Fatalf("Run = %+v %v, want 1 published and 8.8.8.8 withheld", st, err)
	}
	ingest(true, "203.0.113.9") // warninglisted since
	if st, err = p.Run(ctx); err != nil || st.Published != 1 || st.Revoked != 1 || st.Withheld != 2 {
		t.Fatalf("Run = %+v %v, want one revoked version", st, err)
	}
	if st, err = p.Run(ctx); err != nil || st.Published != 0 || st.Withheld != 2 {
		t.Fatalf("Run = %+v %v, want nothing more", st, err)
	}
	for _, vs := range poolIndicators(t, e) {
		if vs[0]["name"] == "8.8.8.8" {
			t.Errorf("8.8.8.8 published: %v", vs)
		}
		if last := vs[len(vs)-1]; len(vs) != 2 || last["revoked"] != true {
			t.Errorf("versions of %v: %v, want a last revoked one", vs[0]["name"], vs)
		}
	}
}
