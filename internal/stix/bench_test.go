package stix_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// syntheticBundle is a bundle of n indicators on distinct IPv4 addresses.
func syntheticBundle(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"bundle","id":"bundle--6f0a1c7e-0b8e-4e0f-9d5c-2a7f3e1b9c40","objects":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-0000-4000-8000-%012x","created":"2026-01-01T00:00:00.000Z",`+
			`"modified":"2026-01-01T00:00:00.000Z","name":"x","indicator_types":["malicious-activity"],"pattern":"[ipv4-addr:value = '10.%d.%d.%d']",`+
			`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","confidence":80,"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}`,
			i, i, i>>16&255, i>>8&255, i&255)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func BenchmarkImport(b *testing.B) {
	const n = 20000
	data := syntheticBundle(n)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "omen.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		st.PutSource(ctx, intel.Source{Name: "test", Kind: "import", Confidence: 70, Enabled: true})
		im := &stix.Importer{Store: st}
		b.StartTimer()
		c, err := im.Bundle(ctx, bytes.NewReader(data), stix.Options{Source: "test"})
		if err != nil || c.Observables != n {
			b.Fatal(err, c.Observables)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
