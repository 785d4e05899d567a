package lookup_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type report struct {
	source string
	obs    intel.Observable
	conf   int
	tlp    intel.TLP
	age    time.Duration
	mal    string
}

// setup loads reports into a new store and returns the two ways of answering: from the store, and
// from the knowledge base in memory; both must give the same answers.
func setup(t *testing.T, reports ...report) map[string]*lookup.Service {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	grades := map[string]intel.Reliability{"feodo": 'B', "drop": 'A', "secret": 'A', "old": 'C', "cf": 'C'}
	for name, g := range grades {
		if _, err := st.PutSource(ctx, intel.Source{Name: name, Kind: "test", Reliability: g, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		ing, err := st.NewIngester(ctx, store.IngestOptions{Source: r.source})
		if err != nil {
			t.Fatal(err)
		}
		seen := now.Add(-r.age)
		if err := ing.Add(ctx, intel.Report{Observable: r.obs, Confidence: r.conf, TLP: r.tlp, FirstSeen: seen, LastSeen: seen, Malware: r.mal}); err != nil {
			t.Fatal(err)
		}
		if _, err := ing.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Pikabot as ATT&CK knows it, with one technique.
	if err := st.PutEntities(ctx, []intel.Entity{
		{ID: "malware--pikabot", Type: intel.Malware, Name: "Pikabot", TLP: intel.TLPClear},
		{ID: "attack-pattern--t1071", Type: intel.AttackPattern, Name: "Application Layer Protocol", TLP: intel.TLPClear},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutRelationships(ctx, []intel.Relationship{{ID: "relationship--1", Type: "uses",
		SourceRef: "malware--pikabot", TargetRef: "attack-pattern--t1071", TLP: intel.TLPClear}}); err != nil {
		t.Fatal(err)
	}
	k, err := kb.Open(ctx, st, kb.Options{Warninglists: lists})
	if err != nil {
		t.Fatal(err)
	}
	plain := lookup.New(st, lists, risk.DefaultModel())
	fast := lookup.NewWithKB(k, risk.DefaultModel())
	for _, svc := range []*lookup.Service{plain, fast} {
		svc.SetClock(func() time.Time { return now })
	}
	return map[string]*lookup.Service{"store": plain, "kb": fast}
}

func one(t *testing.T, svc *lookup.Service, v string, c intel.TLP) lookup.Result {
	t.Helper()
	res, err := svc.Lookup(context.Background(), []string{v}, c)
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func TestLookup(t *testing.T) {
	day := 24 * time.Hour
	svcs := setup(t,
		report{"feodo", intel.Observable{Type: intel.IPv4, Value: "192.9.135.73"}, 90, intel.TLPClear, day, "Pikabot"},
		report{"drop", intel.Observable{Type: intel.CIDR, Value: "1.10.16.0/20"}, 90, intel.TLPClear, 0, ""},
		report{"feodo", intel.Observable{Type: intel.Domain, Value: "evil.com"}, 80, intel.TLPClear, 0, ""},
		report{"feodo", intel.Observable{Type: intel.URL, Value: "https://evil.com/a"}, 80, intel.TLPGreen, 0, ""},
		report{"secret", intel.Observable{Type: intel.IPv4, Value: "45.154.244.193"}, 90, intel.TLPRed, 0, ""},
		report{"old", intel.Observable{Type: intel.IPv4, Value: "77.90.185.20"}, 90, intel.TLPClear, 200 * day, ""},
		report{"cf", intel.Observable{Type: intel.IPv4, Value: "104.16.1.1"}, 90, intel.TLPClear, 0, ""},
	)
	tests := []struct {
		query     string
		clearance intel.TLP
		verdict   string
		match     string // first match kind, "" for none
		matched   string // first match's value
		evidence  string // a substring of the joined evidence
		list      string // a warninglist the value is on
	}{
		{"192.9.135.73", intel.TLPRed, risk.Malicious, lookup.Exact, "192.9.135.73", "Reported by 1 source: feodo [B]; most recent 1 day ago.", ""},
		{"192[.]9[.]135[.]73", intel.TLPClear, risk.Malicious, lookup.Exact, "192.9.135.73", "feodo [B]", ""},
		{"1.10.17.5", intel.TLPRed, risk.Suspicious, lookup.Network, "1.10.16.0/20", "Matched through the network 1.10.16.0/20", ""},
		{"1.10.16.0/24", intel.TLPRed, risk.Suspicious, lookup.Network, "1.10.16.0/20", "network", ""},
		{"a.b.evil.com", intel.TLPRed, risk.Suspicious, lookup.ParentDomain, "evil.com", "parent domain evil.com", ""},
		{"hxxps://Evil[.]COM/a", intel.TLPRed, risk.Malicious, lookup.Exact, "https://evil.com/a", "feodo [B]", ""},
		{"hxxps://Evil[.]COM/a", intel.TLPClear, risk.Suspicious, lookup.ParentDomain, "evil.com", "", ""}, // the URL report is TLP:GREEN
		{"45.154.244.193", intel.TLPAmber, risk.Unknown, "", "", "No source reports this value.", ""},
		{"45.154.244.193", intel.TLPRed, risk.Malicious, lookup.Exact, "45.154.244.193", "secret [A]", ""},
		{"77.90.185.20", intel.TLPRed, risk.Unknown, "", "", "expired, so it no longer matches", ""},
		{"104.16.1.1", intel.TLPRed, risk.Benign, lookup.Exact, "104.16.1.1", "Value is on warninglist", "List of known Cloudflare IP ranges"},
		{"8.8.8.8", intel.TLPRed, risk.Benign, "", "", "No source reports this value.", ""},
		{"nothing-here.com", intel.TLPRed, risk.Unknown, "", "", "No source reports this value.", ""},
	}
	var answers []lookup.Result
	for _, name := range []string{"store", "kb"} {
		svc := svcs[name]
		for _, tc := range tests {
			t.Run(name+"/"+tc.query+"@"+tc.clearance.String(), func(t *testing.T) {
				r := one(t, svc, tc.query, tc.clearance)
				if r.Verdict != tc.verdict {
					t.Errorf("verdict %s (score %d), want %s; evidence %q", r.Verdict, r.Score, tc.verdict, r.Evidence)
				}
				if tc.match == "" && len(r.Matches) > 0 {
					t.Errorf("matches %+v, want none", r.Matches)
				}
				if tc.match != "" && (len(r.Matches) == 0 || r.Matches[0].Match != tc.match || r.Matches[0].Indicator.Value != tc.matched) {
					t.Errorf("matches %+v, want %s %s first", r.Matches, tc.match, tc.matched)
				}
				if ev := strings.Join(r.Evidence, "\n"); !strings.Contains(ev, tc.evidence) {
					t.Errorf("evidence %q lacks %q", ev, tc.evidence)
				}
				if tc.list != "" && !slices.ContainsFunc(r.Warninglists, func(w lookup.WarninglistHit) bool { return w.Name == tc.list }) {
					t.Errorf("warninglists %+v lack %q", r.Warninglists, tc.list)
				}
				if r.Band != risk.Band(r.Score) || r.ModelVersion != risk.ModelVersion {
					t.Errorf("band %s model %s", r.Band, r.ModelVersion)
				}
				answers = append(answers, r)
			})
		}
		r := one(t, svc, "192.9.135.73", intel.TLPRed)
		in := r.Matches[0].Indicator
		if len(in.Sources) != 1 || in.Sources[0].Name != "feodo" || in.Sources[0].Reliability != 'B' || in.Sources[0].Confidence != 90 {
			t.Errorf("%s: sources %+v", name, in.Sources)
		}
		if len(in.Entities) != 2 || in.Entities[0].Name != "Pikabot" || in.Entities[0].Type != intel.Malware ||
			in.Entities[1].Name != "Application Layer Protocol" || in.Entities[1].Via != "Pikabot" {
			t.Errorf("%s: entities %+v", name, in.Entities)
		}
		if r := one(t, svc, "77.90.185.20", intel.TLPRed); len(r.Expired) != 1 || r.Expired[0].Indicator.Sources[0].Name != "old" {
			t.Errorf("%s: expired indicator not shown as history: %+v", name, r.Expired)
		}
		// The dampened Cloudflare address: 90 × 0.7 × 1.0 × 0.1 → 6.
		if r := one(t, svc, "104.16.1.1", intel.TLPRed); r.Score != 6 || r.Matches[0].Indicator.Score != 6 {
			t.Errorf("%s: cloudflare score %d, want 6", name, r.Score)
		}
	}
	for _, r := range answers {
		sameJSON(t, r)
	}
	if n := len(answers) / 2; len(answers) == 2*len(tests) && !reflect.DeepEqual(answers[:n], answers[n:]) {
		for i := range n {
			if !reflect.DeepEqual(answers[i], answers[n+i]) {
				t.Errorf("%s: the store and the knowledge base disagree:\n%+v\n%+v", answers[i].Query, answers[i], answers[n+i])
			}
		}
	}
}

func TestLookupBadInput(t *testing.T) {
	svc := setup(t)["kb"]
	res, err := svc.Lookup(t.Context(), []string{"", "not an observable at all", "999.1.1.1", strings.Repeat("a", 1<<20), "\xff\xfe"}, intel.TLPRed)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		sameJSON(t, r)
		if r.Error == "" || r.Verdict != risk.Unknown {
			t.Errorf("%.40q: %+v, want an error and unknown", r.Query, r)
		}
	}
	if _, err := svc.Lookup(t.Context(), make([]string, lookup.MaxValues+1), intel.TLPRed); err == nil {
		t.Error("no error for too many values")
	}
}

// TestLookupBulkSpread looks up enough values for the work to be spread over the CPUs and checks
// every answer is the one a lookup of that value alone gives.
func TestLookupBulkSpread(t *testing.T) {
	svc := setup(t,
		report{"feodo", intel.Observable{Type: intel.IPv4, Value: "192.9.135.73"}, 90, intel.TLPClear, 0, "Pikabot"},
		report{"drop", intel.Observable{Type: intel.CIDR, Value: "1.10.16.0/20"}, 90, intel.TLPClear, 0, ""},
		report{"feodo", intel.Observable{Type: intel.Domain, Value: "evil.com"}, 80, intel.TLPClear, 0, ""},
		report{"cf", intel.Observable{Type: intel.IPv4, Value: "104.16.1.1"}, 90, intel.TLPClear, 0, ""},
	)["kb"]
	base := []string{"192.9.135.73", "1.10.17.5", "a.evil.com", "104.16.1.1", "8.8.8.8", "not a value", "evil.com", "203.0.113.9"}
	var values []string
	for len(values) < 2000 {
		values = append(values, base...)
	}
	bulk, err := svc.Lookup(t.Context(), values, intel.TLPRed)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]lookup.Result{}
	for _, v := range base {
		want[v] = one(t, svc, v, intel.TLPRed)
	}
	for i, r := range bulk {
		if !reflect.DeepEqual(r, want[values[i]]) {
			t.Fatalf("value %d (%s): bulk answer differs from a single lookup:\n%+v\n%+v", i, values[i], r, want[values[i]])
		}
	}
}

// TestAnswersFollowChanges checks that an answer given again from the answer cache never hides a
// change: a new report, a sighting, a report above the caller's clearance.
func TestAnswersFollowChanges(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.PutSource(ctx, intel.Source{Name: "feodo", Kind: "test", Reliability: 'B', Enabled: true}); err != nil {
		t.Fatal(err)
	}
	k, err := kb.Open(ctx, db, kb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := k.Wrap(db)
	svc := lookup.NewWithKB(k, risk.DefaultModel())
	svc.SetClock(func() time.Time { return now })
	const v = "192.0.2.200"
	ask := func(c intel.TLP) lookup.Result { return one(t, svc, v, c) }
	if r := ask(intel.TLPRed); r.Verdict != risk.Unknown {
		t.Fatalf("before any report: %s", r.Verdict)
	}
	ing, err := st.NewIngester(ctx, store.IngestOptions{Source: "feodo"})
	if err != nil {
		t.Fatal(err)
	}
	o := intel.Observable{Type: intel.IPv4, Value: v}
	if err := ing.Add(ctx, intel.Report{Observable: o, Confidence: 90, TLP: intel.TLPRed, FirstSeen: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := ing.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if r := ask(intel.TLPRed); r.Verdict != risk.Malicious {
		t.Errorf("after a report: %s, want malicious", r.Verdict)
	}
	if r := ask(intel.TLPClear); r.Verdict != risk.Unknown {
		t.Errorf("TLP:RED report seen at TLP:CLEAR clearance: %s", r.Verdict)
	}
	before := ask(intel.TLPRed)
	if _, err := st.AddSighting(ctx, intel.Sighting{Observable: o, Where: "fin-lt-0231", FirstSeen: now, LastSeen: now, Count: 1}); err != nil {
		t.Fatal(err)
	}
	after := ask(intel.TLPRed)
	if !slices.ContainsFunc(after.Evidence, func(e string) bool { return strings.Contains(e, "Seen inside the organisation") }) {
		t.Errorf("sighting not in the answer: %q (before: %q)", after.Evidence, before.Evidence)
	}
}
