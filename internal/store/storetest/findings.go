package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Conformance tests of the issue-5 additions: indicators by ID, folding findings, the allowlist,
// verdicts.

func testIndicatorsByID(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	putSource(t, s, "other")
	var rs []intel.Report
	var obs []intel.Observable
	for i := range 1300 { // many IDs, two types, in one call
		o := ipv4(fmt.Sprintf("172.17.%d.%d", i/256, i%256))
		if i%3 == 1 {
			o = domain(fmt.Sprintf("e%04d.example", i))
		}
		obs = append(obs, o)
		rs = append(rs, report(o, 0, 1))
	}
	ingest(t, s, store.IngestOptions{Source: "feed"}, rs...)
	ingest(t, s, store.IngestOptions{Source: "other"}, report(obs[5], 2, 3, "x"))
	byObs, err := s.Indicators(ctx, obs)
	if err != nil || len(byObs) != len(obs) {
		t.Fatalf("Indicators = %d, %v", len(byObs), err)
	}

	if ins, err := s.IndicatorsByID(ctx, nil); err != nil || len(ins) != 0 {
		t.Errorf("IndicatorsByID(nil) = %d, %v; want none", len(ins), err)
	}
	// Reverse order, with missing IDs and a repeat.
	var ids []int64
	var want []intel.Indicator
	for i := len(byObs) - 1; i >= 0; i-- {
		ids = append(ids, byObs[i].ID)
		want = append(want, byObs[i])
		if i%200 == 0 {
			ids = append(ids, -1, 0, 1<<40)
		}
	}
	ids = append(ids, byObs[5].ID)
	want = append(want, byObs[5])
	got, err := s.IndicatorsByID(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d indicators, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Observable != w.Observable || len(g.Reports) != len(w.Reports) {
			t.Fatalf("indicator %d = %+v, want %+v", i, g, w)
		}
		for j := range g.Reports {
			checkReport(t, g.Reports[j], w.Reports[j])
		}
	}
	if last := got[len(got)-1]; len(last.Reports) != 2 || last.Reports[0].Source != "feed" || last.Reports[1].Source != "other" {
		t.Errorf("indicator with two reports = %+v", last)
	}
}

func testFindingFields(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := ipv4("192.0.2.10")
	detail := json.RawMessage(`{"score":82,"level":"act","factors":{"likelihood":0.9}}`)
	f, err := s.PutFinding(ctx, intel.Finding{Kind: "indicator-match", Title: "C2 contact", Observable: &o, AssetID: 3,
		Priority: 82, Level: "act", Key: "indicator-match|ipv4:192.0.2.10|asset:3", Count: 0, Detail: detail,
		Actions: []string{"opened"}, Note: "look at it", CreatedAt: at(1)})
	if err != nil {
		t.Fatal(err)
	}
	if f.Count != 1 || f.Key != "indicator-match|ipv4:192.0.2.10|asset:3" || f.Level != "act" || f.Note != "look at it" ||
		!slices.Equal(f.Actions, []string{"opened"}) || !f.ClosedAt.IsZero() {
		t.Errorf("PutFinding = %+v", f)
	}
	sameTime(t, "LastSeen defaulting to CreatedAt", f.LastSeen, at(1))
	var d1, d2 any
	if err := json.Unmarshal(f.Detail, &d1); err != nil {
		t.Fatalf("Detail %s: %v", f.Detail, err)
	}
	json.Unmarshal(detail, &d2)
	if fmt.Sprint(d1) != fmt.Sprint(d2) {
		t.Errorf("Detail = %s, want %s", f.Detail, detail)
	}
	f.Count, f.LastSeen, f.ClosedAt, f.Status = 5, at(4), at(5), intel.FindingResolved
	f.Actions = append(f.Actions, "resolved")
	f.Detail = nil
	up, err := s.PutFinding(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Finding(ctx, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 5 || len(got.Detail) != 0 || len(got.Actions) != 2 {
		t.Errorf("updated finding = %+v", got)
	}
	sameTime(t, "LastSeen", got.LastSeen, at(4))
	sameTime(t, "ClosedAt", got.ClosedAt, at(5))
	sameTime(t, "CreatedAt", got.CreatedAt, at(1))
	if _, err := s.PutFinding(ctx, intel.Finding{Title: "bad", Detail: json.RawMessage(`{"score":`)}); err == nil {
		t.Error("PutFinding with invalid JSON detail: no error")
	}
}

func testFindingFilter(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := ipv4("192.0.2.1"), domain("evil.example")
	put := func(f intel.Finding) intel.Finding {
		t.Helper()
		out, err := s.PutFinding(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	f1 := put(intel.Finding{Title: "1", Key: "k1", Observable: &a, Priority: 90, LastSeen: at(10), CreatedAt: at(1)})
	f2 := put(intel.Finding{Title: "2", Key: "k1", Observable: &a, Priority: 50, Status: intel.FindingResolved, LastSeen: at(3), CreatedAt: at(2)})
	f3 := put(intel.Finding{Title: "3", Key: "k2", Observable: &b, Priority: 70, Status: intel.FindingInProgress, LastSeen: at(5), CreatedAt: at(3)})
	f4 := put(intel.Finding{Title: "4", Key: "k3", Priority: 60, Status: intel.FindingFalsePositive, CreatedAt: at(4)})
	ids := func(f store.FindingFilter) []int64 {
		t.Helper()
		list, err := s.ListFindings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    store.FindingFilter
		want []int64
	}{
		{"all", store.FindingFilter{}, []int64{f4.ID, f3.ID, f2.ID, f1.ID}},
		{"key", store.FindingFilter{Key: "k1"}, []int64{f2.ID, f1.ID}},
		{"key limit", store.FindingFilter{Key: "k1", Limit: 1}, []int64{f2.ID}},
		{"open", store.FindingFilter{Open: true}, []int64{f3.ID, f1.ID}},
		{"since", store.FindingFilter{Since: at(4)}, []int64{f4.ID, f3.ID, f1.ID}}, // f4: LastSeen = CreatedAt
		{"min priority", store.FindingFilter{MinPriority: 65}, []int64{f3.ID, f1.ID}},
		{"observable", store.FindingFilter{Observable: &a}, []int64{f2.ID, f1.ID}},
		{"open observable", store.FindingFilter{Observable: &a, Open: true}, []int64{f1.ID}},
		{"status and key", store.FindingFilter{Status: intel.FindingResolved, Key: "k1"}, []int64{f2.ID}},
		{"none", store.FindingFilter{Key: "k2", MinPriority: 71}, nil},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("ListFindings(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testUpdateFinding(t *testing.T, s store.Store) {
	ctx := t.Context()
	f, err := s.PutFinding(ctx, intel.Finding{Title: "t", Key: "k", CreatedAt: at(1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateFinding(ctx, 99999, func(*intel.Finding) error { return nil })
	wantErr(t, "UpdateFinding(missing)", err, store.ErrNotFound)
	boom := errors.New("boom")
	_, err = s.UpdateFinding(ctx, f.ID, func(x *intel.Finding) error { x.Title = "changed"; return boom })
	wantErr(t, "UpdateFinding(fn error)", err, boom)
	if got, _ := s.Finding(ctx, f.ID); got.Title != "t" {
		t.Errorf("title after a failed update = %q", got.Title)
	}
	// Concurrent increments never lose one.
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.UpdateFinding(ctx, f.ID, func(x *intel.Finding) error {
				x.Count++
				x.Actions = append(x.Actions, "seen")
				x.ID, x.CreatedAt = 0, at(9) // ignored
				return nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Finding(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != n+1 || len(got.Actions) != n {
		t.Errorf("after %d concurrent updates: count %d, %d actions", n, got.Count, len(got.Actions))
	}
	sameTime(t, "CreatedAt", got.CreatedAt, at(1))
	if l, _ := s.ListFindings(ctx, store.FindingFilter{}); len(l) != 1 {
		t.Errorf("%d findings after updates, want 1", len(l))
	}
}

func testAllowlist(t *testing.T, s store.Store) {
	ctx := t.Context()
	if l, err := s.Allowlist(ctx); err != nil || len(l) != 0 {
		t.Errorf("empty Allowlist = %v, %v", l, err)
	}
	a, err := s.PutAllow(ctx, intel.AllowEntry{Observable: domain("cdn.example"), Reason: "our CDN", Actor: "cli", CreatedAt: at(1)})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Reason != "our CDN" || a.Actor != "cli" {
		t.Errorf("PutAllow = %+v", a)
	}
	sameTime(t, "CreatedAt", a.CreatedAt, at(1))
	b, err := s.PutAllow(ctx, intel.AllowEntry{Observable: ipv4("192.0.2.7"), Reason: "false positive, finding #4", Actor: "alice", FindingID: 4})
	if err != nil {
		t.Fatal(err)
	}
	if b.CreatedAt.IsZero() || b.FindingID != 4 {
		t.Errorf("PutAllow = %+v", b)
	}
	again, err := s.PutAllow(ctx, intel.AllowEntry{Observable: domain("cdn.example"), Reason: "still our CDN", Actor: "bob", CreatedAt: at(7)})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != a.ID || again.Reason != "still our CDN" || again.Actor != "bob" {
		t.Errorf("PutAllow again = %+v, want the same entry updated", again)
	}
	sameTime(t, "CreatedAt kept", again.CreatedAt, at(1))
	l, err := s.Allowlist(ctx)
	if err != nil || len(l) != 2 || l[0].ID != a.ID || l[1].ID != b.ID || l[1].Observable != ipv4("192.0.2.7") {
		t.Errorf("Allowlist = %+v, %v", l, err)
	}
	for _, bad := range []intel.Observable{{}, {Type: "bogus", Value: "x"}, {Type: intel.IPv4}} {
		if _, err := s.PutAllow(ctx, intel.AllowEntry{Observable: bad}); err == nil {
			t.Errorf("PutAllow(%v): no error", bad)
		}
	}
	if err := s.DeleteAllow(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteAllow(again)", s.DeleteAllow(ctx, a.ID), store.ErrNotFound)
	if l, _ := s.Allowlist(ctx); len(l) != 1 || l[0].ID != b.ID {
		t.Errorf("Allowlist after delete = %+v", l)
	}
}

func testVerdicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	putSource(t, s, "feed")
	for _, tp := range []bool{true, false, false, true, false} {
		if err := s.RecordVerdict(ctx, "feed", tp); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "RecordVerdict(unknown)", s.RecordVerdict(ctx, "nope", false), store.ErrNotFound)
	src, err := s.Source(ctx, "feed")
	if err != nil {
		t.Fatal(err)
	}
	if src.TruePositives != 2 || src.FalsePositives != 3 {
		t.Errorf("Source = tp %d fp %d, want 2 and 3", src.TruePositives, src.FalsePositives)
	}
	// PutSource leaves the counters alone.
	src = putSource(t, s, "feed")
	if src.TruePositives != 2 || src.FalsePositives != 3 {
		t.Errorf("PutSource = tp %d fp %d, want them kept", src.TruePositives, src.FalsePositives)
	}
	list, err := s.ListSources(ctx)
	if err != nil || len(list) != 1 || list[0].FalsePositives != 3 {
		t.Errorf("ListSources = %+v, %v", list, err)
	}
}

func testSightingVerdict(t *testing.T, s store.Store) {
	ctx := t.Context()
	o := ipv4("192.0.2.3")
	for _, where := range []string{"host-a", "host-b"} {
		if _, err := s.AddSighting(ctx, intel.Sighting{Observable: o, Where: where, Count: 3, LastSeen: at(1)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddSighting(ctx, intel.Sighting{Observable: ipv4("192.0.2.4"), Where: "host-a"}); err != nil {
		t.Fatal(err)
	}
	n, err := s.SetSightingVerdict(ctx, o, "fp")
	if err != nil || n != 2 {
		t.Fatalf("SetSightingVerdict = %d, %v; want 2", n, err)
	}
	ss, err := s.Sightings(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ss {
		if x.Verdict != "fp" || x.Count != 3 {
			t.Errorf("sighting after verdict = %+v", x)
		}
	}
	if other, _ := s.Sightings(ctx, ipv4("192.0.2.4")); len(other) != 1 || other[0].Verdict != "" {
		t.Errorf("other sighting = %+v", other)
	}
	if n, err := s.SetSightingVerdict(ctx, domain("none.example"), "tp"); err != nil || n != 0 {
		t.Errorf("SetSightingVerdict(no sightings) = %d, %v", n, err)
	}
	if _, err := s.SetSightingVerdict(ctx, o, "maybe"); err == nil {
		t.Error("SetSightingVerdict(maybe): no error")
	}
}
