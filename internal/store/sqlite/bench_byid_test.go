package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// BenchmarkIndicatorsByID reads 1, 10 and 1000 random indicators by ID (the matching engine's hits)
// from OMEN_BENCH_N indicators, next to Indicators on the same values as the baseline.
func BenchmarkIndicatorsByID(b *testing.B) {
	n := benchN(b)
	obs := syntheticObservables(n)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "omen.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.PutSource(ctx, intel.Source{Name: "bench", Kind: "list", Enabled: true}); err != nil {
		b.Fatal(err)
	}
	ingestAll(b, db, obs, time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), 0)
	rng := rand.New(rand.NewPCG(9, 9))
	for _, size := range []int{1, 10, 1000} {
		q := make([]intel.Observable, size)
		for i := range q {
			q[i] = obs[rng.IntN(len(obs))]
		}
		ins, err := db.Indicators(ctx, q)
		if err != nil || len(ins) != size {
			b.Fatalf("Indicators = %d, %v", len(ins), err)
		}
		ids := make([]int64, size)
		for i, in := range ins {
			ids[i] = in.ID
		}
		b.Run(fmt.Sprintf("Indicators-%d", size), func(b *testing.B) {
			for b.Loop() {
				if _, err := db.Indicators(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("IndicatorsByID-%d", size), func(b *testing.B) {
			for b.Loop() {
				got, err := db.IndicatorsByID(ctx, ids)
				if err != nil || len(got) != size {
					b.Fatalf("IndicatorsByID = %d, %v", len(got), err)
				}
			}
		})
	}
}
