package kb_test

import (
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

func ingest(t *testing.T, st store.Store, source string, obs ...intel.Observable) {
	t.Helper()
	ctx := t.Context()
	ing, err := st.NewIngester(ctx, store.IngestOptions{Source: source})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range obs {
		if err := ing.Add(ctx, intel.Report{Observable: o, Confidence: 80, TLP: intel.TLPClear, LastSeen: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ing.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestKBStaysFresh(t *testing.T) {
	ctx := t.Context()
	raw, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.PutSource(ctx, intel.Source{Name: "feed", Kind: "test", Reliability: 'B', Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ip := intel.Observable{Type: intel.IPv4, Value: "192.0.2.7"}
	ingest(t, raw, "feed", ip)
	k, err := kb.Open(ctx, raw, kb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ms := k.Snapshot().Match(ip, nil); len(ms) != 1 || ms[0].Kind != match.MatchExact {
		t.Fatalf("matches of %s at open: %+v", ip, ms)
	}

	// An ingest through the wrapped store is indexed when it commits; one straight into the
	// store is not (until a rebuild).
	st := k.Wrap(raw)
	net := intel.Observable{Type: intel.CIDR, Value: "198.51.100.0/24"}
	dom := intel.Observable{Type: intel.Domain, Value: "evil.example"}
	ingest(t, st, "feed", net, dom, ip)
	if ms := k.Snapshot().Match(intel.Observable{Type: intel.IPv4, Value: "198.51.100.9"}, nil); len(ms) != 1 || ms[0].Kind != match.MatchCIDR {
		t.Errorf("network not indexed after the ingest: %+v", ms)
	}
	if ms := k.Snapshot().Match(intel.Observable{Type: intel.Domain, Value: "a.evil.example"}, nil); len(ms) != 1 {
		t.Errorf("domain not indexed after the ingest: %+v", ms)
	}
	if got := k.Snapshot().Stats().Indicators; got != 3 {
		t.Errorf("%d indicators indexed, want 3 (the re-ingested address once)", got)
	}
	late := intel.Observable{Type: intel.SHA256, Value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
	ingest(t, raw, "feed", late)
	if ms := k.Snapshot().Match(late, nil); len(ms) != 0 {
		t.Errorf("unwrapped ingest indexed: %+v", ms)
	}
	// CatchUp finds it (another process's import), and assets written straight into the store.
	if _, err := raw.PutAsset(ctx, intel.Asset{Kind: "network", Name: "lab", Values: []string{"192.0.2.0/28"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := k.CatchUp(ctx); err != nil || n != 1 {
		t.Errorf("CatchUp = %d, %v; want the hash", n, err)
	}
	if ms := k.Snapshot().Match(late, nil); len(ms) != 1 {
		t.Errorf("catch-up missed the hash: %+v", ms)
	}
	if hs := k.Snapshot().Assets(ip, nil); len(hs) != 1 {
		t.Errorf("catch-up missed the asset: %+v", hs)
	}
	if n, _ := k.CatchUp(ctx); n != 0 {
		t.Errorf("second CatchUp added %d", n)
	}
	if err := k.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if ms := k.Snapshot().Match(late, nil); len(ms) != 1 {
		t.Errorf("rebuild missed the hash: %+v", ms)
	}

	v := k.Version()
	ingest(t, st, "feed", ip)
	if k.Version() == v {
		t.Error("an ingest through the wrapped store did not move the version")
	}

	// Details come from the store once, then from the cache; an ingest drops the cached copy.
	ms := k.Snapshot().Match(ip, nil)
	hits, err := k.Hits(ctx, ms)
	if err != nil || hits[ms[0].ID] == nil || hits[ms[0].ID].Indicator.Observable != ip {
		t.Fatalf("hits %+v, %v", hits, err)
	}
	again, _ := k.Hits(ctx, ms)
	if again[ms[0].ID] != hits[ms[0].ID] {
		t.Error("second read did not come from the cache")
	}
	ingest(t, st, "feed", ip)
	fresh, _ := k.Hits(ctx, ms)
	if fresh[ms[0].ID] == hits[ms[0].ID] {
		t.Error("the cache kept an indicator an ingest changed")
	}

	// A sighting written through the wrapped store shows in the details at once.
	if _, err := st.AddSighting(ctx, intel.Sighting{Observable: ip, Where: "fw-1", LastSeen: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if hs, _ := k.Hits(ctx, ms); len(hs[ms[0].ID].Sightings) != 1 || hs[ms[0].ID].Sightings[0].Where != "fw-1" {
		t.Errorf("sightings in the details: %+v", hs[ms[0].ID].Sightings)
	}

	// Assets and entities written through the wrapped store are reloaded by Sync (or Run).
	if _, err := st.PutAsset(ctx, intel.Asset{Kind: "network", Name: "dmz", Values: []string{"203.0.113.0/24"}, Criticality: intel.CriticalityHigh}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutEntities(ctx, []intel.Entity{{ID: "malware--x", Type: intel.Malware, Name: "Xloader", Aliases: []string{"Formbook"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutRelationships(ctx, []intel.Relationship{{ID: "relationship--1", Type: "communicates-with", SourceRef: "malware--x", TargetRef: ip.String()}}); err != nil {
		t.Fatal(err)
	}
	if err := k.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if hs := k.Snapshot().Assets(intel.Observable{Type: intel.IPv4, Value: "203.0.113.5"}, nil); len(hs) != 1 {
		t.Errorf("asset not loaded: %+v", hs)
	}
	if es := k.Graph().Named("formbook"); len(es) != 1 || es[0].ID != "malware--x" {
		t.Errorf("entity by alias: %+v", es)
	}
	hits, _ = k.Hits(ctx, ms)
	if h := hits[ms[0].ID]; h == nil || len(h.Relationships) != 1 || h.Relationships[0].SourceRef != "malware--x" {
		t.Errorf("relationship to the address not in its details: %+v", h)
	}
}
