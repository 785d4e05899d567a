package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// testSTIX is the conformance suite of [store.STIXStore].
func testSTIX(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutAndDuplicates", testSTIXPut},
		{"Collections", testSTIXCollections},
		{"Filters", testSTIXFilters},
		{"Versions", testSTIXVersions},
		{"VersionsAfterOtherFilters", testSTIXVersionsFiltered},
		{"SpecVersions", testSTIXSpecVersions},
		{"TLPAndConfidence", testSTIXTLP},
		{"Paging", testSTIXPaging},
		{"PagingWhileAdding", testSTIXPagingWhileAdding},
		{"BadCursor", testSTIXBadCursor},
		{"Delete", testSTIXDelete},
		{"DateAddedNeverMovesBack", testSTIXDateAddedMonotonic},
		{"Status", testTAXIIStatus},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// stixTime formats t as STIX does (milliseconds).
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// sobj returns a version of object id in coll, modified at hour h, TLP:CLEAR, no confidence,
// spec 2.1, with its JSON.
func sobj(coll, id string, h int) store.STIXObject {
	typ, _, _ := cutType(id)
	m := at(h)
	return store.STIXObject{Collection: coll, ID: id, Type: typ, SpecVersion: "2.1", Created: at(0), Modified: m,
		Confidence: -1, Raw: []byte(fmt.Sprintf(`{"type":%q,"spec_version":"2.1","id":%q,"created":%q,"modified":%q}`,
			typ, id, stixTime(at(0)), stixTime(m)))}
}

func cutType(id string) (typ, rest string, ok bool) {
	for i := 0; i+1 < len(id); i++ {
		if id[i] == '-' && id[i+1] == '-' {
			return id[:i], id[i+2:], true
		}
	}
	return id, "", false
}

func putSTIX(t *testing.T, s store.Store, objs ...store.STIXObject) int {
	t.Helper()
	n, err := s.PutSTIXObjects(t.Context(), objs)
	if err != nil {
		t.Fatalf("PutSTIXObjects: %v", err)
	}
	return n
}

// all returns every page of q (following Next).
func all(t *testing.T, s store.Store, q store.STIXQuery) []store.STIXObject {
	t.Helper()
	var out []store.STIXObject
	for i := 0; ; i++ {
		p, err := s.STIXObjects(t.Context(), q)
		if err != nil {
			t.Fatalf("STIXObjects(%+v): %v", q, err)
		}
		out = append(out, p.Objects...)
		if !p.More {
			if p.Next != "" {
				t.Errorf("last page has Next %q", p.Next)
			}
			return out
		}
		if i > 1000 {
			t.Fatal("paging does not end")
		}
		q.Next = p.Next
	}
}

// versionKeys lists "id@hour" of objs, in their order.
func versionKeys(objs []store.STIXObject) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = fmt.Sprintf("%s@%d", o.ID, int(o.Modified.Sub(t0)/time.Hour))
	}
	return out
}

func wantVersions(t *testing.T, s store.Store, q store.STIXQuery, want ...string) {
	t.Helper()
	got := versionKeys(all(t, s, q))
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("STIXObjects(versions %v, specs %v, ids %v, types %v, after %v) = %v, want %v",
			q.Versions, q.SpecVersions, q.IDs, q.Types, q.AddedAfter, got, want)
	}
}

const (
	ind1 = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e"
	ind2 = "indicator--cd981c25-8042-4166-8945-51178443bdac"
	mal1 = "malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec"
	rel1 = "relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463"
	coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
)

func testSTIXPut(t *testing.T, s store.Store) {
	ctx := t.Context()
	m := sobj(store.STIXPool, mal1, 3)
	m.Revoked, m.TLP, m.Confidence, m.Raw = true, intel.TLPAmber, 85, []byte(`{"x_custom": [1, 2], "id": "`+mal1+`"}`)
	before := time.Now().Add(-time.Second)
	if n := putSTIX(t, s, sobj(store.STIXPool, ind1, 1), sobj(store.STIXPool, ind1, 2), m); n != 3 {
		t.Fatalf("added %d, want 3", n)
	}
	got := all(t, s, store.STIXQuery{Collection: store.STIXPool, Versions: []string{"all"}, MaxTLP: intel.TLPRed})
	if len(got) != 3 {
		t.Fatalf("got %d versions, want 3", len(got))
	}
	for i, o := range got {
		if o.DateAdded.Before(before) || o.DateAdded.Location() != time.UTC || !o.DateAdded.Equal(o.DateAdded.Truncate(time.Microsecond)) {
			t.Errorf("version %d: DateAdded %v: want a UTC time in microseconds, after the put started", i, o.DateAdded)
		}
		if i > 0 && !o.DateAdded.After(got[i-1].DateAdded) {
			t.Errorf("DateAdded not strictly increasing: %v then %v", got[i-1].DateAdded, o.DateAdded)
		}
	}
	g := got[2]
	if g.ID != mal1 || g.Type != "malware" || g.SpecVersion != "2.1" || !g.Created.Equal(at(0)) || !g.Modified.Equal(at(3)) ||
		!g.Revoked || g.TLP != intel.TLPAmber || g.Confidence != 85 || string(g.Raw) != string(m.Raw) || g.Collection != store.STIXPool {
		t.Errorf("round trip: got %+v, want %+v", g, m)
	}
	if got[0].Confidence != -1 || got[0].Revoked {
		t.Errorf("confidence -1 / revoked false lost: %+v", got[0])
	}

	// A version already held is left as it is, DateAdded and JSON included.
	dup := sobj(store.STIXPool, ind1, 1)
	dup.Raw = []byte(`{"changed": true}`)
	if n := putSTIX(t, s, dup, sobj(store.STIXPool, ind1, 4)); n != 1 {
		t.Errorf("re-put added %d, want 1 (the new version only)", n)
	}
	again := all(t, s, store.STIXQuery{Collection: store.STIXPool, Versions: []string{"all"}, MaxTLP: intel.TLPRed})
	if len(again) != 4 || !again[0].DateAdded.Equal(got[0].DateAdded) || string(again[0].Raw) == `{"changed": true}` {
		t.Errorf("duplicate changed the stored version: %+v", again)
	}
	if n, err := s.PutSTIXObjects(ctx, nil); n != 0 || err != nil {
		t.Errorf("PutSTIXObjects(nil) = %d, %v", n, err)
	}
	// An unversioned object (an SCO) has one version, with a zero Modified.
	sco := store.STIXObject{Collection: store.STIXPool, ID: "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", Type: "ipv4-addr",
		SpecVersion: "2.1", Confidence: -1, Raw: []byte(`{"type":"ipv4-addr","value":"198.51.100.3"}`)}
	if n := putSTIX(t, s, sco, sco); n != 1 {
		t.Errorf("SCO put twice in one call added %d, want 1", n)
	}
	scos := all(t, s, store.STIXQuery{Collection: store.STIXPool, IDs: []string{sco.ID}})
	if len(scos) != 1 || !scos[0].Modified.IsZero() || !scos[0].Created.IsZero() {
		t.Errorf("SCO: %+v", scos)
	}
	for _, bad := range []store.STIXObject{
		{ID: ind2, Type: "indicator", Raw: []byte("{}")},
		{Collection: "c", Type: "indicator", Raw: []byte("{}")},
		{Collection: "c", ID: ind2, Raw: []byte("{}")},
		{Collection: "c", ID: ind2, Type: "indicator"},
	} {
		if _, err := s.PutSTIXObjects(ctx, []store.STIXObject{sobj("c", ind1, 1), bad}); err == nil {
			t.Errorf("PutSTIXObjects accepted %+v", bad)
		}
	}
	if got := all(t, s, store.STIXQuery{Collection: "c"}); len(got) != 0 {
		t.Errorf("a refused call half-wrote: %v", versionKeys(got))
	}
}

func testSTIXCollections(t *testing.T, s store.Store) {
	putSTIX(t, s, sobj(store.STIXPool, ind1, 1), sobj(coll, ind1, 1), sobj(coll, ind2, 1))
	wantVersions(t, s, store.STIXQuery{Collection: store.STIXPool}, ind1+"@1")
	wantVersions(t, s, store.STIXQuery{Collection: coll}, ind1+"@1", ind2+"@1")
	wantVersions(t, s, store.STIXQuery{Collection: "other"})
}

func testSTIXFilters(t *testing.T, s store.Store) {
	putSTIX(t, s, sobj(coll, rel1, 1))
	putSTIX(t, s, sobj(coll, ind2, 1))
	mid := all(t, s, store.STIXQuery{Collection: coll})[1].DateAdded
	putSTIX(t, s, sobj(coll, ind1, 2), sobj(coll, mal1, 1))
	q := store.STIXQuery{Collection: coll}
	wantVersions(t, s, q, rel1+"@1", ind2+"@1", ind1+"@2", mal1+"@1")
	q.Types = []string{"indicator", "malware"}
	wantVersions(t, s, q, ind2+"@1", ind1+"@2", mal1+"@1")
	q.IDs = []string{mal1, rel1, ind1}
	wantVersions(t, s, q, ind1+"@2", mal1+"@1")
	q.AddedAfter = mid
	wantVersions(t, s, q, ind1+"@2", mal1+"@1")
	wantVersions(t, s, store.STIXQuery{Collection: coll, AddedAfter: mid}, ind1+"@2", mal1+"@1")
	wantVersions(t, s, store.STIXQuery{Collection: coll, Types: []string{"campaign"}})
}

func testSTIXVersions(t *testing.T, s store.Store) {
	// ind1 has versions at hours 1, 2, 3 added in the order 2, 1, 3; ind2 one version.
	putSTIX(t, s, sobj(coll, ind1, 2))
	putSTIX(t, s, sobj(coll, ind1, 1), sobj(coll, ind2, 5))
	putSTIX(t, s, sobj(coll, ind1, 3))
	q := func(v ...string) store.STIXQuery { return store.STIXQuery{Collection: coll, Versions: v} }
	wantVersions(t, s, q(), ind2+"@5", ind1+"@3")
	wantVersions(t, s, q("last"), ind2+"@5", ind1+"@3")
	wantVersions(t, s, q("first"), ind1+"@1", ind2+"@5")
	wantVersions(t, s, q("all"), ind1+"@2", ind1+"@1", ind2+"@5", ind1+"@3")
	wantVersions(t, s, q("first", "last"), ind1+"@1", ind2+"@5", ind1+"@3")
	wantVersions(t, s, q(stixTime(at(2))), ind1+"@2")
	wantVersions(t, s, q(at(2).Format(time.RFC3339), "last"), ind1+"@2", ind2+"@5", ind1+"@3")
	wantVersions(t, s, q(stixTime(at(9))))
	if _, err := s.STIXObjects(t.Context(), q("newest")); err == nil {
		t.Error("STIXObjects accepted match[version]=newest")
	}
}

// testSTIXVersionsFiltered checks that first and last are taken among the versions that pass the
// other filters, AddedAfter included (as medallion's basic filter does).
func testSTIXVersionsFiltered(t *testing.T, s store.Store) {
	putSTIX(t, s, sobj(coll, ind1, 1))
	first := all(t, s, store.STIXQuery{Collection: coll})[0].DateAdded
	putSTIX(t, s, sobj(coll, ind1, 2))
	putSTIX(t, s, sobj(coll, ind1, 3))
	wantVersions(t, s, store.STIXQuery{Collection: coll, AddedAfter: first, Versions: []string{"first"}}, ind1+"@2")
	wantVersions(t, s, store.STIXQuery{Collection: coll, AddedAfter: first}, ind1+"@3")
	wantVersions(t, s, store.STIXQuery{Collection: coll, AddedAfter: first, Versions: []string{"all"}}, ind1+"@2", ind1+"@3")
}

func testSTIXSpecVersions(t *testing.T, s store.Store) {
	// mal1: a 2.1 version at hour 1 and a newer 2.0 version at hour 2 (medallion's test data).
	old := sobj(coll, mal1, 2)
	old.SpecVersion = "2.0"
	putSTIX(t, s, sobj(coll, mal1, 1), old, sobj(coll, ind1, 1))
	q := func(specs []string, v ...string) store.STIXQuery {
		return store.STIXQuery{Collection: coll, SpecVersions: specs, Versions: v}
	}
	wantVersions(t, s, q(nil), mal1+"@1", ind1+"@1")
	wantVersions(t, s, q(nil, "all"), mal1+"@1", ind1+"@1")
	wantVersions(t, s, q([]string{"2.0"}), mal1+"@2")
	wantVersions(t, s, q([]string{"2.1"}), mal1+"@1", ind1+"@1")
	wantVersions(t, s, q([]string{"2.0", "2.1"}), mal1+"@2", ind1+"@1")
	wantVersions(t, s, q([]string{"2.0", "2.1"}, "all"), mal1+"@1", mal1+"@2", ind1+"@1")
	wantVersions(t, s, q([]string{"2.0", "2.1"}, "first"), mal1+"@1", ind1+"@1")
}

func testSTIXTLP(t *testing.T, s store.Store) {
	// ind1: a green version then a red one; ind2: amber, confidence 90; mal1: clear, confidence 50.
	g, r := sobj(coll, ind1, 1), sobj(coll, ind1, 2)
	g.TLP, r.TLP = intel.TLPGreen, intel.TLPRed
	a := sobj(coll, ind2, 1)
	a.TLP, a.Confidence = intel.TLPAmber, 90
	c := sobj(coll, mal1, 1)
	c.Confidence = 50
	putSTIX(t, s, g, r, a, c)
	q := func(tlp intel.TLP, conf int, v ...string) store.STIXQuery {
		return store.STIXQuery{Collection: coll, MaxTLP: tlp, MinConfidence: conf, Versions: v}
	}
	wantVersions(t, s, q(intel.TLPClear, 0), mal1+"@1")
	// The last version the caller may see: the red one is left out, the green one is the last.
	wantVersions(t, s, q(intel.TLPGreen, 0), ind1+"@1", mal1+"@1")
	wantVersions(t, s, q(intel.TLPAmber, 0, "all"), ind1+"@1", ind2+"@1", mal1+"@1")
	wantVersions(t, s, q(intel.TLPRed, 0), ind1+"@2", ind2+"@1", mal1+"@1")
	wantVersions(t, s, q(intel.TLPRed, 0, "all"), ind1+"@1", ind1+"@2", ind2+"@1", mal1+"@1")
	wantVersions(t, s, q(intel.TLPRed, 50), ind2+"@1", mal1+"@1")
	wantVersions(t, s, q(intel.TLPRed, 51), ind2+"@1")
	wantVersions(t, s, q(intel.TLPGreen, 51))
}

func testSTIXPaging(t *testing.T, s store.Store) {
	var want []string
	for i := range 10 {
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		putSTIX(t, s, sobj(coll, id, i))
		want = append(want, fmt.Sprintf("%s@%d", id, i))
	}
	q := store.STIXQuery{Collection: coll, Limit: 3}
	p, err := s.STIXObjects(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Objects) != 3 || !p.More || p.Next == "" {
		t.Fatalf("first page: %d objects, more %v, next %q", len(p.Objects), p.More, p.Next)
	}
	wantVersions(t, s, q, want...)
	q.Limit = 10
	p, err = s.STIXObjects(t.Context(), q)
	if err != nil || len(p.Objects) != 10 || p.More || p.Next != "" {
		t.Errorf("exact page: %d objects, more %v, next %q, err %v", len(p.Objects), p.More, p.Next, err)
	}
	q.Limit = 0
	wantVersions(t, s, q, want...)
}

// testSTIXPagingWhileAdding adds objects between pages: every version comes exactly once, the new
// ones after the old ones.
func testSTIXPagingWhileAdding(t *testing.T, s store.Store) {
	var want []string
	add := func(i int) {
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		putSTIX(t, s, sobj(coll, id, i))
		want = append(want, fmt.Sprintf("%s@%d", id, i))
	}
	for i := range 7 {
		add(i)
	}
	q := store.STIXQuery{Collection: coll, Limit: 2, Versions: []string{"all"}}
	var got []store.STIXObject
	for page := 0; ; page++ {
		p, err := s.STIXObjects(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Objects...)
		if page < 3 {
			add(100 + page)
		}
		if !p.More {
			break
		}
		q.Next = p.Next
	}
	if keys := versionKeys(got); !slices.Equal(keys, want) {
		t.Errorf("pages while adding = %v, want %v", keys, want)
	}
}

func testSTIXBadCursor(t *testing.T, s store.Store) {
	putSTIX(t, s, sobj(coll, ind1, 1))
	for _, next := range []string{"%%%", "bm90IGEgY3Vyc29y"} {
		if _, err := s.STIXObjects(t.Context(), store.STIXQuery{Collection: coll, Next: next}); err == nil {
			t.Errorf("STIXObjects accepted Next %q", next)
		}
	}
}

func testSTIXDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := sobj(coll, ind1, 5)
	old.SpecVersion = "2.0"
	putSTIX(t, s, sobj(coll, ind1, 1), sobj(coll, ind1, 2), sobj(coll, ind1, 3), sobj(coll, ind1, 4), old,
		sobj(coll, ind2, 1), sobj(store.STIXPool, ind1, 1))
	del := func(want int, specs []string, v ...string) {
		t.Helper()
		n, err := s.DeleteSTIXObject(ctx, coll, ind1, store.STIXQuery{Versions: v, SpecVersions: specs,
			IDs: []string{"ignored"}, Collection: "ignored", AddedAfter: time.Now()})
		if n != want || err != nil {
			t.Fatalf("DeleteSTIXObject(%v, %v) = %d, %v; want %d", specs, v, n, err, want)
		}
	}
	allVersions := store.STIXQuery{Collection: coll, IDs: []string{ind1}, Versions: []string{"all"}, SpecVersions: []string{"2.0", "2.1"}}
	del(1, []string{"2.0"}) // the last 2.0 version: hour 5
	wantVersions(t, s, allVersions, ind1+"@1", ind1+"@2", ind1+"@3", ind1+"@4")
	del(1, nil) // the last: hour 4
	del(1, nil, "first")
	del(1, nil, stixTime(at(3)))
	wantVersions(t, s, allVersions, ind1+"@2")
	if _, err := s.DeleteSTIXObject(ctx, coll, ind1, store.STIXQuery{Versions: []string{stixTime(at(9))}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a missing version: %v, want ErrNotFound", err)
	}
	del(1, nil, "all")
	if _, err := s.DeleteSTIXObject(ctx, coll, ind1, store.STIXQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a deleted object: %v, want ErrNotFound", err)
	}
	wantVersions(t, s, store.STIXQuery{Collection: coll, Versions: []string{"all"}}, ind2+"@1")
	wantVersions(t, s, store.STIXQuery{Collection: store.STIXPool}, ind1+"@1")
}

func testSTIXDateAddedMonotonic(t *testing.T, s store.Store) {
	putSTIX(t, s, sobj(coll, ind1, 1))
	putSTIX(t, s, sobj(coll, ind2, 1))
	gone := all(t, s, store.STIXQuery{Collection: coll})[1].DateAdded
	if _, err := s.DeleteSTIXObject(t.Context(), coll, ind2, store.STIXQuery{}); err != nil {
		t.Fatal(err)
	}
	putSTIX(t, s, sobj(store.STIXPool, mal1, 1))
	got := all(t, s, store.STIXQuery{Collection: store.STIXPool})[0].DateAdded
	if !got.After(gone) {
		t.Errorf("DateAdded %v after deleting the newest version (%v): moved back", got, gone)
	}
}

func testTAXIIStatus(t *testing.T, s store.Store) {
	ctx := t.Context()
	const id = "trustgroup1/2d086da7-4bdc-4f91-900e-d77486753710"
	if _, err := s.TAXIIStatus(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing status: %v, want ErrNotFound", err)
	}
	for _, body := range []string{`{"status":"pending"}`, `{"status":"complete"}`} {
		if err := s.PutTAXIIStatus(ctx, id, []byte(body)); err != nil {
			t.Fatal(err)
		}
		got, err := s.TAXIIStatus(ctx, id)
		if err != nil || string(got) != body {
			t.Errorf("TAXIIStatus = %s, %v; want %s", got, err, body)
		}
	}
}
