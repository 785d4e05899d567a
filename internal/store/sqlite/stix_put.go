package sqlite

// Writing STIX object versions in bulk.
//
// The importer stores a bundle in calls of about a thousand versions. Per row, a statement costs
// far more than its values (the step, the halt, database/sql's bookkeeping), so the versions are
// written by multi-row INSERT ... VALUES statements in one transaction per call, the statement of
// a full chunk prepared once per call.
//
// DateAdded must be strictly increasing over the store, with no number spent on a version that was
// held already. A multi-row insert cannot tell which of its rows it skipped while it numbers them,
// so the call first assumes that none of its versions is held (the common case: fresh
// intelligence) unless a small probe finds one, numbers them in order and checks that every row
// went in. Should one be held after all, the transaction is rolled back and the call is made again
// the careful way: the held versions are looked up first and only the others are inserted.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/omen-tip/omen/internal/store"
)

const (
	stixInsertCols  = 11
	stixLookupCols  = 4
	stixRowsPerPut  = 200 // rows per INSERT: 2,200 variables, within SQLite's 32,766
	stixRowsPerFind = 250 // keys per lookup: 1,000 variables
	stixProbeSize   = 8   // versions probed before the optimistic insert
)

// errSTIXHeld ends an optimistic put that met a version held already.
var errSTIXHeld = errors.New("a STIX version is held already")

// stixInsertHead begins the insert. OR IGNORE rather than ON CONFLICT DO NOTHING: with no
// constraint that can abort, SQLite writes the rows without a statement journal (a copy of every
// page the statement changes). A row skipped for any reason, not only a held key, shows in the
// count of rows inserted, which the caller checks.
const stixInsertHead = `INSERT OR IGNORE INTO stix_objects
	(collection, id, modified, type, spec_version, created, revoked, tlp, confidence, date_added, raw)
	VALUES `

// stixVersion is one version to store, with its times converted.
type stixVersion struct {
	o                 *store.STIXObject
	modified, created int64
}

// stixKey is the primary key of a version.
type stixKey struct {
	coll, id string
	modified int64
}

// distinctSTIXVersions returns the versions of objs, the first of each key only (a later copy
// in the same call is a version held already).
func distinctSTIXVersions(objs []store.STIXObject) []stixVersion {
	vs := make([]stixVersion, 0, len(objs))
	seen := make(map[stixKey]struct{}, len(objs))
	for i := range objs {
		o := &objs[i]
		v := stixVersion{o: o, modified: toNS(o.Modified), created: toNS(o.Created)}
		k := stixKey{o.Collection, o.ID, v.modified}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		vs = append(vs, v)
	}
	return vs
}

// putSTIXVersions inserts the versions of vs (distinct keys) not held yet, giving them date_added
// max(now, last+1), +1, +2, ... in their order, and records the last one handed out in stix_clock.
// When optimistic it assumes none is held and returns errSTIXHeld if one is, having written
// nothing the caller should keep (it must roll tx back).
func putSTIXVersions(ctx context.Context, tx *sql.Tx, vs []stixVersion, now int64, optimistic bool) (int, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT date_added FROM stix_clock WHERE one = 1").Scan(&last); err != nil {
		return 0, fmt.Errorf("reading the date_added clock: %w", err)
	}
	if optimistic && len(vs) > stixProbeSize {
		sample := make([]stixVersion, stixProbeSize)
		for i := range sample {
			sample[i] = vs[i*(len(vs)-1)/(stixProbeSize-1)]
		}
		held, err := lookupSTIXVersions(ctx, tx, sample)
		if err != nil {
			return 0, err
		}
		if held != nil {
			optimistic = false
		}
	}
	if !optimistic {
		held, err := lookupSTIXVersions(ctx, tx, vs)
		if err != nil {
			return 0, err
		}
		if held != nil {
			fresh := make([]stixVersion, 0, len(vs))
			for i, v := range vs {
				if !held[i] {
					fresh = append(fresh, v)
				}
			}
			vs = fresh
		}
	}
	if len(vs) == 0 {
		return 0, nil
	}
	base := max(now, last+1)
	if err := insertSTIXVersions(ctx, tx, vs, base); err != nil {
		if errors.Is(err, errSTIXHeld) && !optimistic {
			return 0, errors.New("inserting STIX versions: a version looked up as new was not inserted")
		}
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE stix_clock SET date_added = ? WHERE one = 1",
		base+int64(len(vs))-1); err != nil {
		return 0, fmt.Errorf("advancing the date_added clock: %w", err)
	}
	return len(vs), nil
}

// insertSTIXVersions inserts vs with date_added base, base+1, ...; errSTIXHeld when a row was
// skipped as held.
func insertSTIXVersions(ctx context.Context, tx *sql.Tx, vs []stixVersion, base int64) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, min(len(vs), stixRowsPerPut)*stixInsertCols)
	for lo := 0; lo < len(vs); lo += stixRowsPerPut {
		hi := min(lo+stixRowsPerPut, len(vs))
		args = args[:0]
		for j := lo; j < hi; j++ {
			v := &vs[j]
			o := v.o
			args = append(args, o.Collection, o.ID, v.modified, o.Type, o.SpecVersion, v.created,
				boolInt(o.Revoked), int64(o.TLP), int64(o.Confidence), base+int64(j), o.Raw)
		}
		var (
			res sql.Result
			err error
		)
		if hi-lo == stixRowsPerPut {
			if full == nil {
				full, err = tx.PrepareContext(ctx, stixInsertHead+tuples(stixRowsPerPut, stixInsertCols))
				if err != nil {
					return fmt.Errorf("preparing the STIX insert: %w", err)
				}
			}
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, stixInsertHead+tuples(hi-lo, stixInsertCols), args...)
		}
		if err != nil {
			return fmt.Errorf("inserting STIX versions (%s...): %w", vs[lo].o.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("inserting STIX versions: %w", err)
		}
		if n != int64(hi-lo) {
			return errSTIXHeld
		}
	}
	return nil
}

// lookupSTIXVersions returns which versions of vs are held, nil when none is.
func lookupSTIXVersions(ctx context.Context, tx *sql.Tx, vs []stixVersion) ([]bool, error) {
	var held []bool
	args := make([]any, 0, min(len(vs), stixRowsPerFind)*stixLookupCols)
	for lo := 0; lo < len(vs); lo += stixRowsPerFind {
		hi := min(lo+stixRowsPerFind, len(vs))
		args = args[:0]
		for j := lo; j < hi; j++ {
			args = append(args, int64(j), vs[j].o.Collection, vs[j].o.ID, vs[j].modified)
		}
		rows, err := tx.QueryContext(ctx, `SELECT k.column1 FROM (VALUES `+tuples(hi-lo, stixLookupCols)+`) AS k
			WHERE EXISTS (SELECT 1 FROM stix_objects AS s
				WHERE s.collection = k.column2 AND s.id = k.column3 AND s.modified = k.column4)`, args...)
		if err != nil {
			return nil, fmt.Errorf("looking up STIX versions: %w", err)
		}
		for rows.Next() {
			var j int64
			if err := rows.Scan(&j); err != nil {
				rows.Close()
				return nil, fmt.Errorf("looking up STIX versions: %w", err)
			}
			if j < int64(lo) || j >= int64(hi) {
				rows.Close()
				return nil, fmt.Errorf("looking up STIX versions: row %d out of range", j)
			}
			if held == nil {
				held = make([]bool, len(vs))
			}
			held[j] = true
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("looking up STIX versions: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("looking up STIX versions: %w", err)
		}
	}
	return held, nil
}
