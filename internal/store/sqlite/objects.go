package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Sightings.

const sightingColumns = "id, type, value, location, first_seen, last_seen, count, verdict, note"

// AddSighting merges s into the sighting of the same observable and Where. A zero FirstSeen or
// LastSeen takes the other one, or now when both are zero; a Count below 1 counts as 1; Verdict and
// Note replace the stored ones when not empty.
func (db *DB) AddSighting(ctx context.Context, s intel.Sighting) (intel.Sighting, error) {
	if !s.Observable.Type.Valid() || s.Observable.Value == "" {
		return intel.Sighting{}, fmt.Errorf("adding sighting: invalid observable %s", s.Observable)
	}
	switch s.Verdict {
	case "", "tp", "fp":
	default:
		return intel.Sighting{}, fmt.Errorf("adding sighting of %s: invalid verdict %q (want tp or fp)", s.Observable, s.Verdict)
	}
	switch {
	case s.FirstSeen.IsZero() && s.LastSeen.IsZero():
		s.FirstSeen = db.now()
		s.LastSeen = s.FirstSeen
	case s.FirstSeen.IsZero():
		s.FirstSeen = s.LastSeen
	case s.LastSeen.IsZero():
		s.LastSeen = s.FirstSeen
	}
	if s.Count < 1 {
		s.Count = 1
	}
	row := db.w.QueryRowContext(ctx, `INSERT INTO sightings
		(type, value, location, first_seen, last_seen, count, verdict, note)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (type, value, location) DO UPDATE SET
			first_seen = min(sightings.first_seen, excluded.first_seen),
			last_seen = max(sightings.last_seen, excluded.last_seen),
			count = sightings.count + excluded.count,
			verdict = CASE WHEN excluded.verdict <> '' THEN excluded.verdict ELSE sightings.verdict END,
			note = CASE WHEN excluded.note <> '' THEN excluded.note ELSE sightings.note END
		RETURNING `+sightingColumns,
		string(s.Observable.Type), s.Observable.Value, s.Where, toNS(s.FirstSeen), toNS(s.LastSeen),
		int64(s.Count), s.Verdict, s.Note)
	out, err := scanSighting(row)
	if err != nil {
		return intel.Sighting{}, fmt.Errorf("adding sighting of %s: %w", s.Observable, err)
	}
	return out, nil
}

// Sightings returns the sightings of o, most recently seen first.
func (db *DB) Sightings(ctx context.Context, o intel.Observable) ([]intel.Sighting, error) {
	out, err := queryAll(ctx, db.r, scanSighting, `SELECT `+sightingColumns+` FROM sightings
		WHERE type = ? AND value = ? ORDER BY last_seen DESC, id`, string(o.Type), o.Value)
	if err != nil {
		return nil, fmt.Errorf("listing sightings of %s: %w", o, err)
	}
	return out, nil
}

func scanSighting(sc scanner) (intel.Sighting, error) {
	var s intel.Sighting
	var typ string
	var first, last int64
	if err := sc.Scan(&s.ID, &typ, &s.Observable.Value, &s.Where, &first, &last, &s.Count, &s.Verdict,
		&s.Note); err != nil {
		return intel.Sighting{}, err
	}
	s.Observable.Type = intel.Type(typ)
	s.FirstSeen, s.LastSeen = fromNS(first), fromNS(last)
	return s, nil
}

// Assets.

const assetColumns = `id, kind, name, asset_values, criticality, data_class, service, owner, exposure,
	attributes, created_at, updated_at`

// PutAsset inserts a (ID 0) or replaces the asset with a's ID ([store.ErrNotFound] when there is
// none). CreatedAt is set on insert and kept on update; UpdatedAt is set to now.
func (db *DB) PutAsset(ctx context.Context, a intel.Asset) (intel.Asset, error) {
	if strings.TrimSpace(a.Kind) == "" {
		return intel.Asset{}, fmt.Errorf("storing asset %q: empty kind", a.Name)
	}
	attrs, err := encodeJSON(a.Attributes)
	if err != nil {
		return intel.Asset{}, fmt.Errorf("encoding attributes of asset %q: %w", a.Name, err)
	}
	now := toNS(db.now())
	args := []any{a.Kind, a.Name, encodeStrings(a.Values), string(a.Criticality), a.DataClass, a.Service,
		a.Owner, a.Exposure, attrs}
	var row *sql.Row
	if a.ID == 0 {
		row = db.w.QueryRowContext(ctx, `INSERT INTO assets (kind, name, asset_values, criticality,
			data_class, service, owner, exposure, attributes, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+assetColumns, append(args, now, now)...)
	} else {
		row = db.w.QueryRowContext(ctx, `UPDATE assets SET kind = ?, name = ?, asset_values = ?,
			criticality = ?, data_class = ?, service = ?, owner = ?, exposure = ?, attributes = ?,
			updated_at = ? WHERE id = ? RETURNING `+assetColumns, append(args, now, a.ID)...)
	}
	out, err := scanAsset(row)
	if errors.Is(err, sql.ErrNoRows) {
		return intel.Asset{}, notFound("asset", a.ID)
	}
	if err != nil {
		return intel.Asset{}, fmt.Errorf("storing asset %q: %w", a.Name, err)
	}
	return out, nil
}

// Asset returns the asset with the given ID.
func (db *DB) Asset(ctx context.Context, id int64) (intel.Asset, error) {
	a, err := scanAsset(db.r.QueryRowContext(ctx, "SELECT "+assetColumns+" FROM assets WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return intel.Asset{}, notFound("asset", id)
	}
	if err != nil {
		return intel.Asset{}, fmt.Errorf("reading asset %d: %w", id, err)
	}
	return a, nil
}

// ListAssets returns the assets of the given kind ("" for all) ordered by ID.
func (db *DB) ListAssets(ctx context.Context, kind string) ([]intel.Asset, error) {
	q, args := "SELECT "+assetColumns+" FROM assets ORDER BY id", []any(nil)
	if kind != "" {
		q, args = "SELECT "+assetColumns+" FROM assets WHERE kind = ? ORDER BY id", []any{kind}
	}
	out, err := queryAll(ctx, db.r, scanAsset, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing assets: %w", err)
	}
	return out, nil
}

// DeleteAsset deletes the asset with the given ID.
func (db *DB) DeleteAsset(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, "DELETE FROM assets WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("deleting asset %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("asset", id)
	}
	return nil
}

func scanAsset(sc scanner) (intel.Asset, error) {
	var a intel.Asset
	var values, crit, attrs string
	var created, updated int64
	if err := sc.Scan(&a.ID, &a.Kind, &a.Name, &values, &crit, &a.DataClass, &a.Service, &a.Owner,
		&a.Exposure, &attrs, &created, &updated); err != nil {
		return intel.Asset{}, err
	}
	var err error
	if a.Values, err = decodeStrings(values); err != nil {
		return intel.Asset{}, fmt.Errorf("reading asset %d: %w", a.ID, err)
	}
	if a.Attributes, err = decodeJSON[map[string]string](attrs); err != nil {
		return intel.Asset{}, fmt.Errorf("reading asset %d: %w", a.ID, err)
	}
	a.Criticality = intel.Criticality(crit)
	a.CreatedAt, a.UpdatedAt = fromNS(created), fromNS(updated)
	return a, nil
}

// Audit log.

// AppendAudit appends e to the audit log; a zero Time means now.
func (db *DB) AppendAudit(ctx context.Context, e intel.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	if _, err := db.w.ExecContext(ctx,
		"INSERT INTO audit_log (time, actor, action, object, detail) VALUES (?, ?, ?, ?, ?)",
		toNS(e.Time), e.Actor, e.Action, e.Object, e.Detail); err != nil {
		return fmt.Errorf("appending audit entry %s: %w", e.Action, err)
	}
	return nil
}

// AuditLog returns the entries at or after f.Since, newest (by Time, then ID) first.
func (db *DB) AuditLog(ctx context.Context, f store.AuditFilter) ([]intel.AuditEntry, error) {
	q, args := "SELECT id, time, actor, action, object, detail FROM audit_log", []any(nil)
	if !f.Since.IsZero() {
		q += " WHERE time >= ?"
		args = append(args, toNS(f.Since))
	}
	q += " ORDER BY time DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	out, err := queryAll(ctx, db.r, scanAudit, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	return out, nil
}

func scanAudit(sc scanner) (intel.AuditEntry, error) {
	var e intel.AuditEntry
	var t int64
	err := sc.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Object, &e.Detail)
	e.Time = fromNS(t)
	return e, err
}

// API keys.

const apiKeyColumns = "id, name, role, prefix, hash, clearance, created_at, last_used, revoked"

// CreateAPIKey stores k; CreatedAt is set to now. A taken name or hash is [store.ErrConflict].
func (db *DB) CreateAPIKey(ctx context.Context, k intel.APIKey) (intel.APIKey, error) {
	if strings.TrimSpace(k.Name) == "" {
		return intel.APIKey{}, errors.New("creating API key: empty name")
	}
	if len(k.Hash) == 0 {
		return intel.APIKey{}, fmt.Errorf("creating API key %s: empty hash", k.Name)
	}
	if _, err := intel.ParseRole(string(k.Role)); err != nil {
		return intel.APIKey{}, fmt.Errorf("creating API key %s: %w", k.Name, err)
	}
	row := db.w.QueryRowContext(ctx, `INSERT INTO api_keys (name, role, prefix, hash, clearance, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING `+apiKeyColumns,
		k.Name, string(k.Role), k.Prefix, k.Hash, int64(k.Clearance), toNS(db.now()))
	out, err := scanAPIKey(row)
	if isUniqueViolation(err) {
		return intel.APIKey{}, fmt.Errorf("creating API key %s: %w", k.Name, store.ErrConflict)
	}
	if err != nil {
		return intel.APIKey{}, fmt.Errorf("creating API key %s: %w", k.Name, err)
	}
	return out, nil
}

// APIKeyByHash returns the key with the given hash, revoked or not (check Revoked).
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (intel.APIKey, error) {
	k, err := scanAPIKey(db.r.QueryRowContext(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return intel.APIKey{}, fmt.Errorf("API key: %w", store.ErrNotFound)
	}
	if err != nil {
		return intel.APIKey{}, fmt.Errorf("reading API key: %w", err)
	}
	return k, nil
}

// ListAPIKeys returns every key ordered by ID, without hashes.
func (db *DB) ListAPIKeys(ctx context.Context) ([]intel.APIKey, error) {
	out, err := queryAll(ctx, db.r, scanAPIKey, "SELECT "+apiKeyColumns+" FROM api_keys ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("listing API keys: %w", err)
	}
	for i := range out {
		out[i].Hash = nil
	}
	return out, nil
}

// RevokeAPIKey marks the key with the given ID revoked.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, "UPDATE api_keys SET revoked = 1 WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("revoking API key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("API key", id)
	}
	return nil
}

// TouchAPIKey records that the key was used at at; LastUsed never moves back.
func (db *DB) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	res, err := db.w.ExecContext(ctx, "UPDATE api_keys SET last_used = max(last_used, ?) WHERE id = ?",
		toNS(at), id)
	if err != nil {
		return fmt.Errorf("touching API key %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("API key", id)
	}
	return nil
}

func scanAPIKey(sc scanner) (intel.APIKey, error) {
	var k intel.APIKey
	var role string
	var clearance, created, used, revoked int64
	if err := sc.Scan(&k.ID, &k.Name, &role, &k.Prefix, &k.Hash, &clearance, &created, &used,
		&revoked); err != nil {
		return intel.APIKey{}, err
	}
	k.Role = intel.Role(role)
	k.Clearance = intel.TLP(clearance)
	k.CreatedAt, k.LastUsed = fromNS(created), fromNS(used)
	k.Revoked = revoked != 0
	return k, nil
}

// Stats counts the rows of each kind. Counting indicators and reports reads their smallest index,
// which takes some milliseconds per million rows.
func (db *DB) Stats(ctx context.Context) (store.Stats, error) {
	var s store.Stats
	err := db.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM sources), (SELECT count(*) FROM indicators),
		(SELECT count(*) FROM reports), (SELECT count(*) FROM entities),
		(SELECT count(*) FROM relationships), (SELECT count(*) FROM sightings),
		(SELECT count(*) FROM assets), (SELECT count(*) FROM findings)`).Scan(
		&s.Sources, &s.Indicators, &s.Reports, &s.Entities, &s.Relationships, &s.Sightings, &s.Assets,
		&s.Findings)
	if err != nil {
		return store.Stats{}, fmt.Errorf("counting stored objects: %w", err)
	}
	return s, nil
}
