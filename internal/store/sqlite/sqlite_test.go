package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
	"github.com/omen-tip/omen/internal/store/storetest"
)

func openTemp(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "data", "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestOpenCreatesAndReopens(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "a", "b", "omen.db")
	db, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutSource(ctx, intel.Source{Name: "feed"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer db.Close()
	if _, err := db.Source(ctx, "feed"); err != nil {
		t.Errorf("source lost on reopen: %v", err)
	}
	if _, err := sqlite.Open(ctx, "", nil); err == nil {
		t.Error("Open with an empty path succeeded")
	}
}

// TestIngestUnsafeValues covers values that cannot travel in JSON (invalid UTF-8, NUL): they take
// the row-by-row path and are still found again.
func TestIngestUnsafeValues(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	if _, err := db.PutSource(ctx, intel.Source{Name: "feed"}); err != nil {
		t.Fatal(err)
	}
	var rs []intel.Report
	for i := range 40 { // a group large enough for the bulk path, mixed with unsafe values
		v := fmt.Sprintf("user%02d", i)
		switch i % 4 {
		case 1:
			v += "\xff\xfe"
		case 2:
			v += "\x00nul"
		}
		rs = append(rs, intel.Report{Observable: intel.Observable{Type: intel.Account, Value: v}, Confidence: 50,
			FirstSeen: time.Unix(100, 0), LastSeen: time.Unix(200, 0)})
	}
	for pass, want := range []store.IngestStats{{Reports: 40, New: 40, Indicators: 40}, {Reports: 40, Updated: 40}} {
		in, err := db.NewIngester(ctx, store.IngestOptions{Source: "feed"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if err := in.Add(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		st, err := in.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st != want {
			t.Errorf("pass %d: stats %+v, want %+v", pass, st, want)
		}
	}
	var obs []intel.Observable
	for _, r := range rs {
		obs = append(obs, r.Observable)
	}
	ins, err := db.Indicators(ctx, obs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != len(obs) {
		t.Fatalf("%d indicators, want %d", len(ins), len(obs))
	}
	for i, in := range ins {
		if in.Observable != obs[i] || len(in.Reports) != 1 {
			t.Errorf("indicator %d = %q with %d reports, want %q", i, in.Observable.Value, len(in.Reports), obs[i].Value)
		}
	}
}

// TestIngestKilled cancels an ingest midway and checks that the file holds whole batches only,
// every report has its indicator, and the file reopens and takes a new ingest.
func TestIngestKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "omen.db")
	db, err := sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutSource(t.Context(), intel.Source{Name: "feed"}); err != nil {
		t.Fatal(err)
	}
	const batch = 50
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	in, err := db.NewIngester(ctx, store.IngestOptions{Source: "feed", BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	obs := func(i int) intel.Observable {
		return intel.Observable{Type: intel.Domain, Value: fmt.Sprintf("h%04d.example", i)}
	}
	var addErr error
	for i := range 1000 {
		if i == 3*batch+20 {
			cancel() // killed while the fourth batch is being filled
		}
		r := intel.Report{Observable: obs(i), Confidence: 50, FirstSeen: time.Unix(100, 0), LastSeen: time.Unix(200, 0)}
		if addErr = in.Add(ctx, r); addErr != nil {
			if i != 3*batch+20 {
				t.Errorf("Add failed at report %d, want at %d, when the context is done", i, 3*batch+20)
			}
			break
		}
	}
	if !errors.Is(addErr, context.Canceled) {
		t.Fatalf("Add after cancel = %v, want context.Canceled", addErr)
	}
	if _, err := in.Close(t.Context()); !errors.Is(err, context.Canceled) {
		t.Errorf("Close after a failed ingest = %v, want the ingest's error", err)
	}
	if err := in.Add(t.Context(), intel.Report{Observable: obs(9999)}); err == nil {
		t.Error("Add after a failed ingest succeeded")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var indicators, reports, orphans int
	var check string
	for q, dst := range map[string]any{
		"SELECT count(*) FROM indicators": &indicators,
		"SELECT count(*) FROM reports":    &reports,
		"SELECT count(*) FROM reports r LEFT JOIN indicators i ON i.id = r.indicator_id WHERE i.id IS NULL": &orphans,
		"PRAGMA integrity_check": &check,
	} {
		if err := raw.QueryRow(q).Scan(dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Up to three batches were full when the context ended; the ones still being written fail.
	if indicators%batch != 0 || indicators > 3*batch || reports != indicators || orphans != 0 || check != "ok" {
		t.Errorf("after the kill: %d indicators, %d reports, %d orphans, integrity %q; want whole batches of %d, "+
			"at most 3, one report each, no orphans, ok", indicators, reports, orphans, check, batch)
	}
	for i := range indicators {
		var n int
		if err := raw.QueryRow("SELECT count(*) FROM indicators WHERE value = ?", obs(i).Value).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s of a committed batch: %d rows, %v", obs(i).Value, n, err)
		}
	}
	rows, err := raw.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign key violations after the kill")
	}
	rows.Close()

	db, err = sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer db.Close()
	in, err = db.NewIngester(t.Context(), store.IngestOptions{Source: "feed", BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	const n = 4*batch + 10
	for i := range n {
		r := intel.Report{Observable: obs(i), Confidence: 50, FirstSeen: time.Unix(100, 0), LastSeen: time.Unix(300, 0)}
		if err := in.Add(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	st, err := in.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := store.IngestStats{Reports: n, New: n - indicators, Updated: indicators, Indicators: n - indicators}
	if st != want {
		t.Errorf("ingest after reopening = %+v, want %+v", st, want)
	}
}

func TestRawInsertBaseline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "baseline.db")
	obs := syntheticObservables(25_000)
	d, err := sqlite.RawInsertBaseline(t.Context(), path, obs)
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Errorf("elapsed %v", d)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM t WHERE score = 50").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(obs) {
		t.Errorf("%d rows, want %d", n, len(obs))
	}
	if _, err := sqlite.RawInsertBaseline(t.Context(), path, obs); !errors.Is(err, os.ErrExist) {
		t.Errorf("baseline over an existing file = %v, want ErrExist", err)
	}
}
