package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// TestSTIXPagePlan checks that a page is read through an index, never by scanning the table: in
// date_added order through stix_objects_added, or through the primary key when ids are given.
func TestSTIXPagePlan(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var objs []store.STIXObject
	for i := range 200 {
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i%50)
		objs = append(objs, store.STIXObject{Collection: store.STIXPool, ID: id, Type: "indicator", SpecVersion: "2.1",
			Modified: time.Unix(int64(i), 0), Confidence: i % 100, Raw: []byte("{}")})
	}
	if _, err := db.PutSTIXObjects(ctx, objs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    store.STIXQuery
		next bool
		want string // the index of the outer query
	}{
		{"default", store.STIXQuery{Collection: store.STIXPool, Limit: 10}, false, "stix_objects_added"},
		{"next page", store.STIXQuery{Collection: store.STIXPool, Limit: 10}, true, "stix_objects_added"},
		{"everything", store.STIXQuery{Collection: store.STIXPool, Versions: []string{"first", "last", "2016-01-01T00:00:00Z"},
			Types: []string{"indicator"}, MaxTLP: intel.TLPAmber, MinConfidence: 50, AddedAfter: time.Unix(1, 0), Limit: 100},
			true, "stix_objects_added"},
		{"all specs", store.STIXQuery{Collection: store.STIXPool, SpecVersions: []string{"2.1"}, Versions: []string{"all"}},
			false, "stix_objects_added"},
		{"ids", store.STIXQuery{Collection: store.STIXPool, IDs: []string{objs[0].ID}}, false, "sqlite_autoindex_stix_objects_1"},
		{"ids next page", store.STIXQuery{Collection: store.STIXPool, IDs: []string{objs[0].ID, objs[1].ID}, Limit: 1}, true,
			"sqlite_autoindex_stix_objects_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := newSTIXQuery(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			query, args := b.page(42, tc.next, tc.q.Limit)
			rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			for _, step := range plan {
				if strings.HasPrefix(step, "SCAN") && !strings.Contains(step, "USING") {
					t.Errorf("plan scans a table: %q\n%s", step, strings.Join(plan, "\n"))
				}
			}
			if len(plan) == 0 || !strings.Contains(plan[0], "INDEX "+tc.want+" ") {
				t.Errorf("plan does not read through %s:\n%s", tc.want, strings.Join(plan, "\n"))
			}
			t.Logf("plan:\n%s", strings.Join(plan, "\n"))
		})
	}
}

// BenchmarkSTIXPage reads pages of 1000 from a pool of 100k object versions: everything, and a
// view that one version in ten passes (indicators of confidence 80 or more).
func BenchmarkSTIXPage(b *testing.B) {
	ctx := b.Context()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "omen.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 100000
	objs := make([]store.STIXObject, 0, 10000)
	raw := []byte(`{"type":"indicator","spec_version":"2.1","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","x_pad":"` +
		strings.Repeat("x", 400) + `"}`)
	for i := range n {
		typ := "indicator"
		if i%2 == 1 {
			typ = "malware"
		}
		objs = append(objs, store.STIXObject{Collection: store.STIXPool, ID: fmt.Sprintf("%s--00000000-0000-4000-8000-%012d", typ, i),
			Type: typ, SpecVersion: "2.1", Modified: time.Unix(int64(i), 0), Confidence: (i / 2) % 5 * 20, TLP: intel.TLP(i % 3), Raw: raw})
		if len(objs) == cap(objs) {
			if _, err := db.PutSTIXObjects(ctx, objs); err != nil {
				b.Fatal(err)
			}
			objs = objs[:0]
		}
	}
	for _, bc := range []struct {
		name string
		q    store.STIXQuery
	}{
		{"all", store.STIXQuery{Collection: store.STIXPool, MaxTLP: intel.TLPRed, Limit: 1000}},
		{"high-confidence indicators", store.STIXQuery{Collection: store.STIXPool, MaxTLP: intel.TLPRed, Limit: 1000,
			Types: []string{"indicator"}, MinConfidence: 80}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := bc.q
			for b.Loop() {
				p, err := db.STIXObjects(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if q.Next = p.Next; !p.More {
					q.Next = ""
				}
			}
		})
	}
}
