package sqlite

import (
	"context"
	"database/sql"

	"github.com/omen-tip/omen/internal/store"
)

// PutSTIXObjectsRowwise stores objs one INSERT per row, as PutSTIXObjects did before it wrote
// multi-row statements: the reference of BenchmarkPutSTIXObjects.
func PutSTIXObjectsRowwise(ctx context.Context, db *DB, objs []store.STIXObject) (int, error) {
	added := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var last int64
		if err := tx.QueryRowContext(ctx, "SELECT date_added FROM stix_clock WHERE one = 1").Scan(&last); err != nil {
			return err
		}
		now := db.now().UnixMicro()
		st, err := tx.PrepareContext(ctx, `INSERT INTO stix_objects
			(collection, id, modified, type, spec_version, created, revoked, tlp, confidence, date_added, raw)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (collection, id, modified) DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, o := range objs {
			da := max(now, last+1)
			res, err := st.ExecContext(ctx, o.Collection, o.ID, toNS(o.Modified), o.Type, o.SpecVersion,
				toNS(o.Created), boolInt(o.Revoked), int64(o.TLP), int64(o.Confidence), da, o.Raw)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				last = da
				added++
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE stix_clock SET date_added = ? WHERE one = 1", last)
		return err
	})
	return added, err
}
