package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/storetest"
)

// TestConformanceIngestPaths runs the conformance suite with the ingest forced down each of its
// paths: JSON groups for every row or none, with and without the optimistic insert.
func TestConformanceIngestPaths(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("the default path runs in TestConformance; the variants are slow under -race")
	}
	defer func(g, o int) { minGroup, optimism = g, o }(minGroup, optimism)
	for _, v := range []struct {
		name            string
		group, optimism int
	}{
		{"json-optimistic", 1, 1},
		{"json-lookup", 1, -1},
		{"values-only", 1 << 30, -1},
		{"values-optimistic", 1 << 30, 1},
	} {
		t.Run(v.name, func(t *testing.T) {
			minGroup, optimism = v.group, v.optimism
			storetest.Run(t, func(t *testing.T) store.Store {
				db, err := Open(t.Context(), filepath.Join(t.TempDir(), "omen.db"), nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			})
		})
	}
}
