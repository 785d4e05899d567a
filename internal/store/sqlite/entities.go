package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

const entityColumns = `e.id, e.type, e.name, e.aliases, e.description, e.source, e.tlp, e.created, e.modified,
	e.attributes`

// PutEntities inserts or replaces the entities by ID, all in one transaction.
func (db *DB) PutEntities(ctx context.Context, es []intel.Entity) error {
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		if strings.TrimSpace(e.ID) == "" {
			return fmt.Errorf("storing entity %q: empty id", e.Name)
		}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO entities
			(id, type, name, aliases, description, source, tlp, created, modified, attributes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET type = excluded.type, name = excluded.name,
				aliases = excluded.aliases, description = excluded.description, source = excluded.source,
				tlp = excluded.tlp, created = excluded.created, modified = excluded.modified,
				attributes = excluded.attributes`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range es {
			attrs, err := encodeJSON(e.Attributes)
			if err != nil {
				return fmt.Errorf("encoding attributes of entity %s: %w", e.ID, err)
			}
			if _, err := stmt.ExecContext(ctx, e.ID, string(e.Type), e.Name, encodeStrings(e.Aliases),
				e.Description, e.Source, int64(e.TLP), toNS(e.Created), toNS(e.Modified), attrs); err != nil {
				return fmt.Errorf("storing entity %s: %w", e.ID, err)
			}
			if err := putEntityNames(ctx, tx, e.ID, append([]string{e.Name}, e.Aliases...)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing %d entities: %w", len(es), err)
	}
	return nil
}

// MergeEntityAttributes sets attrs on the entity id, keeping its other attributes and fields. It
// is one read and one write in a write transaction, so concurrent merges do not lose each other's
// keys. The stored attributes are decoded to raw JSON values only: the untouched ones are written
// back byte for byte (no float64 round trip), and the cost stays low enough to call it for every
// entity of a large feed.
func (db *DB) MergeEntityAttributes(ctx context.Context, id string, attrs map[string]any) error {
	vals := make(map[string]json.RawMessage, len(attrs))
	for k, v := range attrs {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding attribute %s of entity %s: %w", k, id, err)
		}
		vals[k] = b
	}
	// Prepared before the transaction takes the writer's one connection.
	sel, upd, err := db.mergeStmts(ctx)
	if err != nil {
		return fmt.Errorf("merging attributes of entity %s: %w", id, err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var stored string
		err := tx.StmtContext(ctx, sel).QueryRowContext(ctx, id).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("entity", id)
		}
		if err != nil {
			return err
		}
		if len(vals) == 0 {
			return nil
		}
		merged, err := decodeJSON[map[string]json.RawMessage](stored)
		if err != nil {
			return err
		}
		if merged == nil {
			merged = vals
		} else {
			maps.Copy(merged, vals)
		}
		enc, err := encodeJSON(merged)
		if err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, upd).ExecContext(ctx, enc, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("merging attributes of entity %s: %w", id, err)
	}
	return nil
}

// mergeStmts returns the statements of MergeEntityAttributes, prepared once on the writer (its one
// connection keeps them, so a transaction reuses them without parsing the SQL again).
func (db *DB) mergeStmts(ctx context.Context) (sel, upd *sql.Stmt, err error) {
	db.mergeMu.Lock()
	defer db.mergeMu.Unlock()
	if db.mergeSel == nil {
		if db.mergeSel, err = db.w.PrepareContext(ctx, "SELECT attributes FROM entities WHERE id = ?"); err != nil {
			return nil, nil, err
		}
	}
	if db.mergeUpd == nil {
		if db.mergeUpd, err = db.w.PrepareContext(ctx, "UPDATE entities SET attributes = ? WHERE id = ?"); err != nil {
			return nil, nil, err
		}
	}
	return db.mergeSel, db.mergeUpd, nil
}

// Entity returns the entity with the given ID.
func (db *DB) Entity(ctx context.Context, id string) (intel.Entity, error) {
	row := db.r.QueryRowContext(ctx, "SELECT "+entityColumns+" FROM entities e WHERE e.id = ?", id)
	e, err := scanEntity(row)
	if errors.Is(err, sql.ErrNoRows) {
		return intel.Entity{}, notFound("entity", id)
	}
	if err != nil {
		return intel.Entity{}, fmt.Errorf("reading entity %s: %w", id, err)
	}
	return e, nil
}

// ListEntities returns the entities matching f ordered by name, then ID. The name is matched
// against names and aliases after folding case (Unicode lower case, surrounding space trimmed).
func (db *DB) ListEntities(ctx context.Context, f store.EntityFilter) ([]intel.Entity, error) {
	var where []string
	var args []any
	if f.Type != "" {
		where = append(where, "e.type = ?")
		args = append(args, string(f.Type))
	}
	if f.Name != "" {
		where = append(where, "e.id IN (SELECT entity_id FROM entity_names WHERE name = ?)")
		args = append(args, foldName(f.Name))
	}
	q := "SELECT " + entityColumns + " FROM entities e"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY e.name, e.id"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	out, err := queryAll(ctx, db.r, scanEntity, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing entities: %w", err)
	}
	return out, nil
}

func scanEntity(sc scanner) (intel.Entity, error) {
	var e intel.Entity
	var typ, aliases, attrs string
	var tlp, created, modified int64
	if err := sc.Scan(&e.ID, &typ, &e.Name, &aliases, &e.Description, &e.Source, &tlp, &created,
		&modified, &attrs); err != nil {
		return intel.Entity{}, err
	}
	var err error
	if e.Aliases, err = decodeStrings(aliases); err != nil {
		return intel.Entity{}, fmt.Errorf("reading entity %s: %w", e.ID, err)
	}
	if e.Attributes, err = decodeJSON[map[string]any](attrs); err != nil {
		return intel.Entity{}, fmt.Errorf("reading entity %s: %w", e.ID, err)
	}
	e.Type = intel.EntityType(typ)
	e.TLP = intel.TLP(tlp)
	e.Created, e.Modified = fromNS(created), fromNS(modified)
	return e, nil
}

const relationshipColumns = "id, type, source_ref, target_ref, source, tlp, created, modified"

// PutRelationships inserts or replaces the relationships by ID, all in one transaction.
func (db *DB) PutRelationships(ctx context.Context, rs []intel.Relationship) error {
	if len(rs) == 0 {
		return nil
	}
	for _, r := range rs {
		if strings.TrimSpace(r.ID) == "" {
			return fmt.Errorf("storing relationship %s -> %s: empty id", r.SourceRef, r.TargetRef)
		}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO relationships (`+relationshipColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET type = excluded.type, source_ref = excluded.source_ref,
				target_ref = excluded.target_ref, source = excluded.source, tlp = excluded.tlp,
				created = excluded.created, modified = excluded.modified`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rs {
			if _, err := stmt.ExecContext(ctx, r.ID, r.Type, r.SourceRef, r.TargetRef, r.Source,
				int64(r.TLP), toNS(r.Created), toNS(r.Modified)); err != nil {
				return fmt.Errorf("storing relationship %s: %w", r.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing %d relationships: %w", len(rs), err)
	}
	return nil
}

// Relationships returns the relationships with ref as source or target, ordered by ID.
func (db *DB) Relationships(ctx context.Context, ref string) ([]intel.Relationship, error) {
	out, err := queryAll(ctx, db.r, scanRelationship, `SELECT `+relationshipColumns+` FROM relationships
		WHERE source_ref = ?1 OR target_ref = ?1 ORDER BY id`, ref)
	if err != nil {
		return nil, fmt.Errorf("listing relationships of %s: %w", ref, err)
	}
	return out, nil
}

// RelationshipsFrom implements [store.Store].
func (db *DB) RelationshipsFrom(ctx context.Context, refs []string) ([]intel.Relationship, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(refs)
	if err != nil {
		return nil, err
	}
	out, err := queryPrepared(ctx, db, scanRelationship, `SELECT `+relationshipColumns+` FROM relationships
		WHERE source_ref IN (SELECT value FROM json_each(?1)) ORDER BY id`, string(b))
	if err != nil {
		return nil, fmt.Errorf("listing relationships from %d objects: %w", len(refs), err)
	}
	return out, nil
}

func scanRelationship(sc scanner) (intel.Relationship, error) {
	var r intel.Relationship
	var tlp, created, modified int64
	err := sc.Scan(&r.ID, &r.Type, &r.SourceRef, &r.TargetRef, &r.Source, &tlp, &created, &modified)
	r.TLP = intel.TLP(tlp)
	r.Created, r.Modified = fromNS(created), fromNS(modified)
	return r, err
}
