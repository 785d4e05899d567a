package attack_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/omen-tip/omen/internal/collect/attack"
)

// FuzzParse feeds arbitrary bytes to the bundle parser: it must never panic, and whatever it returns
// must have an ID on every entity and relationship.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"malware","id":"malware--1","name":"x","revoked":true},{"type":"relationship","id":"relationship--1","source_ref":"malware--1","target_ref":"attack-pattern--2"}]}`))
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"attack-pattern","id":"attack-pattern--1","kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"execution"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, rels, st, err := attack.Parse(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		if st.Entities != len(es) || st.Relationships != len(rels) {
			t.Fatalf("stats %+v for %d entities, %d relationships", st, len(es), len(rels))
		}
		for _, r := range rels {
			if r.Source != "fuzz" {
				t.Fatalf("relationship without its source: %+v", r)
			}
		}
	})
}
