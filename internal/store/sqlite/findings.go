package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Findings.

const findingColumns = `id, kind, title, obs_type, obs_value, asset_id, priority, status, assignee, tlp,
	evidence, recommendations, created_at, updated_at, dedupe_key, level, count, last_seen, closed_at, detail,
	actions, note`

// rowQueryer is the writer pool or a transaction.
type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// PutFinding inserts f (ID 0) or replaces the finding with f's ID ([store.ErrNotFound] when there
// is none). An empty Status is stored as [intel.FindingNew], a Count below 1 as 1, a zero LastSeen
// as CreatedAt. CreatedAt is set on insert (to f.CreatedAt when given, else now) and kept on
// update; UpdatedAt is set to now.
func (db *DB) PutFinding(ctx context.Context, f intel.Finding) (intel.Finding, error) {
	return db.putFinding(ctx, db.w, f)
}

func (db *DB) putFinding(ctx context.Context, q rowQueryer, f intel.Finding) (intel.Finding, error) {
	if f.Status == "" {
		f.Status = intel.FindingNew
	}
	if len(f.Detail) > 0 && !json.Valid(f.Detail) {
		return intel.Finding{}, fmt.Errorf("storing finding %q: detail is not valid JSON", f.Title)
	}
	f.Count = max(f.Count, 1)
	var ot, ov string
	if f.Observable != nil {
		ot, ov = string(f.Observable.Type), f.Observable.Value
	}
	now := toNS(db.now())
	args := []any{f.Kind, f.Title, ot, ov, f.AssetID, int64(f.Priority), f.Status, f.Assignee,
		int64(f.TLP), encodeStrings(f.Evidence), encodeStrings(f.Recommendations), f.Key, f.Level,
		int64(f.Count), toNS(f.ClosedAt), string(f.Detail), encodeStrings(f.Actions), f.Note}
	var row *sql.Row
	if f.ID == 0 {
		created := now
		if !f.CreatedAt.IsZero() {
			created = toNS(f.CreatedAt)
		}
		last := created
		if !f.LastSeen.IsZero() {
			last = toNS(f.LastSeen)
		}
		row = q.QueryRowContext(ctx, `INSERT INTO findings (kind, title, obs_type, obs_value, asset_id,
			priority, status, assignee, tlp, evidence, recommendations, dedupe_key, level, count, closed_at,
			detail, actions, note, last_seen, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+findingColumns,
			append(args, last, created, now)...)
	} else {
		// A zero LastSeen on update takes the kept CreatedAt.
		row = q.QueryRowContext(ctx, `UPDATE findings SET kind = ?, title = ?, obs_type = ?,
			obs_value = ?, asset_id = ?, priority = ?, status = ?, assignee = ?, tlp = ?, evidence = ?,
			recommendations = ?, dedupe_key = ?, level = ?, count = ?, closed_at = ?, detail = ?,
			actions = ?, note = ?, last_seen = CASE WHEN ? = 0 THEN created_at ELSE ? END,
			updated_at = ? WHERE id = ? RETURNING `+findingColumns,
			append(args, toNS(f.LastSeen), toNS(f.LastSeen), now, f.ID)...)
	}
	out, err := scanFinding(row)
	if errors.Is(err, sql.ErrNoRows) {
		return intel.Finding{}, notFound("finding", f.ID)
	}
	if err != nil {
		return intel.Finding{}, fmt.Errorf("storing finding %q: %w", f.Title, err)
	}
	return out, nil
}

// UpdateFinding reads the finding id, applies fn and stores the result, all in one write
// transaction.
func (db *DB) UpdateFinding(ctx context.Context, id int64, fn func(f *intel.Finding) error) (intel.Finding, error) {
	var out intel.Finding
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		f, err := scanFinding(tx.QueryRowContext(ctx, "SELECT "+findingColumns+" FROM findings WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("finding", id)
		}
		if err != nil {
			return fmt.Errorf("reading finding %d: %w", id, err)
		}
		if err := fn(&f); err != nil {
			return err
		}
		f.ID = id
		out, err = db.putFinding(ctx, tx, f)
		return err
	})
	if err != nil {
		return intel.Finding{}, err
	}
	return out, nil
}

// Finding returns the finding with the given ID.
func (db *DB) Finding(ctx context.Context, id int64) (intel.Finding, error) {
	f, err := scanFinding(db.r.QueryRowContext(ctx, "SELECT "+findingColumns+" FROM findings WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return intel.Finding{}, notFound("finding", id)
	}
	if err != nil {
		return intel.Finding{}, fmt.Errorf("reading finding %d: %w", id, err)
	}
	return f, nil
}

// ListFindings returns the findings matching f, newest (by CreatedAt, then ID) first.
func (db *DB) ListFindings(ctx context.Context, f store.FindingFilter) ([]intel.Finding, error) {
	var where []string
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Key != "" {
		where, args = append(where, "dedupe_key = ?"), append(args, f.Key)
	}
	if f.Open {
		where, args = append(where, "status NOT IN (?, ?)"), append(args, intel.FindingResolved, intel.FindingFalsePositive)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "last_seen >= ?"), append(args, toNS(f.Since))
	}
	if f.MinPriority > 0 {
		where, args = append(where, "priority >= ?"), append(args, f.MinPriority)
	}
	if f.Observable != nil {
		where, args = append(where, "obs_type = ? AND obs_value = ?"), append(args, string(f.Observable.Type), f.Observable.Value)
	}
	q := "SELECT " + findingColumns + " FROM findings"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	out, err := queryAll(ctx, db.r, scanFinding, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing findings: %w", err)
	}
	return out, nil
}

func scanFinding(sc scanner) (intel.Finding, error) {
	var f intel.Finding
	var ot, ov, evidence, recs, detail, actions string
	var tlp, created, updated, last, closed int64
	if err := sc.Scan(&f.ID, &f.Kind, &f.Title, &ot, &ov, &f.AssetID, &f.Priority, &f.Status, &f.Assignee,
		&tlp, &evidence, &recs, &created, &updated, &f.Key, &f.Level, &f.Count, &last, &closed, &detail,
		&actions, &f.Note); err != nil {
		return intel.Finding{}, err
	}
	if ot != "" {
		f.Observable = &intel.Observable{Type: intel.Type(ot), Value: ov}
	}
	var err error
	if f.Evidence, err = decodeStrings(evidence); err != nil {
		return intel.Finding{}, fmt.Errorf("reading finding %d: %w", f.ID, err)
	}
	if f.Recommendations, err = decodeStrings(recs); err != nil {
		return intel.Finding{}, fmt.Errorf("reading finding %d: %w", f.ID, err)
	}
	if f.Actions, err = decodeStrings(actions); err != nil {
		return intel.Finding{}, fmt.Errorf("reading finding %d: %w", f.ID, err)
	}
	if detail != "" {
		f.Detail = json.RawMessage(detail)
	}
	f.TLP = intel.TLP(tlp)
	f.CreatedAt, f.UpdatedAt = fromNS(created), fromNS(updated)
	f.LastSeen, f.ClosedAt = fromNS(last), fromNS(closed)
	return f, nil
}

// Allowlist.

const allowColumns = "id, type, value, reason, actor, finding_id, created_at"

// PutAllow adds e's observable to the allowlist or updates its entry (reason, actor, finding).
func (db *DB) PutAllow(ctx context.Context, e intel.AllowEntry) (intel.AllowEntry, error) {
	if !e.Observable.Type.Valid() || e.Observable.Value == "" {
		return intel.AllowEntry{}, fmt.Errorf("allowlisting: invalid observable %s", e.Observable)
	}
	created := e.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	row := db.w.QueryRowContext(ctx, `INSERT INTO allowlist (type, value, reason, actor, finding_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (type, value) DO UPDATE SET reason = excluded.reason, actor = excluded.actor,
			finding_id = excluded.finding_id
		RETURNING `+allowColumns,
		string(e.Observable.Type), e.Observable.Value, e.Reason, e.Actor, e.FindingID, toNS(created))
	out, err := scanAllow(row)
	if err != nil {
		return intel.AllowEntry{}, fmt.Errorf("allowlisting %s: %w", e.Observable, err)
	}
	return out, nil
}

// Allowlist returns every allowlist entry ordered by ID.
func (db *DB) Allowlist(ctx context.Context) ([]intel.AllowEntry, error) {
	out, err := queryAll(ctx, db.r, scanAllow, "SELECT "+allowColumns+" FROM allowlist ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("reading the allowlist: %w", err)
	}
	return out, nil
}

// DeleteAllow removes the allowlist entry with the given ID.
func (db *DB) DeleteAllow(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, "DELETE FROM allowlist WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("deleting allowlist entry %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("allowlist entry", id)
	}
	return nil
}

func scanAllow(sc scanner) (intel.AllowEntry, error) {
	var e intel.AllowEntry
	var typ string
	var created int64
	if err := sc.Scan(&e.ID, &typ, &e.Observable.Value, &e.Reason, &e.Actor, &e.FindingID, &created); err != nil {
		return intel.AllowEntry{}, err
	}
	e.Observable.Type = intel.Type(typ)
	e.CreatedAt = fromNS(created)
	return e, nil
}

// SetSightingVerdict sets the verdict of every sighting of o.
func (db *DB) SetSightingVerdict(ctx context.Context, o intel.Observable, verdict string) (int, error) {
	switch verdict {
	case "", "tp", "fp":
	default:
		return 0, fmt.Errorf("setting the verdict of sightings of %s: invalid verdict %q (want tp or fp)", o, verdict)
	}
	res, err := db.w.ExecContext(ctx, "UPDATE sightings SET verdict = ? WHERE type = ? AND value = ?",
		verdict, string(o.Type), o.Value)
	if err != nil {
		return 0, fmt.Errorf("setting the verdict of sightings of %s: %w", o, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("setting the verdict of sightings of %s: %w", o, err)
	}
	return int(n), nil
}

// IndicatorsByID returns the indicators with the given IDs in argument order, IDs without an
// indicator left out. The distinct IDs are read 4096 at a time from a JSON array, all in one read
// transaction.
func (db *DB) IndicatorsByID(ctx context.Context, ids []int64) ([]intel.Indicator, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	distinct := make([]int64, 0, len(ids))
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			distinct = append(distinct, id)
		}
	}
	const query = `SELECT ` + indicatorColumns + `, ` + reportColumns + `, i.type
			FROM json_each(?) AS j CROSS JOIN indicators AS i ON i.id = j.value ` + reportJoin
	st, err := db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	// One chunk needs no transaction to be consistent; several share one.
	var q queryer = stmtQueryer{st}
	if len(distinct) > jsonChunk {
		tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("reading indicators by ID: %w", err)
		}
		defer tx.Rollback()
		q = stmtQueryer{tx.StmtContext(ctx, st)}
	}
	found := make(map[int64]*intel.Indicator, len(distinct))
	keep := func(in *intel.Indicator) error {
		found[in.ID] = in
		return nil
	}
	var b []byte
	for c := 0; c < len(distinct); c += jsonChunk {
		b = append(b[:0], '[')
		for i, id := range distinct[c:min(c+jsonChunk, len(distinct))] {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, id, 10)
		}
		b = append(b, ']')
		err := db.readWithNames(ctx, q, "", keep, query, string(b))
		if err != nil {
			return nil, fmt.Errorf("reading indicators by ID: %w", err)
		}
	}
	out := make([]intel.Indicator, 0, len(found))
	for _, id := range ids {
		if in, ok := found[id]; ok {
			out = append(out, *in)
		}
	}
	return out, nil
}
