package attack_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/collect/attack"
	"github.com/omen-tip/omen/internal/intel"
)

// The ATT&CK subsets (2.0 as MITRE publishes it, and its 2.1 conversion) hold, over all their files,
// 40 attack-patterns, 36 courses of action, 21 malware, 14 tactics, 10 intrusion sets, 4 tools and
// 607 relationships.
func TestParseSubsets(t *testing.T) {
	for _, dir := range []string{"enterprise-subset-stix20", "enterprise-subset-stix21-derived"} {
		t.Run(dir, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
			if len(files) == 0 {
				t.Fatal("no testdata")
			}
			counts := map[intel.EntityType]int{}
			rels := 0
			var kimsuky intel.Entity
			for _, f := range files {
				fh, err := os.Open(f)
				if err != nil {
					t.Fatal(err)
				}
				es, rs, _, err := attack.Parse(fh, "mitre-attack")
				fh.Close()
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				for _, e := range es {
					counts[e.Type]++
					if e.Name == "Kimsuky" {
						kimsuky = e
					}
				}
				rels += len(rs)
			}
			want := map[intel.EntityType]int{intel.AttackPattern: 40, intel.CourseOfAction: 36, intel.Malware: 21,
				"x-mitre-tactic": 14, intel.IntrusionSet: 10, intel.Tool: 4}
			for k, v := range want {
				if counts[k] != v {
					t.Errorf("%s: %d, want %d", k, counts[k], v)
				}
			}
			if rels != 607 {
				t.Errorf("relationships: %d, want 607", rels)
			}
			if kimsuky.Attributes["attack_id"] != "G0094" || !strings.Contains(strings.Join(kimsuky.Aliases, ","), "APT43") {
				t.Errorf("Kimsuky = %+v", kimsuky)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	for _, in := range []string{"", "{", `{"type":"indicator"}`, `{"type":"bundle","objects":[1]}`, "\x00\xff"} {
		if _, _, _, err := attack.Parse(strings.NewReader(in), "x"); err == nil {
			t.Errorf("Parse(%q): no error", in)
		}
	}
}
