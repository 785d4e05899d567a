package sqlite

import "time"

// SetClock replaces the clock of the store (time.Now by default), which stamps DateAdded of STIX
// objects, CreatedAt/UpdatedAt and the other times the store sets itself. It is meant for tests
// and for replaying history (loading a TAXII server's data with its own date_added), and must be
// called before the DB is used by more than one goroutine. DateAdded stays strictly increasing
// whatever the clock says.
func (db *DB) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	db.now = now
}
