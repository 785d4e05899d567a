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

// TestUpgradeFromVersion1 builds a database at migration 1, writes data with plain SQL as that
// version's code would have, then opens it (applying every later migration) and reads it back
// through the Store API.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	w, err := openPool(ctx, path, writerPragmas(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, w, slog.New(slog.DiscardHandler), 1); err != nil {
		t.Fatal(err)
	}
	var version int64
	if err := w.QueryRowContext(ctx, "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != 1 {
		t.Fatalf("built version %d, want 1", version)
	}
	seen := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for _, q := range []string{
		`INSERT INTO sources (id, name, kind, reliability, confidence, tlp, enabled, created_at, updated_at)
			VALUES (1, 'urlhaus', 'list', 'B', 70, 1, 1, 1, 1)`,
		`INSERT INTO indicators (id, type, value, first_seen, last_seen, warninglists)
			VALUES (1, 'domain', 'evil.example', ?1, ?1, ''), (2, 'ipv4', '8.8.8.8', ?1, ?1, '["public-dns"]')`,
		`INSERT INTO reports (indicator_id, source_id, confidence, tlp, first_seen, last_seen, tags, threat_type)
			VALUES (1, 1, 80, 2, ?1, ?1, '["emotet"]', 'c2'), (2, 1, 10, 0, ?1, ?1, '', 'scanner')`,
		`INSERT INTO entities (id, type, name, aliases) VALUES
			('malware--1', 'malware', 'Emotet', '["Geodo","ГЕОДО"]'),
			('intrusion-set--1', 'intrusion-set', 'TA542', '')`,
		`INSERT INTO relationships (id, type, source_ref, target_ref) VALUES
			('relationship--1', 'indicates', 'domain:evil.example', 'malware--1')`,
		`INSERT INTO sightings (type, value, location, first_seen, last_seen, count) VALUES
			('domain', 'evil.example', 'proxy', ?1, ?1, 4)`,
		`INSERT INTO assets (kind, name, asset_values, created_at, updated_at) VALUES
			('network', 'HQ', '["10.0.0.0/8"]', ?1, ?1)`,
		`INSERT INTO findings (kind, title, status, created_at, updated_at) VALUES
			('indicator-match', 'old finding', 'triaged', ?1, ?1)`,
		`INSERT INTO audit_log (time, actor, action) VALUES (?1, 'cli', 'import')`,
		`INSERT INTO api_keys (name, role, prefix, hash, created_at) VALUES ('siem', 'reader', 'omen_x', x'0102', ?1)`,
	} {
		if _, err := w.ExecContext(ctx, q, seen); err != nil {
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
	if err := db.r.QueryRowContext(ctx, "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 4 {
		t.Errorf("upgraded to version %d, want at least 4", version)
	}

	st, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Stats{Sources: 1, Indicators: 2, Reports: 2, Entities: 2, Relationships: 1, Sightings: 1, Assets: 1, Findings: 1}
	if st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	ins, err := db.Indicators(ctx, []intel.Observable{{Type: intel.IPv4, Value: "8.8.8.8"}, {Type: intel.Domain, Value: "evil.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins[0].Observable.Value != "8.8.8.8" || !slices.Equal(ins[0].Warninglists, []string{"public-dns"}) ||
		len(ins[1].Reports) != 1 || ins[1].Reports[0].Source != "urlhaus" || ins[1].Reports[0].TLP != intel.TLPAmber ||
		!slices.Equal(ins[1].Reports[0].Tags, []string{"emotet"}) {
		t.Errorf("Indicators = %+v", ins)
	}
	// Entity lookup by alias needs migrations 2 and 3 (table and backfill).
	for _, name := range []string{"geodo", "геодо", "EMOTET"} {
		es, err := db.ListEntities(ctx, store.EntityFilter{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].ID != "malware--1" {
			t.Errorf("ListEntities(%q) = %+v, want malware--1", name, es)
		}
	}
	if rs, err := db.Relationships(ctx, "malware--1"); err != nil || len(rs) != 1 {
		t.Errorf("Relationships = %+v, %v", rs, err)
	}
	if ss, err := db.Sightings(ctx, intel.Observable{Type: intel.Domain, Value: "evil.example"}); err != nil || len(ss) != 1 || ss[0].Count != 4 {
		t.Errorf("Sightings = %+v, %v", ss, err)
	}
	if fs, err := db.ListFindings(ctx, store.FindingFilter{Status: intel.FindingTriaged}); err != nil || len(fs) != 1 {
		t.Errorf("ListFindings = %+v, %v", fs, err)
	}
	if k, err := db.APIKeyByHash(ctx, []byte{1, 2}); err != nil || k.Name != "siem" {
		t.Errorf("APIKeyByHash = %+v, %v", k, err)
	}
	if log, err := db.AuditLog(ctx, store.AuditFilter{}); err != nil || len(log) != 1 {
		t.Errorf("AuditLog = %+v, %v", log, err)
	}

	// The upgraded database keeps working: a new ingest merges with the old report.
	in, err := db.NewIngester(ctx, store.IngestOptions{Source: "urlhaus"})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Unix(0, seen).Add(time.Hour)
	if err := in.Add(ctx, intel.Report{Observable: intel.Observable{Type: intel.Domain, Value: "evil.example"},
		Confidence: 90, FirstSeen: later, LastSeen: later, Tags: []string{"loader"}}); err != nil {
		t.Fatal(err)
	}
	ist, err := in.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ist != (store.IngestStats{Reports: 1, Updated: 1}) {
		t.Errorf("ingest stats = %+v", ist)
	}
	ins, _ = db.Indicators(ctx, []intel.Observable{{Type: intel.Domain, Value: "evil.example"}})
	if r := ins[0].Reports[0]; !slices.Equal(r.Tags, []string{"emotet", "loader"}) || r.Confidence != 90 ||
		!r.FirstSeen.Equal(time.Unix(0, seen)) || !r.LastSeen.Equal(later) {
		t.Errorf("merged report = %+v", r)
	}
	// Entities written after the upgrade are found by alias too.
	if err := db.PutEntities(ctx, []intel.Entity{{ID: "tool--1", Type: intel.Tool, Name: "Mimikatz", Aliases: []string{"mimi"}}}); err != nil {
		t.Fatal(err)
	}
	if es, err := db.ListEntities(ctx, store.EntityFilter{Name: "MIMI"}); err != nil || len(es) != 1 {
		t.Errorf("ListEntities(MIMI) = %+v, %v", es, err)
	}
	// Sources get the run columns of migration 4.
	checkUpgradedSource(t, db, time.Time{}, time.Time{}, "")
}

// TestUpgradeFromVersion3 builds a database at migration 3 (the last one before source run
// statistics and collector state) holding a source that has already run, then opens it and checks
// that the source is kept whole and records runs.
func TestUpgradeFromVersion3(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	w, err := openPool(ctx, path, writerPragmas(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, w, slog.New(slog.DiscardHandler), 3); err != nil {
		t.Fatal(err)
	}
	lastRun := time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC)
	lastOK := lastRun.Add(-time.Hour)
	if _, err := w.ExecContext(ctx, `INSERT INTO sources (id, name, kind, url, reliability, confidence, tlp,
		enabled, created_at, updated_at, last_run, last_success, last_error)
		VALUES (1, 'urlhaus', 'list', 'https://urlhaus.example/list.txt', 'B', 70, 1, 1, 1, 2, ?, ?, 'HTTP 503')`,
		lastRun.UnixNano(), lastOK.UnixNano()); err != nil {
		t.Fatal(err)
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
	if version < 4 {
		t.Errorf("upgraded to version %d, want at least 4", version)
	}
	checkUpgradedSource(t, db, lastRun, lastOK, "HTTP 503")
}

// checkUpgradedSource checks the source urlhaus of an upgraded database (written by the old code
// with the given run health): its fields are kept, the new run fields are empty, and it records a
// good run and then a failed one.
func checkUpgradedSource(t *testing.T, db *DB, lastRun, lastOK time.Time, lastErr string) {
	t.Helper()
	ctx := t.Context()
	src, err := db.Source(ctx, "urlhaus")
	if err != nil {
		t.Fatal(err)
	}
	if src.ID != 1 || src.Kind != "list" || src.Reliability != intel.ReliabilityB || src.Confidence != 70 ||
		src.TLP != intel.TLPGreen || !src.Enabled || !src.LastRun.Equal(lastRun) ||
		!src.LastSuccess.Equal(lastOK) || src.LastError != lastErr ||
		src.LastStats != (intel.RunStats{}) || src.GoodRecords != 0 {
		t.Errorf("upgraded source = %+v", src)
	}
	if st, err := db.SourceState(ctx, "urlhaus"); err != nil || st != nil {
		t.Errorf("SourceState of the upgraded source = %q, %v; want nil", st, err)
	}
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	good := intel.SourceRun{At: at, Stats: intel.RunStats{Duration: time.Second, FetchedBytes: 4096, Records: 42, New: 40},
		State: []byte(`{"etag":"abc"}`)}
	if err := db.RecordSourceRun(ctx, "urlhaus", good); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordSourceRun(ctx, "urlhaus", intel.SourceRun{At: at.Add(time.Hour), Err: "HTTP 500"}); err != nil {
		t.Fatal(err)
	}
	src, err = db.Source(ctx, "urlhaus")
	if err != nil {
		t.Fatal(err)
	}
	if !src.LastRun.Equal(at.Add(time.Hour)) || !src.LastSuccess.Equal(at) || src.LastError != "HTTP 500" ||
		src.GoodRecords != 42 || src.LastStats != (intel.RunStats{}) || src.Health() != intel.HealthDegraded {
		t.Errorf("upgraded source after two runs = %+v", src)
	}
	if st, err := db.SourceState(ctx, "urlhaus"); err != nil || string(st) != `{"etag":"abc"}` {
		t.Errorf("SourceState after a good run = %q, %v", st, err)
	}
}
