package misp_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/omen-tip/omen/internal/collect/misp"
	"github.com/omen-tip/omen/internal/intel"
)

// FuzzParseEvent checks that no input panics and that every report's observable is canonical.
func FuzzParseEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Event":{"uuid":"11111111-2222-3333-4444-555555555555","Tag":[{"name":"tlp:red"},{"name":"misp-galaxy:mitre-attack-pattern=\"X - T1059.001\""}],` +
		`"Attribute":[{"type":"domain|ip","value":"a.b|1.2.3.4","to_ids":"1","first_seen":"2020-01-01T00:00:00Z"},{"type":"ip-dst|port","value":"::1|53","to_ids":1}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := misp.ParseEvent(bytes.NewReader(b))
		if err != nil {
			return
		}
		rs, _ := e.Reports("s", misp.Defaults{Confidence: 50, TLP: intel.TLPAmber})
		for _, r := range rs {
			o, err := intel.Normalize(r.Observable.Type, r.Observable.Value)
			if err != nil || o != r.Observable {
				t.Fatalf("report observable %v not canonical: %v, %v", r.Observable, o, err)
			}
			if r.Confidence < 0 || r.Confidence > 100 || r.FirstSeen.After(r.LastSeen) {
				t.Fatalf("report %+v", r)
			}
		}
		ents, rels := e.Entities("s", misp.Defaults{TLP: intel.TLPAmber})
		for _, en := range ents {
			if en.ID == "" || en.Type == "" {
				t.Fatalf("entity %+v", en)
			}
		}
		for _, r := range rels {
			if r.ID == "" || r.SourceRef == "" || r.TargetRef == "" {
				t.Fatalf("relationship %+v", r)
			}
		}
		_ = e.Stats()
	})
}
