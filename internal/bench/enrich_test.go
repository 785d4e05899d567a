package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
)

func TestMixedSet(t *testing.T) {
	set := mixedSet(4100, 1)
	if len(set.all) != 4100 {
		t.Fatalf("got %d observables, want 4100", len(set.all))
	}
	count := map[intel.Type]int{}
	for _, o := range set.all {
		n, err := intel.Normalize(o.Type, o.Value)
		if err != nil || n != o {
			t.Fatalf("%s is not canonical: %v, %v", o, n, err)
		}
		count[o.Type]++
	}
	for _, typ := range []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR, intel.Domain, intel.SHA256, intel.URL, intel.Email} {
		if count[typ] == 0 {
			t.Errorf("no %s in the mix: %v", typ, count)
		}
	}
	again := mixedSet(4100, 1)
	for i := range set.all {
		if set.all[i] != again.all[i] {
			t.Fatalf("not deterministic at %d: %s, %s", i, set.all[i], again.all[i])
		}
	}
}

func TestCorpusDecodes(t *testing.T) {
	set := mixedSet(2000, 2)
	lines, err := corpus(t.TempDir()+"/events.ndjson", 500, set, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := baselineRate(lines); err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if !strings.HasPrefix(string(l), `{"@timestamp":`) {
			t.Fatalf("event %d: %s", i, l)
		}
	}
}

func TestEnrichSmoke(t *testing.T) {
	var logs []string
	figs, err := runEnrich(context.Background(), t.TempDir(), enrichParams{n: 2000, events: 2000, passes: 1, stallN: 1500, rebuild: true},
		func(f string, a ...any) { logs = append(logs, f) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"E1 enrich", "E2 enrich", "E3 decoder", "E5 heap per indicator, IPs", "E6 longest", "events matched", "kb.Rebuild"}
	for _, w := range want {
		found := false
		for _, f := range figs {
			if strings.Contains(f.Name, w) {
				found = true
				if f.Baseline < 0 || f.Value < 0 {
					t.Errorf("%s: negative figure %+v", f.Name, f)
				}
			}
		}
		if !found {
			t.Errorf("no figure %q in %+v", w, figs)
		}
	}
	for _, f := range figs {
		if strings.HasPrefix(f.Name, "events matched") && f.Value == 0 {
			t.Errorf("no event matched: %+v", f)
		}
		if strings.HasPrefix(f.Name, "E1") && f.Ratio <= 0 {
			t.Errorf("E1 without a ratio: %+v", f)
		}
	}
}
