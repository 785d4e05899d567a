package stix_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
)

// memStore is the part of a store the importer uses, in memory, for fuzzing: anything else panics
// (the embedded nil Store), which the fuzzer would report.
type memStore struct {
	store.Store
	objs map[string][]store.STIXObject // by id
	ents map[string]intel.Entity
	rels int
}

func newMemStore() *memStore {
	return &memStore{objs: map[string][]store.STIXObject{}, ents: map[string]intel.Entity{}}
}

func (m *memStore) Source(_ context.Context, name string) (intel.Source, error) {
	return intel.Source{Name: name, Confidence: 50}, nil
}

func (m *memStore) NewIngester(context.Context, store.IngestOptions) (store.Ingester, error) {
	return &memIngester{}, nil
}

func (m *memStore) PutSTIXObjects(_ context.Context, objs []store.STIXObject) (int, error) {
	added := 0
	for _, o := range objs {
		if slices.ContainsFunc(m.objs[o.ID], func(h store.STIXObject) bool { return h.Modified.Equal(o.Modified) }) {
			continue
		}
		m.objs[o.ID] = append(m.objs[o.ID], o)
		added++
	}
	return added, nil
}

func (m *memStore) STIXObjects(_ context.Context, q store.STIXQuery) (store.STIXPage, error) {
	var page store.STIXPage
	for _, id := range q.IDs {
		var last *store.STIXObject
		for i, o := range m.objs[id] {
			if last == nil || o.Modified.After(last.Modified) {
				last = &m.objs[id][i]
			}
		}
		if last != nil {
			page.Objects = append(page.Objects, *last)
		}
	}
	return page, nil
}

func (m *memStore) PutEntities(_ context.Context, es []intel.Entity) error {
	for _, e := range es {
		m.ents[e.ID] = e
	}
	return nil
}

func (m *memStore) MergeEntityAttributes(_ context.Context, id string, attrs map[string]any) error {
	e, ok := m.ents[id]
	if !ok {
		return store.ErrNotFound
	}
	if e.Attributes == nil {
		e.Attributes = map[string]any{}
	}
	for k, v := range attrs {
		e.Attributes[k] = v
	}
	m.ents[id] = e
	return nil
}

func (m *memStore) PutRelationships(_ context.Context, rs []intel.Relationship) error {
	m.rels += len(rs)
	return nil
}

// RelationshipsFrom finds none: the fuzzer imports one input into an empty store.
func (m *memStore) RelationshipsFrom(context.Context, []string) ([]intel.Relationship, error) {
	return nil, nil
}

// memIngester checks what the real ingester would refuse and counts the rest.
type memIngester struct{ n int }

func (g *memIngester) Add(_ context.Context, r intel.Report) error {
	if !r.Observable.Type.Valid() || r.Observable.Value == "" || r.Confidence < 0 || r.Confidence > 100 || r.TLP > intel.TLPRed {
		return store.ErrInvalidReport
	}
	g.n++
	return nil
}

func (g *memIngester) Close(context.Context) (store.IngestStats, error) {
	return store.IngestStats{Reports: g.n}, nil
}

func (g *memIngester) Abort() {}

// seed returns a fixture as a fuzz seed: small ones whole, large ones (the ATT&CK subsets) cut to
// their first objects, as the fuzzer's mutations of 200 KB inputs are too slow to be useful.
func seed(f *testing.F, b []byte) []byte {
	if len(b) <= 16<<10 {
		return b
	}
	var top struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		f.Fatal(err)
	}
	return bundle(rawStrings(top.Objects[:min(6, len(top.Objects))])...)
}

func rawStrings(rs []json.RawMessage) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

func FuzzImport(f *testing.F) {
	for _, p := range fixtures(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed(f, b))
	}
	f.Add(bundle(indicates, malware("2025-01-01T00:00:00.000Z", "Emotet", `,"revoked":true`),
		indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.7' OR domain-name:value = 'badhost-c2.net']", "")))
	f.Add([]byte(`{"objects":[{"type":"x"},42,"s",[1],{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","pattern":"["}]}`))
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"sighting","id":"sighting--ee20065d-2555-424f-ad9e-0f8fd34e0f87","sighting_of_ref":"x"}],"spec_version":"2.0"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := newMemStore()
		im := &stix.Importer{Store: st, Now: func() time.Time { return now }}
		start := time.Now()
		c, err := im.Bundle(context.Background(), bytes.NewReader(data), stix.Options{Source: "fuzz"})
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("importing %d bytes took %s", len(data), d)
		}
		if err != nil {
			return
		}
		if c.Objects != c.Stored+c.Unchanged+c.Rejected {
			t.Errorf("Objects %d != Stored %d + Unchanged %d + Rejected %d", c.Objects, c.Stored, c.Unchanged, c.Rejected)
		}
		sum := 0
		for _, n := range c.ByType {
			sum += n
		}
		if sum != c.Objects {
			t.Errorf("ByType sums to %d, Objects is %d", sum, c.Objects)
		}
		if c.Rejected > 0 && len(c.Errors) == 0 {
			t.Errorf("%d rejected without an error line", c.Rejected)
		}
	})
}
