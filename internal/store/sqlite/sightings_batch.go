package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/omen-tip/omen/internal/intel"
)

// sightingsChunk is the number of values per query of SightingsOf.
const sightingsChunk = 500

// SightingsOf returns the sightings of every observable in obs, most recently seen first (then by
// ID), in a few queries whatever the number of observables.
func (db *DB) SightingsOf(ctx context.Context, obs []intel.Observable) ([]intel.Sighting, error) {
	byType := map[intel.Type][]any{}
	seen := map[intel.Observable]bool{}
	for _, o := range obs {
		if !seen[o] {
			seen[o] = true
			byType[o.Type] = append(byType[o.Type], o.Value)
		}
	}
	var out []intel.Sighting
	for t, vals := range byType {
		for c := 0; c < len(vals); c += sightingsChunk {
			chunk := vals[c:min(c+sightingsChunk, len(vals))]
			ss, err := queryAll(ctx, db.r, scanSighting, `SELECT `+sightingColumns+` FROM sightings
				WHERE type = ? AND value IN (`+placeholders(len(chunk))+`)`, append([]any{string(t)}, chunk...)...)
			if err != nil {
				return nil, fmt.Errorf("listing sightings: %w", err)
			}
			out = append(out, ss...)
		}
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
