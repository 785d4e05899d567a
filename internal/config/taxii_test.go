package config_test

import (
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
)

func TestTAXIIDefaults(t *testing.T) {
	c, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	x := c.TAXII
	if !x.On() || x.MaxPageSize != 1000 || x.MaxContentLength != 10<<20 || x.Default != "omen" || len(x.APIRoots) != 1 {
		t.Fatalf("defaults: %+v", x)
	}
	colls := x.APIRoots[0].Collections
	want := map[string]struct {
		id, store string
		write     bool
	}{
		"all":                        {config.TAXIIAllID, "omen", false},
		"indicators":                 {config.TAXIIIndicatorsID, "omen", false},
		"indicators-high-confidence": {config.TAXIIHighConfidenceID, "omen", false},
		"tlp-clear":                  {config.TAXIITLPClearID, "omen", false},
		"tlp-green":                  {config.TAXIITLPGreenID, "omen", false},
		"tlp-amber":                  {config.TAXIITLPAmberID, "omen", false},
		"inbox":                      {config.TAXIIInboxID, config.TAXIIInboxID, true},
	}
	if len(colls) != len(want) {
		t.Fatalf("%d collections, want %d", len(colls), len(want))
	}
	for _, c := range colls {
		w, ok := want[c.Alias]
		if !ok || c.ID != w.id || c.Store != w.store || c.CanWrite != w.write || !c.Readable() {
			t.Errorf("collection %+v, want %+v", c, w)
		}
	}
	if colls[2].MinConfidence != 80 || colls[4].TLPCap() != intel.TLPGreen || colls[0].TLPCap() != intel.TLPRed {
		t.Errorf("views: %+v", colls)
	}
}

func TestTAXIILoad(t *testing.T) {
	const custom = `
taxii:
  title: ACME TAXII
  max_page_size: 50
  default: shared
  api_roots:
    - name: shared
      title: Shared with partners
      collections:
        - id: 11111111-2222-4333-8444-555555555555
          title: Partner feed
          types: [indicator, malware]
          min_confidence: 60
          max_tlp: amber
        - id: 66666666-2222-4333-8444-555555555555
          title: Drop box
          alias: dropbox
          can_read: false
          can_write: true
`
	c, err := config.Load([]byte(custom))
	if err != nil {
		t.Fatal(err)
	}
	r := c.TAXII.APIRoots[0]
	if c.TAXII.Title != "ACME TAXII" || c.TAXII.MaxPageSize != 50 || r.Name != "shared" || len(r.Collections) != 2 {
		t.Fatalf("loaded %+v", c.TAXII)
	}
	feed, box := r.Collections[0], r.Collections[1]
	if feed.Store != "omen" || feed.TLPCap() != intel.TLPAmber || len(feed.Types) != 2 || feed.MinConfidence != 60 {
		t.Errorf("feed %+v", feed)
	}
	if box.Store != box.ID || box.Readable() || !box.CanWrite {
		t.Errorf("drop box %+v", box)
	}
	if c, err := config.Load([]byte("taxii:\n  enabled: false\n")); err != nil || c.TAXII.On() {
		t.Errorf("enabled: false: %v, on %v", err, c.TAXII.On())
	}
}

func TestTAXIIValidate(t *testing.T) {
	root := func(coll string) string {
		return "taxii:\n  api_roots:\n    - name: r\n      title: R\n      collections:\n" + coll
	}
	const id = "        - id: 11111111-2222-4333-8444-555555555555\n          title: C\n"
	tests := []struct{ name, in, wantErr string }{
		{"page size", "taxii:\n  max_page_size: -1\n", "taxii.max_page_size -1"},
		{"content length", "taxii:\n  max_content_length: 10\n", "taxii.max_content_length 10"},
		{"reserved root", "taxii:\n  api_roots:\n    - name: api\n      title: x\n", `name "api": reserved`},
		{"bad root name", "taxii:\n  api_roots:\n    - name: a/b\n      title: x\n", `name "a/b"`},
		{"root twice", "taxii:\n  api_roots:\n    - {name: a, title: x}\n    - {name: a, title: y}\n", "used twice"},
		{"root title", "taxii:\n  api_roots:\n    - name: a\n", "title: required"},
		{"default", "taxii:\n  default: nowhere\n", `taxii.default "nowhere"`},
		{"bad id", root("        - id: 1234\n          title: C\n"), `id "1234": want a UUID`},
		{"id twice", root(id + id), "already used"},
		{"alias clash", root(id + "        - id: 21111111-2222-4333-8444-555555555555\n          title: D\n          alias: 11111111-2222-4333-8444-555555555555\n"), "already used"},
		{"bad tlp", root(id + "          max_tlp: purple\n"), "max_tlp"},
		{"confidence", root(id + "          min_confidence: 101\n"), "min_confidence 101"},
		{"write into pool", root(id + "          can_write: true\n          store: omen\n"), "cannot write into omen's pool"},
		{"unknown key", root(id + "          colour: red\n"), "unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Load error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
