package lookup_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// BenchmarkLookupBulk looks up 1,000 values that are all known indicators, from the knowledge base
// in memory with its details cache and the answer cache off: the worst case, every value's
// details read from the store.
func BenchmarkLookupBulk(b *testing.B) {
	ctx := b.Context()
	st, err := sqlite.Open(ctx, b.TempDir()+"/omen.db", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.PutSource(ctx, intel.Source{Name: "feed", Kind: "test", Reliability: 'B', Enabled: true}); err != nil {
		b.Fatal(err)
	}
	ing, err := st.NewIngester(ctx, store.IngestOptions{Source: "feed"})
	if err != nil {
		b.Fatal(err)
	}
	var values []string
	for i := range 50000 {
		o := intel.Observable{Type: intel.IPv4, Value: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)}
		if i%2 == 1 {
			o = intel.Observable{Type: intel.Domain, Value: fmt.Sprintf("host%d.example.net", i)}
		}
		if err := ing.Add(ctx, intel.Report{Observable: o, Confidence: 80, TLP: intel.TLPClear, LastSeen: time.Now(), ThreatType: "c2"}); err != nil {
			b.Fatal(err)
		}
		if i%50 == 0 {
			values = append(values, o.Value)
		}
	}
	if _, err := ing.Close(ctx); err != nil {
		b.Fatal(err)
	}
	k, err := kb.Open(ctx, st, kb.Options{CacheSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	svc := lookup.NewWithKB(k, risk.DefaultModel())
	svc.NoAnswerCache() // every answer computed, every value's details read from the store
	b.ResetTimer()
	for b.Loop() {
		res, err := svc.Lookup(ctx, values, intel.TLPRed)
		if err != nil || len(res[0].Matches) == 0 {
			b.Fatal(err, res[0])
		}
	}
}
