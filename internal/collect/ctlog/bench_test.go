package ctlog

import (
	"context"
	"net/http/httptest"
	"testing"
)

// BenchmarkDecode parses and decodes entries (leaf_input and extra_data, then the certificate or
// precertificate TBS) from the genuine samples (RSA) and the fixture (ECDSA), half precerts.
func BenchmarkDecode(b *testing.B) {
	type in struct{ leaf, extra []byte }
	var genuine, fixture []in
	for _, name := range []string{"icarus-120000000.json", "precert-chunghwa.json"} {
		for _, e := range readEntries(b, name) {
			genuine = append(genuine, in{e.LeafInput, e.ExtraData})
		}
	}
	for _, l := range newFixture(b, nameSets(64), func(i int) bool { return i%2 == 0 }).leaves {
		fixture = append(fixture, in{appendMerkleTreeLeaf(nil, l), appendExtraData(nil, l)})
	}
	for _, bc := range []struct {
		name string
		ins  []in
	}{{"genuine-rsa", genuine}, {"fixture-ecdsa", fixture}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				x := bc.ins[i%len(bc.ins)]
				l, err := ParseMerkleTreeLeaf(x.leaf, x.extra)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Decode(l); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkSyncStatic follows a fake static-ct log of 1,024 entries end to end (HTTP, tiles,
// decoding, dedupe, cursor) per iteration.
func BenchmarkSyncStatic(b *testing.B) {
	f := newFixture(b, nameSets(683), func(i int) bool { return i%2 == 0 }) // 1,025 entries
	srv := httptest.NewServer(&fakeLog{leaves: f.leaves, published: len(f.leaves)})
	defer srv.Close()
	var n int64
	for b.Loop() {
		m := &Monitor{Client: testClient(), Handle: func(context.Context, []Entry) error { return nil }}
		done, err := m.Sync(b.Context(), LogConfig{URL: srv.URL, API: Static, Start: "0"})
		if err != nil {
			b.Fatal(err)
		}
		n += done
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}
