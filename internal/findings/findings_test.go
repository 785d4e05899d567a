package findings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newService(t *testing.T) (*Service, *sqlite.DB, *clock) {
	t.Helper()
	db := openStore(t)
	c := &clock{t: t0}
	return New(db, nil, Options{Now: c.Now}), db, c
}

var c2 = intel.Observable{Type: intel.IPv4, Value: "192.0.2.66"}

func candidate(prio int, at time.Time) Candidate {
	return Candidate{Kind: "indicator-match", Title: fmt.Sprintf("C2 contact (%d)", prio), Observable: c2,
		Asset: &intel.Asset{ID: 7, Name: "fin-lt-0231"}, Priority: prio, Level: level(prio),
		Evidence: []string{fmt.Sprintf("evidence %d", prio)}, Recommendations: []string{fmt.Sprintf("rec %d", prio)},
		Detail: json.RawMessage(fmt.Sprintf(`{"score":%d}`, prio)), TLP: intel.TLPGreen, Sources: []string{"feodo"}, At: at}
}

func level(p int) string {
	if p >= 80 {
		return "act"
	}
	return "investigate"
}

func TestKey(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		o     intel.Observable
		asset int64
		want  string
	}{
		{"indicator-match", c2, 7, "indicator-match|ipv4:192.0.2.66|asset:7"},
		{"indicator-match", intel.Observable{Type: intel.Domain, Value: "evil.example"}, 0, "indicator-match|domain:evil.example|asset:none"},
		{"leaked-credential", intel.Observable{}, 3, "leaked-credential|-|asset:3"},
	} {
		if got := Key(tc.kind, tc.o, tc.asset); got != tc.want {
			t.Errorf("Key(%s, %v, %d) = %q, want %q", tc.kind, tc.o, tc.asset, got, tc.want)
		}
	}
}

func TestLearnedReliability(t *testing.T) {
	for _, tc := range []struct {
		base   intel.Reliability
		tp, fp int
		want   intel.Reliability
	}{
		{intel.ReliabilityB, 0, 0, intel.ReliabilityB},
		{intel.ReliabilityB, 0, 2, intel.ReliabilityB},
		{intel.ReliabilityB, 0, 3, intel.ReliabilityC},
		{intel.ReliabilityB, 0, 5, intel.ReliabilityC},
		{intel.ReliabilityB, 0, 6, intel.ReliabilityD},
		{intel.ReliabilityB, 4, 5, intel.ReliabilityC}, // net 5 - 4/2 = 3
		{intel.ReliabilityB, 5, 5, intel.ReliabilityC}, // net 5 - 5/2 = 3
		{intel.ReliabilityB, 6, 5, intel.ReliabilityB}, // net 5 - 3 = 2
		{intel.ReliabilityB, 100, 0, intel.ReliabilityB},
		{intel.ReliabilityA, 0, 100, intel.ReliabilityE},
		{intel.ReliabilityD, 0, 6, intel.ReliabilityE},
		{intel.ReliabilityE, 0, 30, intel.ReliabilityE},
		{intel.ReliabilityF, 10, 0, intel.ReliabilityF},
		{intel.ReliabilityF, 0, 30, intel.ReliabilityF},
		{0, 0, 0, intel.ReliabilityF},
		{intel.ReliabilityC, -5, -5, intel.ReliabilityC},
	} {
		want := tc.want
		// The rule, spelled out: net = fp - tp/2; every 3 lower one letter, floor E.
		if net := max(tc.fp, 0) - max(tc.tp, 0)/2; tc.base.Valid() && tc.base != intel.ReliabilityF && net >= 3 {
			want = min(tc.base+intel.Reliability(net/3), intel.ReliabilityE)
		}
		if want != tc.want {
			t.Fatalf("table row %v disagrees with the documented rule (%c)", tc, want)
		}
		if got := LearnedReliability(tc.base, tc.tp, tc.fp); got != tc.want {
			t.Errorf("LearnedReliability(%c, %d, %d) = %c, want %c", tc.base, tc.tp, tc.fp, got, tc.want)
		}
	}
}

func TestParseStatusAndTransitions(t *testing.T) {
	for in, want := range map[string]string{"new": "new", "In Progress": "in-progress", "false_positive": "false-positive",
		"FP": "false-positive", " resolved ": "resolved", "TRIAGED": "triaged"} {
		if got, err := ParseStatus(in); err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "open", "closed", "in--progress"} {
		if _, err := ParseStatus(bad); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("ParseStatus(%q) = %v, want ErrInvalidChange", bad, err)
		}
	}
	allowed := map[[2]string]bool{
		{"new", "triaged"}: true, {"new", "resolved"}: true, {"new", "false-positive"}: true,
		{"triaged", "in-progress"}: true, {"triaged", "resolved"}: true, {"triaged", "false-positive"}: true,
		{"in-progress", "resolved"}: true, {"in-progress", "false-positive"}: true,
		{"resolved", "triaged"}: true,
	}
	for _, from := range intel.FindingStatuses {
		for _, to := range intel.FindingStatuses {
			if got := CanMove(from, to); got != allowed[[2]string{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
}

func TestRaiseBelowMinimum(t *testing.T) {
	s, db, _ := newService(t)
	f, created, err := s.Raise(t.Context(), candidate(59, t0))
	if err != nil || created || f.ID != 0 {
		t.Errorf("Raise(59) = %+v, %v, %v; want nothing", f, created, err)
	}
	if l, _ := db.ListFindings(t.Context(), store.FindingFilter{}); len(l) != 0 {
		t.Errorf("%d findings after an event below the minimum", len(l))
	}
	all := New(db, nil, Options{MinPriority: -1})
	if _, created, err := all.Raise(t.Context(), candidate(0, t0)); err != nil || !created {
		t.Errorf("Raise(0) with MinPriority -1 = %v, %v; want created", created, err)
	}
}

func TestRaiseInvalid(t *testing.T) {
	s, _, _ := newService(t)
	for name, c := range map[string]Candidate{
		"no kind":      {Priority: 90, Observable: c2},
		"bad type":     {Kind: "indicator-match", Priority: 90, Observable: intel.Observable{Type: "bogus", Value: "x"}},
		"empty value":  {Kind: "indicator-match", Priority: 90, Observable: intel.Observable{Type: intel.IPv4}},
		"invalid JSON": {Kind: "indicator-match", Priority: 90, Observable: c2, Detail: json.RawMessage(`{"score":`)},
	} {
		if _, _, err := s.Raise(t.Context(), c); err == nil {
			t.Errorf("Raise(%s): no error", name)
		}
	}
}

func TestRaiseFolds(t *testing.T) {
	s, db, _ := newService(t)
	ctx := t.Context()
	f1, created, err := s.Raise(ctx, candidate(70, t0))
	if err != nil || !created {
		t.Fatalf("first Raise = %v, %v", created, err)
	}
	if f1.Count != 1 || f1.Status != intel.FindingNew || f1.Key != "indicator-match|ipv4:192.0.2.66|asset:7" ||
		f1.AssetID != 7 || f1.Level != "investigate" || !f1.LastSeen.Equal(t0) || len(f1.Actions) != 1 ||
		!strings.Contains(f1.Actions[0], "opened, priority 70 (investigate); sources feodo") {
		t.Errorf("opened finding = %+v", f1)
	}
	// A stronger event takes over priority, evidence, recommendations and detail.
	f, created, err := s.Raise(ctx, candidate(85, t0.Add(time.Hour)))
	if err != nil || created || f.ID != f1.ID {
		t.Fatalf("second Raise = %+v, %v, %v", f, created, err)
	}
	if f.Count != 2 || f.Priority != 85 || f.Level != "act" || f.Evidence[0] != "evidence 85" ||
		f.Recommendations[0] != "rec 85" || string(f.Detail) != `{"score":85}` || f.Title != "C2 contact (85)" ||
		!f.LastSeen.Equal(t0.Add(time.Hour)) || len(f.Actions) != 2 || !strings.Contains(f.Actions[1], "priority raised 70 -> 85 (act)") {
		t.Errorf("folded finding = %+v", f)
	}
	// A weaker, late event only counts; the TLP becomes the stricter one.
	weak := candidate(65, t0.Add(30*time.Minute))
	weak.TLP = intel.TLPAmber
	f, _, err = s.Raise(ctx, weak)
	if err != nil {
		t.Fatal(err)
	}
	if f.Count != 3 || f.Priority != 85 || f.Evidence[0] != "evidence 85" || !f.LastSeen.Equal(t0.Add(time.Hour)) || f.TLP != intel.TLPAmber {
		t.Errorf("after a weaker late event = %+v", f)
	}
	// Another asset is another finding.
	other := candidate(70, t0)
	other.Asset = &intel.Asset{ID: 8}
	if g, created, err := s.Raise(ctx, other); err != nil || !created || g.ID == f1.ID {
		t.Errorf("Raise on another asset = %+v, %v, %v", g, created, err)
	}
	// The window slides with LastSeen: 23h after the last event still folds, 25h later opens anew.
	if g, created, _ := s.Raise(ctx, candidate(70, t0.Add(24*time.Hour))); created || g.ID != f1.ID || g.Count != 4 {
		t.Errorf("Raise 23h after the last event = %+v, created %v", g, created)
	}
	g, created, err := s.Raise(ctx, candidate(70, t0.Add(49*time.Hour+time.Second)))
	if err != nil || !created || g.ID == f1.ID {
		t.Fatalf("Raise after the window = %+v, %v, %v", g, created, err)
	}
	if !strings.Contains(g.Actions[0], fmt.Sprintf("follows finding #%d (new,", f1.ID)) {
		t.Errorf("new finding's actions = %q", g.Actions)
	}
	if l, _ := db.ListFindings(ctx, store.FindingFilter{Key: f1.Key}); len(l) != 2 {
		t.Errorf("%d findings with the key, want 2", len(l))
	}
}

func TestRaiseAfterVerdicts(t *testing.T) {
	s, _, clk := newService(t)
	ctx := t.Context()
	f, _, err := s.Raise(ctx, candidate(80, t0))
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(2 * time.Hour))
	if _, err := s.Set(ctx, f.ID, Change{Status: "resolved", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	// A late event from before the resolution folds into the resolved finding, which stays resolved.
	g, created, err := s.Raise(ctx, candidate(90, t0.Add(time.Hour)))
	if err != nil || created || g.ID != f.ID || g.Status != intel.FindingResolved || g.Count != 2 {
		t.Errorf("late event = %+v, %v, %v", g, created, err)
	}
	// Activity after the resolution is a recurrence: a new finding.
	g, created, err = s.Raise(ctx, candidate(80, t0.Add(3*time.Hour)))
	if err != nil || !created || g.ID == f.ID || g.Status != intel.FindingNew {
		t.Fatalf("recurrence = %+v, %v, %v", g, created, err)
	}
	// A false positive absorbs events for the window after the verdict, then a new finding opens.
	clk.Set(t0.Add(4 * time.Hour))
	if _, err := s.Set(ctx, g.ID, Change{Status: "false-positive", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	h, created, err := s.Raise(ctx, candidate(80, t0.Add(27*time.Hour)))
	if err != nil || created || h.ID != g.ID || h.Status != intel.FindingFalsePositive || h.Count != 2 {
		t.Errorf("event within the window after a false positive = %+v, %v, %v", h, created, err)
	}
	h, created, err = s.Raise(ctx, candidate(80, t0.Add(28*time.Hour)))
	if err != nil || !created || h.ID == g.ID {
		t.Errorf("event after the window after a false positive = %+v, %v, %v", h, created, err)
	}
}

func TestRaiseConcurrent(t *testing.T) {
	s, db, _ := newService(t)
	ctx := t.Context()
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range n {
		wg.Go(func() {
			c := candidate(60+i%40, t0.Add(time.Duration(i)*time.Minute))
			if i%2 == 1 {
				c.Asset = &intel.Asset{ID: 9}
			}
			_, ok, err := s.Raise(ctx, c)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if ok {
				created++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	l, err := db.ListFindings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || created != 2 {
		t.Fatalf("%d findings (%d created) from %d concurrent events on two keys, want 2", len(l), created, n)
	}
	for _, f := range l {
		// Asset 7 got the even events (last at minute 38, top priority 98), asset 9 the odd ones.
		last, top := 38, 98
		if f.AssetID == 9 {
			last, top = 39, 99
		}
		if f.Count != n/2 || !f.LastSeen.Equal(t0.Add(time.Duration(last)*time.Minute)) || f.Priority != top {
			t.Errorf("finding %s: count %d, last seen %s, priority %d", f.Key, f.Count, f.LastSeen, f.Priority)
		}
	}
	if len(s.keys.m) != 0 {
		t.Errorf("%d key locks left", len(s.keys.m))
	}
}

// seedIndicator ingests c2 from two sources and a sighting of it on two hosts.
func seedIndicator(t *testing.T, db *sqlite.DB) {
	t.Helper()
	ctx := t.Context()
	for _, name := range []string{"feodo", "urlhaus"} {
		if _, err := db.PutSource(ctx, intel.Source{Name: name, Kind: "list", Reliability: intel.ReliabilityB, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		in, err := db.NewIngester(ctx, store.IngestOptions{Source: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Add(ctx, intel.Report{Observable: c2, Confidence: 80, FirstSeen: t0, LastSeen: t0, ThreatType: "c2"}); err != nil {
			t.Fatal(err)
		}
		if _, err := in.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, where := range []string{"fin-lt-0231", "hr-lt-0007"} {
		if _, err := db.AddSighting(ctx, intel.Sighting{Observable: c2, Where: where, LastSeen: t0}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSetWorkflow(t *testing.T) {
	s, db, clk := newService(t)
	ctx := t.Context()
	f, _, err := s.Raise(ctx, candidate(80, t0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Set(ctx, 999, Change{Status: "triaged", Actor: "alice"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Set(missing) = %v, want ErrNotFound", err)
	}
	for name, c := range map[string]Change{
		"no actor":        {Status: "triaged"},
		"unknown status":  {Status: "closed", Actor: "alice"},
		"nothing":         {Actor: "alice"},
		"tp without res.": {Status: "triaged", TruePositive: true, Actor: "alice"},
		"skip a step":     {Status: "in-progress", Actor: "alice"},
	} {
		if _, err := s.Set(ctx, f.ID, c); !errors.Is(err, ErrInvalidChange) {
			t.Errorf("Set(%s) = %v, want ErrInvalidChange", name, err)
		}
	}
	clk.Set(t0.Add(time.Hour))
	g, err := s.Set(ctx, f.ID, Change{Status: "triaged", Assignee: "bob", Note: "looking", Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != intel.FindingTriaged || g.Assignee != "bob" || g.Note != "looking" || len(g.Actions) != 2 ||
		g.Actions[1] != `2026-03-02T10:00:00Z alice: status new -> triaged; assignee bob; note "looking"` {
		t.Errorf("triaged = %+v (actions %q)", g, g.Actions)
	}
	for _, st := range []string{"in progress", "resolved"} {
		if g, err = s.Set(ctx, f.ID, Change{Status: st, Actor: "bob"}); err != nil {
			t.Fatalf("Set(%s): %v", st, err)
		}
	}
	if !g.ClosedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("resolved: ClosedAt %s", g.ClosedAt)
	}
	if _, err := s.Set(ctx, f.ID, Change{Status: "false-positive", Actor: "bob"}); !errors.Is(err, ErrInvalidChange) {
		t.Errorf("resolved -> false-positive = %v, want ErrInvalidChange", err)
	}
	if g, err = s.Set(ctx, f.ID, Change{Status: "triaged", Assignee: "-", Actor: "carol"}); err != nil {
		t.Fatal(err)
	}
	if g.Status != intel.FindingTriaged || !g.ClosedAt.IsZero() || g.Assignee != "" || !g.Open() {
		t.Errorf("reopened = %+v", g)
	}
	// Asking for what already is records nothing.
	same, err := s.Set(ctx, f.ID, Change{Status: "triaged", Actor: "carol"})
	if err != nil || len(same.Actions) != len(g.Actions) || same.Status != intel.FindingTriaged {
		t.Errorf("repeated change = %+v, %v", same, err)
	}
	log, err := db.AuditLog(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var updates int
	for _, e := range log {
		if e.Action == "finding.update" && e.Object == fmt.Sprintf("finding:%d", f.ID) {
			updates++
		}
	}
	if updates != 4 || log[0].Actor != "carol" || !strings.Contains(log[0].Detail, "status resolved -> triaged; unassigned") {
		t.Errorf("audit: %d updates, newest %+v", updates, log[0])
	}
}

func TestSetFalsePositive(t *testing.T) {
	s, db, _ := newService(t)
	ctx := t.Context()
	seedIndicator(t, db)
	f, _, err := s.Raise(ctx, candidate(80, t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, f.ID, Change{Status: "false positive", Note: "our pentest", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	allow, err := db.Allowlist(ctx)
	if err != nil || len(allow) != 1 || allow[0].Observable != c2 || allow[0].FindingID != f.ID ||
		allow[0].Reason != fmt.Sprintf("false positive, finding #%d", f.ID) || allow[0].Actor != "alice" {
		t.Errorf("allowlist = %+v, %v", allow, err)
	}
	if m, err := s.Allowlisted(ctx); err != nil || !m[c2] || len(m) != 1 {
		t.Errorf("Allowlisted = %v, %v", m, err)
	}
	ss, _ := db.Sightings(ctx, c2)
	for _, x := range ss {
		if x.Verdict != "fp" || x.Count != 1 {
			t.Errorf("sighting = %+v, want verdict fp", x)
		}
	}
	for _, name := range []string{"feodo", "urlhaus"} {
		src, _ := db.Source(ctx, name)
		if src.FalsePositives != 1 || src.TruePositives != 0 {
			t.Errorf("source %s: tp %d fp %d", name, src.TruePositives, src.FalsePositives)
		}
	}
	// A false positive is final.
	if _, err := s.Set(ctx, f.ID, Change{Status: "triaged", Actor: "alice"}); !errors.Is(err, ErrInvalidChange) {
		t.Errorf("false-positive -> triaged = %v", err)
	}
	// A note on it does not count the verdict again.
	if _, err := s.Set(ctx, f.ID, Change{Note: "confirmed with red team", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	if src, _ := db.Source(ctx, "feodo"); src.FalsePositives != 1 {
		t.Errorf("false positives after a note: %d", src.FalsePositives)
	}
}

func TestSetTruePositive(t *testing.T) {
	s, db, _ := newService(t)
	ctx := t.Context()
	seedIndicator(t, db)
	f, _, err := s.Raise(ctx, candidate(80, t0))
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Set(ctx, f.ID, Change{Status: "resolved", TruePositive: true, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(g.Actions[len(g.Actions)-1], "status new -> resolved; verdict true positive") {
		t.Errorf("actions = %q", g.Actions)
	}
	for _, name := range []string{"feodo", "urlhaus"} {
		if src, _ := db.Source(ctx, name); src.TruePositives != 1 || src.FalsePositives != 0 {
			t.Errorf("source %s: tp %d fp %d", name, src.TruePositives, src.FalsePositives)
		}
	}
	if ss, _ := db.Sightings(ctx, c2); len(ss) != 2 || ss[0].Verdict != "tp" {
		t.Errorf("sightings = %+v", ss)
	}
	if l, _ := db.Allowlist(ctx); len(l) != 0 {
		t.Errorf("allowlist after a true positive = %+v", l)
	}
	// Resolving again with tp is refused rather than counted twice.
	if _, err := s.Set(ctx, f.ID, Change{Status: "resolved", TruePositive: true, Actor: "alice"}); !errors.Is(err, ErrInvalidChange) {
		t.Errorf("second tp = %v", err)
	}
}

func TestAllowAndDisallow(t *testing.T) {
	s, db, _ := newService(t)
	ctx := t.Context()
	o := intel.Observable{Type: intel.Domain, Value: "cdn.example"}
	e, err := s.Allow(ctx, o, "our CDN", "cli")
	if err != nil || e.ID == 0 {
		t.Fatalf("Allow = %+v, %v", e, err)
	}
	if err := s.Disallow(ctx, e.ID, "cli"); err != nil {
		t.Fatal(err)
	}
	if err := s.Disallow(ctx, e.ID, "cli"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Disallow again = %v", err)
	}
	log, _ := db.AuditLog(ctx, store.AuditFilter{})
	if len(log) != 2 || log[0].Action != "allowlist.delete" || log[1].Action != "allowlist.add" || log[1].Object != "domain:cdn.example" {
		t.Errorf("audit = %+v", log)
	}
}

func TestSightFlush(t *testing.T) {
	s, db, _ := newService(t)
	ctx := t.Context()
	for i := range 5 {
		s.Sight(c2, "fin-lt-0231", t0.Add(time.Duration(i)*time.Minute))
	}
	s.Sight(c2, "hr-lt-0007", time.Time{}) // now
	s.Sight(intel.Observable{Type: "bogus", Value: "x"}, "h", t0)
	s.Sight(intel.Observable{Type: intel.IPv4}, "h", t0)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ss, err := db.Sightings(ctx, c2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 {
		t.Fatalf("sightings = %+v", ss)
	}
	for _, x := range ss {
		switch x.Where {
		case "fin-lt-0231":
			if x.Count != 5 || !x.FirstSeen.Equal(t0) || !x.LastSeen.Equal(t0.Add(4*time.Minute)) {
				t.Errorf("merged sighting = %+v", x)
			}
		case "hr-lt-0007":
			if x.Count != 1 || !x.LastSeen.Equal(t0) {
				t.Errorf("sighting = %+v", x)
			}
		}
	}
	// Flushing again adds to the stored counts.
	s.Sight(c2, "fin-lt-0231", t0.Add(time.Hour))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ss, _ := db.Sightings(ctx, c2); ss[0].Where != "fin-lt-0231" || ss[0].Count != 6 {
		t.Errorf("after a second flush = %+v", ss)
	}
	if st, _ := db.Stats(ctx); st.Sightings != 2 {
		t.Errorf("%d sightings stored, want 2", st.Sightings)
	}
}

func TestSightWakesFlusher(t *testing.T) {
	s, _, _ := newService(t)
	for i := range flushAt - 1 {
		s.Sight(intel.Observable{Type: intel.IPv4, Value: fmt.Sprintf("10.0.%d.%d", i/256, i%256)}, "h", t0)
	}
	if len(s.kick) != 0 {
		t.Fatal("flusher woken before 1000 pending")
	}
	s.Sight(c2, "h", t0)
	if len(s.kick) != 1 {
		t.Fatal("flusher not woken at 1000 pending")
	}
}

func TestSightQueueBounded(t *testing.T) {
	s, _, _ := newService(t)
	for i := range maxPending + 10 {
		s.Sight(intel.Observable{Type: intel.IPv4, Value: fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)}, "h", t0)
	}
	s.Sight(intel.Observable{Type: intel.IPv4, Value: "10.0.0.0"}, "h", t0) // queued: merges
	if len(s.pending) != maxPending || s.dropped != 10 || s.pending[sightKey{intel.Observable{Type: intel.IPv4, Value: "10.0.0.0"}, "h"}].Count != 2 {
		t.Errorf("pending %d, dropped %d", len(s.pending), s.dropped)
	}
}

func TestRunFinalFlush(t *testing.T) {
	s, db, _ := newService(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for range 3 {
		s.Sight(c2, "fin-lt-0231", t0)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ss, _ := db.Sightings(t.Context(), c2); len(ss) != 1 || ss[0].Count != 3 {
		t.Errorf("sightings after Run = %+v", ss)
	}
}

// failingStore fails AddSighting while fail is set.
type failingStore struct {
	store.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) AddSighting(ctx context.Context, x intel.Sighting) (intel.Sighting, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return intel.Sighting{}, errors.New("disk full")
	}
	return f.Store.AddSighting(ctx, x)
}

func TestFlushRequeuesOnError(t *testing.T) {
	db := openStore(t)
	fs := &failingStore{Store: db, fail: true}
	s := New(fs, nil, Options{})
	s.Sight(c2, "a", t0)
	s.Sight(c2, "b", t0)
	if err := s.Flush(t.Context()); err == nil {
		t.Fatal("Flush with a failing store: no error")
	}
	s.Sight(c2, "a", t0.Add(time.Minute))
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	ss, _ := db.Sightings(t.Context(), c2)
	if len(ss) != 2 || ss[0].Where != "a" || ss[0].Count != 2 || ss[1].Count != 1 {
		t.Errorf("sightings after a retried flush = %+v", ss)
	}
}
