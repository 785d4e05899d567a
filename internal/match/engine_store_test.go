package match_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// TestSnapshotFromStore ingests reports into a real SQLite store, builds a snapshot from
// ScanIndicators and checks that matches carry the store's indicator IDs and warninglist flags.
func TestSnapshotFromStore(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.PutSource(ctx, intel.Source{Name: "feed", Kind: "test", Reliability: intel.ReliabilityB, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ws, err := match.NewWarninglistSet(&match.Warninglist{Name: "cdn", Type: "cidr", Entries: []string{"198.51.100.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	ing, err := st.NewIngester(ctx, store.IngestOptions{Source: "feed", Classify: ws.Classifier()})
	if err != nil {
		t.Fatal(err)
	}
	obs := []intel.Observable{
		ob(intel.IPv4, "198.51.100.7"), ob(intel.CIDR, "203.0.113.0/24"), ob(intel.Domain, "evil.com"),
		ob(intel.URL, "https://evil.com/a.php"), ob(intel.SHA256, sha256Hex), ob(intel.Email, "bad@evil.com"),
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, o := range obs {
		if err := ing.Add(ctx, intel.Report{Observable: o, Confidence: 80, TLP: intel.TLPGreen, FirstSeen: now, LastSeen: now, ThreatType: "c2"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ing.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stored, err := st.Indicators(ctx, obs)
	if err != nil {
		t.Fatal(err)
	}
	id := map[intel.Observable]int64{}
	for _, in := range stored {
		id[in.Observable] = in.ID
	}

	b := match.NewBuilder()
	b.SetWarninglists(ws)
	if err := st.ScanIndicators(ctx, func(in intel.Indicator) error { return b.AddIndicator(in) }); err != nil {
		t.Fatal(err)
	}
	s := b.Build()
	if got := s.Stats().Indicators; got != len(obs) {
		t.Fatalf("%d indicators indexed, want %d", got, len(obs))
	}

	tests := []struct {
		q    intel.Observable
		want []match.Match
	}{
		{ob(intel.IPv4, "198.51.100.7"), []match.Match{{ID: id[obs[0]], Kind: match.MatchExact, Flags: match.FlagWarninglisted}}},
		{ob(intel.IPv4, "203.0.113.9"), []match.Match{{ID: id[obs[1]], Kind: match.MatchCIDR}}},
		{ob(intel.Domain, "www.evil.com"), []match.Match{{ID: id[obs[2]], Kind: match.MatchParentDomain}}},
		{ob(intel.URL, "https://evil.com/a.php"), []match.Match{{ID: id[obs[3]], Kind: match.MatchExact}, {ID: id[obs[2]], Kind: match.MatchParentDomain}}},
		{ob(intel.SHA256, sha256Hex), []match.Match{{ID: id[obs[4]], Kind: match.MatchExact}}},
		{ob(intel.Email, "bad@evil.com"), []match.Match{{ID: id[obs[5]], Kind: match.MatchExact}, {ID: id[obs[2]], Kind: match.MatchParentDomain}}},
	}
	for _, tc := range tests {
		got := s.Match(tc.q, nil)
		for i := range got {
			got[i] = match.Match{ID: got[i].ID, Kind: got[i].Kind, Flags: got[i].Flags}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Match(%s) = %+v, want %+v", tc.q, got, tc.want)
			continue
		}
		// The caller reads the details from the store.
		for _, m := range s.Match(tc.q, nil) {
			ins, err := st.Indicators(ctx, []intel.Observable{m.Observable()})
			if err != nil || len(ins) != 1 || ins[0].ID != m.ID || ins[0].Reports[0].ThreatType != "c2" {
				t.Errorf("store indicator for %s: %+v, %v", m.Observable(), ins, err)
			}
		}
	}
}
