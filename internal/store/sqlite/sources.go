package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

const sourceColumns = `id, name, kind, url, reliability, confidence, tlp, enabled, created_at, updated_at,
	last_run, last_success, last_error, last_stats, good_records, true_positives, false_positives`

// PutSource inserts or updates the source named s.Name. CreatedAt is set on insert and kept on
// update (the argument's times are ignored); UpdatedAt is set to now. The run health fields
// (LastRun, LastSuccess, LastError, LastStats, GoodRecords) and the saved state are left alone: only
// RecordSourceRun changes them.
func (db *DB) PutSource(ctx context.Context, s intel.Source) (intel.Source, error) {
	if strings.TrimSpace(s.Name) == "" {
		return intel.Source{}, errors.New("storing source: empty name")
	}
	rel := s.Reliability
	if !rel.Valid() {
		rel = intel.ReliabilityF
	}
	now := toNS(db.now())
	row := db.w.QueryRowContext(ctx, `INSERT INTO sources
		(name, kind, url, reliability, confidence, tlp, enabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url,
			reliability = excluded.reliability, confidence = excluded.confidence, tlp = excluded.tlp,
			enabled = excluded.enabled, updated_at = excluded.updated_at
		RETURNING `+sourceColumns,
		s.Name, s.Kind, s.URL, rel.String(), s.Confidence, int64(s.TLP), boolInt(s.Enabled), now, now)
	out, err := scanSource(row)
	if err != nil {
		return intel.Source{}, fmt.Errorf("storing source %s: %w", s.Name, err)
	}
	return out, nil
}

// Source returns the source named name.
func (db *DB) Source(ctx context.Context, name string) (intel.Source, error) {
	row := db.r.QueryRowContext(ctx, "SELECT "+sourceColumns+" FROM sources WHERE name = ?", name)
	s, err := scanSource(row)
	if errors.Is(err, sql.ErrNoRows) {
		return intel.Source{}, notFound("source", name)
	}
	if err != nil {
		return intel.Source{}, fmt.Errorf("reading source %s: %w", name, err)
	}
	return s, nil
}

// ListSources returns every source ordered by name.
func (db *DB) ListSources(ctx context.Context) ([]intel.Source, error) {
	out, err := queryAll(ctx, db.r, scanSource, "SELECT "+sourceColumns+" FROM sources ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("listing sources: %w", err)
	}
	return out, nil
}

// RecordSourceRun records a collection run of the source named name, in one statement: LastRun and
// LastStats always; on success (run.Err empty) LastSuccess too, LastError cleared, GoodRecords set
// to the run's record count unless the server answered "not modified", and the saved state
// replaced when run.State is not nil; on failure LastError only.
func (db *DB) RecordSourceRun(ctx context.Context, name string, run intel.SourceRun) error {
	stats, err := encodeRunStats(run.Stats)
	if err != nil {
		return fmt.Errorf("recording run of source %s: %w", name, err)
	}
	q := "UPDATE sources SET last_run = ?, last_stats = ?"
	args := []any{toNS(run.At), stats}
	if run.Err == "" {
		q += ", last_success = ?, last_error = ''"
		args = append(args, toNS(run.At))
		if !run.Stats.NotModified {
			q += ", good_records = ?"
			args = append(args, run.Stats.Records)
		}
		if run.State != nil {
			q += ", state = ?"
			args = append(args, run.State)
		}
	} else {
		q += ", last_error = ?"
		args = append(args, run.Err)
	}
	res, err := db.w.ExecContext(ctx, q+" WHERE name = ?", append(args, name)...)
	if err != nil {
		return fmt.Errorf("recording run of source %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("source", name)
	}
	return nil
}

// RecordVerdict counts one analyst verdict (true or false positive) against the source named name.
func (db *DB) RecordVerdict(ctx context.Context, name string, tp bool) error {
	col := "false_positives"
	if tp {
		col = "true_positives"
	}
	res, err := db.w.ExecContext(ctx, "UPDATE sources SET "+col+" = "+col+" + 1 WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("recording a verdict on source %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("source", name)
	}
	return nil
}

// SourceState returns the collector state saved by the last good run of the source named name, nil
// when there is none (an empty state counts as none).
func (db *DB) SourceState(ctx context.Context, name string) ([]byte, error) {
	var state []byte
	err := db.r.QueryRowContext(ctx, "SELECT state FROM sources WHERE name = ?", name).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("source", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading state of source %s: %w", name, err)
	}
	if len(state) == 0 {
		return nil, nil
	}
	return state, nil
}

// encodeRunStats encodes run statistics as JSON, or "" when they are all zero.
func encodeRunStats(st intel.RunStats) (string, error) {
	if st == (intel.RunStats{}) {
		return "", nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encoding run statistics: %w", err)
	}
	return string(b), nil
}

// decodeRunStats decodes what [encodeRunStats] wrote.
func decodeRunStats(s string) (intel.RunStats, error) {
	var st intel.RunStats
	if s == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return intel.RunStats{}, fmt.Errorf("decoding run statistics %.40q: %w", s, err)
	}
	return st, nil
}

type scanner interface{ Scan(dest ...any) error }

// queryAll runs a query on pool and scans every row with scan.
func queryAll[T any](ctx context.Context, pool *sql.DB, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := pool.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scan)
}

// scanAll scans every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanSource(sc scanner) (intel.Source, error) {
	var s intel.Source
	var rel string
	var stats string
	var tlp, enabled, created, updated, lastRun, lastOK int64
	if err := sc.Scan(&s.ID, &s.Name, &s.Kind, &s.URL, &rel, &s.Confidence, &tlp, &enabled,
		&created, &updated, &lastRun, &lastOK, &s.LastError, &stats, &s.GoodRecords, &s.TruePositives, &s.FalsePositives); err != nil {
		return intel.Source{}, err
	}
	st, err := decodeRunStats(stats)
	if err != nil {
		return intel.Source{}, fmt.Errorf("reading source %s: %w", s.Name, err)
	}
	s.LastStats = st
	r, err := intel.ParseReliability(rel)
	if err != nil {
		r = intel.ReliabilityF
	}
	s.Reliability = r
	s.TLP = intel.TLP(tlp)
	s.Enabled = enabled != 0
	s.CreatedAt = fromNS(created)
	s.UpdatedAt = fromNS(updated)
	s.LastRun = fromNS(lastRun)
	s.LastSuccess = fromNS(lastOK)
	return s, nil
}

// sourceID returns the ID of the source named name, using q (the writer or a transaction).
func sourceID(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, "SELECT id FROM sources WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("source", name)
	}
	if err != nil {
		return 0, fmt.Errorf("reading source %s: %w", name, err)
	}
	return id, nil
}
