package lookup_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/lookup"
)

// sameJSON checks that Result.AppendJSON writes what encoding/json writes (HTML escaping off, as
// the API encodes).
func sameJSON(t *testing.T, r lookup.Result) {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	got := append(r.AppendJSON(nil), '\n')
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("AppendJSON differs from encoding/json:\ngot  %s\nwant %s", got, want.Bytes())
	}
}

func TestAppendJSON(t *testing.T) {
	seen := time.Date(2026, 11, 1, 10, 30, 0, 123456789, time.UTC)
	odd := "q\"uote\\ <tag> & \x00\x01\x1f\b\f\n\r\t \u2028\u2029 é 日本 \xff\xfe end"
	full := lookup.Result{
		Query: odd, Type: intel.Domain, Value: "evil.com", Verdict: "malicious", Score: 91, Band: "critical",
		Matches: []lookup.Match{{Match: lookup.Exact, Indicator: lookup.Indicator{
			Type: intel.Domain, Value: "evil.com", Score: 91, FirstSeen: seen, LastSeen: seen.In(time.FixedZone("x", 3600)),
			TLP: intel.TLPAmber, Tags: []string{"c2", odd},
			Sources: []lookup.Source{{Name: "feodo", Reliability: 'B', Confidence: 90, FirstSeen: seen, LastSeen: seen, ThreatType: "c2"},
				{Name: odd, Reliability: 0, Confidence: -1}},
			Entities: []lookup.EntityRef{{Type: intel.Malware, Name: "Pikabot", ID: "malware--1"},
				{Type: intel.AttackPattern, Name: "T1071", Via: "Pikabot", Attributes: map[string]any{"z": 1.5, "a": "<x>", "kev": []any{"2024-01-01"}}}},
		}}},
		Expired:      []lookup.Match{{Match: lookup.ParentDomain, Indicator: lookup.Indicator{Type: intel.Domain, Value: "com"}}},
		Warninglists: []lookup.WarninglistHit{{Name: "List of known Cloudflare IP ranges", Entry: "104.16.0.0/13"}, {Name: odd}},
		Evidence:     []string{"Value is on warninglist \"x\" (score ×0.1).", odd},
		ModelVersion: "omen-prio-1", Error: odd,
	}
	for name, r := range map[string]lookup.Result{
		"full":  full,
		"zero":  {},
		"empty": {Query: "", Matches: []lookup.Match{}, Warninglists: []lookup.WarninglistHit{}, Evidence: []string{}},
	} {
		t.Run(name, func(t *testing.T) { sameJSON(t, r) })
	}
}

func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "1.2.3.4", "hxxps://evil[.]com/a?b=<c>&d", "\x00\u2028\xff", "\"\\", "日本\xed\xa0\x80"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, q, name string) {
		sameJSON(t, lookup.Result{Query: q, Value: name, Evidence: []string{q, name},
			Matches: []lookup.Match{{Match: name, Indicator: lookup.Indicator{Value: q, Tags: []string{name},
				Entities: []lookup.EntityRef{{Name: q, Attributes: map[string]any{name: q}}}}}}})
	})
}
