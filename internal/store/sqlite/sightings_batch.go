package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/omen-tip/omen/internal/intel"
)

// SightingsOf returns the sightings of every observable in obs, most recently seen first (then by
// ID): one query per observable type, the values in a JSON array.
func (db *DB) SightingsOf(ctx context.Context, obs []intel.Observable) ([]intel.Sighting, error) {
	byType := map[intel.Type][]string{}
	seen := map[intel.Observable]bool{}
	for _, o := range obs {
		if !seen[o] {
			seen[o] = true
			byType[o.Type] = append(byType[o.Type], o.Value)
		}
	}
	var out []intel.Sighting
	for t, vals := range byType {
		b, err := json.Marshal(vals)
		if err != nil {
			return nil, err
		}
		ss, err := queryPrepared(ctx, db, scanSighting, `SELECT `+sightingColumns+` FROM sightings
			WHERE type = ?1 AND value IN (SELECT value FROM json_each(?2))`, string(t), string(b))
		if err != nil {
			return nil, fmt.Errorf("listing sightings: %w", err)
		}
		out = append(out, ss...)
	}
	sortSightings(out)
	return out, nil
}

// sortSightings orders by LastSeen, latest first, then by ID.
func sortSightings(ss []intel.Sighting) {
	slices.SortFunc(ss, func(a, b intel.Sighting) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
