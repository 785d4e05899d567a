package sqlite

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// TestUpgradeFromVersion5 builds a database at migration 5 holding findings (one open, one
// resolved), a source and a sighting written by that version, then opens it and checks migration 6:
// nothing is lost, old findings count one event last seen when created, the resolved one is closed
// when it was last updated, sources start with no verdicts, and the new tables work.
func TestUpgradeFromVersion5(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	w, err := openPool(ctx, path, writerPragmas(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, w, slog.New(slog.DiscardHandler), 5); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	updated := created.Add(2 * time.Hour)
	for _, q := range []string{
		`INSERT INTO sources (id, name, kind, reliability, confidence, tlp, enabled, created_at, updated_at)
			VALUES (1, 'urlhaus', 'list', 'B', 70, 1, 1, 1, 1)`,
		`INSERT INTO findings (id, kind, title, obs_type, obs_value, asset_id, priority, status, assignee, tlp,
			evidence, recommendations, created_at, updated_at) VALUES
			(1, 'indicator-match', 'open one', 'ipv4', '192.0.2.1', 4, 77, 'triaged', 'alice', 2,
			 '["3 sources"]', '["block"]', ?1, ?2),
			(2, 'indicator-match', 'closed one', 'domain', 'evil.example', 0, 55, 'resolved', '', 0, '', '', ?1, ?2)`,
		`INSERT INTO sightings (type, value, location, first_seen, last_seen, count) VALUES
			('ipv4', '192.0.2.1', 'fin-lt-0231', ?1, ?1, 2)`,
	} {
		if _, err := w.ExecContext(ctx, q, created.UnixNano(), updated.UnixNano()); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("opening the old database: %v", err)
	}
	defer db.Close()
	var version int64
	if err := db.r.QueryRowContext(ctx, "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 6 {
		t.Errorf("upgraded to version %d, want at least 6", version)
	}
	f1, err := db.Finding(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if f1.Title != "open one" || f1.Observable == nil || f1.Observable.Value != "192.0.2.1" || f1.AssetID != 4 ||
		f1.Priority != 77 || f1.Status != intel.FindingTriaged || f1.Assignee != "alice" || f1.TLP != intel.TLPAmber ||
		!slices.Equal(f1.Evidence, []string{"3 sources"}) || !slices.Equal(f1.Recommendations, []string{"block"}) ||
		f1.Count != 1 || !f1.LastSeen.Equal(created) || !f1.ClosedAt.IsZero() || f1.Key != "" || len(f1.Detail) != 0 {
		t.Errorf("upgraded open finding = %+v", f1)
	}
	f2, err := db.Finding(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if f2.Count != 1 || !f2.LastSeen.Equal(created) || !f2.ClosedAt.Equal(updated) {
		t.Errorf("upgraded resolved finding = %+v", f2)
	}
	if fs, err := db.ListFindings(ctx, store.FindingFilter{Open: true}); err != nil || len(fs) != 1 || fs[0].ID != 1 {
		t.Errorf("open findings = %+v, %v", fs, err)
	}
	src, err := db.Source(ctx, "urlhaus")
	if err != nil || src.TruePositives != 0 || src.FalsePositives != 0 || src.Reliability != intel.ReliabilityB {
		t.Errorf("upgraded source = %+v, %v", src, err)
	}
	if err := db.RecordVerdict(ctx, "urlhaus", false); err != nil {
		t.Fatal(err)
	}
	if ss, err := db.Sightings(ctx, intel.Observable{Type: intel.IPv4, Value: "192.0.2.1"}); err != nil || len(ss) != 1 || ss[0].Count != 2 {
		t.Errorf("Sightings = %+v, %v", ss, err)
	}
	if _, err := db.PutAllow(ctx, intel.AllowEntry{Observable: intel.Observable{Type: intel.IPv4, Value: "192.0.2.1"}, FindingID: 1}); err != nil {
		t.Fatal(err)
	}
}
