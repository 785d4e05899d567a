package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// The STIX object store (migration 5). Versions are rows of stix_objects keyed by (collection, id,
// modified); pages are read in date_added order through the (collection, date_added) index, and
// the version filters look up an object's other versions through the primary key. See
// stix_query.go for the SQL of the reads and stix_put.go for the bulk writes.

// PutSTIXObjects implements [store.STIXStore]. All versions are written in one transaction (a
// second one when the optimistic first finds a version held, see stix_put.go, after rolling the
// first back); an invalid version (no collection, id or type, no JSON, a TLP out of range) fails
// the whole call.
func (db *DB) PutSTIXObjects(ctx context.Context, objs []store.STIXObject) (int, error) {
	for i, o := range objs {
		if err := checkSTIXObject(o); err != nil {
			return 0, fmt.Errorf("storing STIX object %d (%s): %w", i, o.ID, err)
		}
	}
	if len(objs) == 0 {
		return 0, nil
	}
	vs := distinctSTIXVersions(objs)
	now := db.now().UnixMicro()
	put := func(optimistic bool) (int, error) {
		added := 0
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			added, err = putSTIXVersions(ctx, tx, vs, now, optimistic)
			return err
		})
		return added, err
	}
	added, err := put(true)
	if errors.Is(err, errSTIXHeld) {
		// A version was held after all: the transaction is rolled back; look them up first.
		added, err = put(false)
	}
	if err != nil {
		return 0, fmt.Errorf("storing STIX objects: %w", err)
	}
	return added, nil
}

// checkSTIXObject rejects what cannot be stored.
func checkSTIXObject(o store.STIXObject) error {
	switch {
	case o.Collection == "":
		return errors.New("no collection")
	case o.ID == "":
		return errors.New("no id")
	case o.Type == "":
		return errors.New("no type")
	case len(o.Raw) == 0:
		return errors.New("no JSON")
	case o.TLP > intel.TLPRed:
		return fmt.Errorf("invalid TLP %d", o.TLP)
	}
	return nil
}

// STIXObjects implements [store.STIXStore]. A malformed Next or version timestamp is an error.
func (db *DB) STIXObjects(ctx context.Context, q store.STIXQuery) (store.STIXPage, error) {
	after, hasCursor, err := decodeSTIXCursor(q.Next)
	if err != nil {
		return store.STIXPage{}, err
	}
	b, err := newSTIXQuery(q)
	if err != nil {
		return store.STIXPage{}, err
	}
	query, args := b.page(after, hasCursor, q.Limit)
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return store.STIXPage{}, fmt.Errorf("querying STIX objects of %s: %w", q.Collection, err)
	}
	objs, err := scanSTIXObjects(rows)
	if err != nil {
		return store.STIXPage{}, fmt.Errorf("reading STIX objects of %s: %w", q.Collection, err)
	}
	var p store.STIXPage
	if q.Limit > 0 && len(objs) > q.Limit {
		objs = objs[:q.Limit]
		p.More = true
		p.Next = encodeSTIXCursor(objs[len(objs)-1].DateAdded)
	}
	p.Objects = objs
	return p, nil
}

// scanSTIXObjects reads the rows of [stixQuery.page] and closes them.
func scanSTIXObjects(rows *sql.Rows) ([]store.STIXObject, error) {
	defer rows.Close()
	var out []store.STIXObject
	for rows.Next() {
		var (
			o                                      store.STIXObject
			modified, created, revoked, tlp, added int64
			confidence                             int64
		)
		if err := rows.Scan(&o.Collection, &o.ID, &modified, &o.Type, &o.SpecVersion, &created, &revoked,
			&tlp, &confidence, &added, &o.Raw); err != nil {
			return nil, err
		}
		o.Modified, o.Created = fromNS(modified), fromNS(created)
		o.Revoked = revoked != 0
		o.TLP = intel.TLP(tlp)
		o.Confidence = int(confidence)
		o.DateAdded = time.UnixMicro(added).UTC()
		out = append(out, o)
	}
	return out, rows.Err()
}

// DeleteSTIXObject implements [store.STIXStore].
func (db *DB) DeleteSTIXObject(ctx context.Context, coll, id string, q store.STIXQuery) (int, error) {
	b, err := newSTIXQuery(store.STIXQuery{Collection: coll, IDs: []string{id}, Versions: q.Versions,
		SpecVersions: q.SpecVersions, MaxTLP: intel.TLPRed})
	if err != nil {
		return 0, err
	}
	n := 0
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		query, args := b.rowids()
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var rowid int64
			if err := rows.Scan(&rowid); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, rowid)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, rowid := range ids {
			if _, err := tx.ExecContext(ctx, "DELETE FROM stix_objects WHERE rowid = ?", rowid); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("deleting STIX object %s of %s: %w", id, coll, err)
	}
	if n == 0 {
		return 0, notFound("STIX object", coll+"/"+id)
	}
	return n, nil
}

// PutTAXIIStatus implements [store.STIXStore].
func (db *DB) PutTAXIIStatus(ctx context.Context, id string, status []byte) error {
	if id == "" {
		return errors.New("storing TAXII status: empty id")
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO taxii_status (id, status, updated) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated = excluded.updated`,
		id, status, toNS(db.now()))
	if err != nil {
		return fmt.Errorf("storing TAXII status %s: %w", id, err)
	}
	return nil
}

// TAXIIStatus implements [store.STIXStore].
func (db *DB) TAXIIStatus(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := db.r.QueryRowContext(ctx, "SELECT status FROM taxii_status WHERE id = ?", id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("TAXII status", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading TAXII status %s: %w", id, err)
	}
	return b, nil
}

// A cursor is the date_added (Unix microseconds) of the last version of a page: the next page
// starts strictly after it. Versions added later always sort after it, so paging is stable while
// objects arrive.
const cursorPrefix = "a"

func encodeSTIXCursor(t time.Time) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(t.UnixMicro(), 10)))
}

// decodeSTIXCursor returns the date_added to continue after; ok is false for "".
func decodeSTIXCursor(s string) (after int64, ok bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if v, found := strings.CutPrefix(string(b), cursorPrefix); found {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n, true, nil
			}
		}
	}
	return 0, false, fmt.Errorf("invalid STIX page cursor %.40q", s)
}
