package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// stixBenchObjects returns n distinct indicator versions of about 600 bytes of JSON each.
func stixBenchObjects(n int) []store.STIXObject {
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	pad := strings.Repeat("x", 150)
	rng := rand.New(rand.NewPCG(0x73746978, 0x62656e63))
	objs := make([]store.STIXObject, n)
	for i := range objs {
		// Random (version 4) UUIDs, as in real bundles: the key index is written at random places.
		id := fmt.Sprintf("indicator--%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12),
			rng.IntN(1<<12), rng.Int64N(1<<48))
		mod := created.Add(time.Duration(i) * time.Millisecond)
		raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,`+
			`"name":"bench indicator %d","pattern":"[ipv4-addr:value = '198.51.%d.%d']","pattern_type":"stix",`+
			`"valid_from":%q,"indicator_types":["malicious-activity"],"confidence":%d,`+
			`"object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],"x_pad":%q}`,
			id, created.Format(time.RFC3339Nano), mod.Format(time.RFC3339Nano), i, (i>>8)&255, i&255,
			created.Format(time.RFC3339Nano), i%101, pad)
		objs[i] = store.STIXObject{Collection: store.STIXPool, ID: id, Type: "indicator", SpecVersion: "2.1",
			Created: created, Modified: mod, TLP: intel.TLPAmber, Confidence: i % 101, Raw: []byte(raw)}
	}
	return objs
}

// BenchmarkPutSTIXObjects stores 100,000 indicator versions of ~600 bytes in batches of 1,000
// into an empty store, as the STIX importer does; rowwise is the former one-INSERT-per-row
// writer, for comparison on the same machine.
func BenchmarkPutSTIXObjects(b *testing.B) {
	objs := stixBenchObjects(100_000)
	b.Run("batched", func(b *testing.B) {
		benchPutSTIX(b, objs, func(ctx context.Context, db *sqlite.DB, objs []store.STIXObject) (int, error) {
			return db.PutSTIXObjects(ctx, objs)
		})
	})
	b.Run("rowwise", func(b *testing.B) { benchPutSTIX(b, objs, sqlite.PutSTIXObjectsRowwise) })
}

func benchPutSTIX(b *testing.B, objs []store.STIXObject,
	put func(context.Context, *sqlite.DB, []store.STIXObject) (int, error)) {
	const batch = 1_000
	n := len(objs)
	ctx := b.Context()
	var elapsed, cpu time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("omen%d.db", i)), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, c := time.Now(), cpuTime()
		for lo := 0; lo < n; lo += batch {
			added, err := put(ctx, db, objs[lo:min(lo+batch, n)])
			if err != nil {
				b.Fatal(err)
			}
			if added != min(batch, n-lo) {
				b.Fatalf("added %d of %d", added, min(batch, n-lo))
			}
		}
		elapsed, cpu = elapsed+time.Since(start), cpu+cpuTime()-c
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "objects/s")
	// CPU time (user and system, of the process) per object: steadier than the rate on a busy machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/object")
}
