package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

const sourceColumns = `id, name, kind, url, reliability, confidence, tlp, enabled, created_at, updated_at,
	last_run, last_success, last_error`

// PutSource inserts or updates the source named s.Name. CreatedAt is set on insert and kept on
// update (the argument's times are ignored); UpdatedAt is set to now. The run health fields are left alone (see RecordSourceRun).
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

// RecordSourceRun records a collection run of the source named name: LastRun is set to at, and
// LastSuccess to at with LastError cleared when runErr is nil, else LastError to runErr's text.
func (db *DB) RecordSourceRun(ctx context.Context, name string, at time.Time, runErr error) error {
	var res sql.Result
	var err error
	if runErr == nil {
		res, err = db.w.ExecContext(ctx,
			"UPDATE sources SET last_run = ?, last_success = ?, last_error = '' WHERE name = ?",
			toNS(at), toNS(at), name)
	} else {
		msg := runErr.Error()
		if msg == "" {
			msg = "error"
		}
		res, err = db.w.ExecContext(ctx,
			"UPDATE sources SET last_run = ?, last_error = ? WHERE name = ?", toNS(at), msg, name)
	}
	if err != nil {
		return fmt.Errorf("recording run of source %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("source", name)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

// queryAll runs a query on pool and scans every row with scan.
func queryAll[T any](ctx context.Context, pool *sql.DB, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := pool.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
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
	var tlp, enabled, created, updated, lastRun, lastOK int64
	if err := sc.Scan(&s.ID, &s.Name, &s.Kind, &s.URL, &rel, &s.Confidence, &tlp, &enabled,
		&created, &updated, &lastRun, &lastOK, &s.LastError); err != nil {
		return intel.Source{}, err
	}
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
