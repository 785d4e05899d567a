package taxii_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/taxii"
)

// defaultTAXII is the configuration omen serves without a `taxii:` section.
func defaultTAXII(t *testing.T) config.TAXII {
	t.Helper()
	c, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.TAXII
}

// poolObject returns an object of omen's pool with a TLP 2.0 marking (none for clear) and a
// confidence (none when < 0).
func poolObject(t *testing.T, typ string, n int, tlp intel.TLP, confidence int) store.STIXObject {
	t.Helper()
	marking := map[intel.TLP]string{
		intel.TLPGreen:       `, "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]`,
		intel.TLPAmber:       `, "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]`,
		intel.TLPAmberStrict: `, "object_marking_refs": ["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]`,
		intel.TLPRed:         `, "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]`,
	}[tlp]
	conf := ""
	if confidence >= 0 {
		conf = fmt.Sprintf(`, "confidence": %d`, confidence)
	}
	raw := fmt.Sprintf(`{"type": %q, "spec_version": "2.1", "id": "%s--00000000-0000-4000-8000-%012d",
		"created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"%s%s}`, typ, typ, n, marking, conf)
	o, err := stix.ObjectMeta([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	o.Collection = store.STIXPool
	return o
}

// TestDefaultViews serves omen's default collections over a pool of objects of every TLP level and
// checks each view for each caller's clearance.
func TestDefaultViews(t *testing.T) {
	f := newFixture(t, defaultTAXII(t))
	objs := []store.STIXObject{
		poolObject(t, "indicator", 1, intel.TLPClear, 90),
		poolObject(t, "indicator", 2, intel.TLPGreen, 50),
		poolObject(t, "indicator", 3, intel.TLPAmber, 85),
		poolObject(t, "indicator", 4, intel.TLPRed, 95),
		poolObject(t, "malware", 5, intel.TLPClear, -1),
		poolObject(t, "malware", 6, intel.TLPAmberStrict, -1),
		poolObject(t, "indicator", 7, intel.TLPGreen, -1),
	}
	if _, err := f.db.PutSTIXObjects(t.Context(), objs); err != nil {
		t.Fatal(err)
	}
	nums := func(r response) []int {
		var out []int
		for _, id := range ids(r.list(t, "objects")) {
			var n int
			fmt.Sscanf(id[strings.LastIndex(id, "-")+1:], "%d", &n)
			out = append(out, n)
		}
		return out
	}
	tests := []struct {
		alias string
		key   string
		want  []int
	}{
		{"all", "admin-secret", []int{1, 2, 3, 4, 5, 6, 7}},
		{"all", "analyst-secret", []int{1, 2, 3, 5, 6, 7}},
		{"all", "reader-secret", []int{1, 2, 3, 5, 7}},
		{"all", "consumer-secret", []int{1, 2, 5, 7}},
		{"all", "clear-secret", []int{1, 5}},
		{"indicators", "admin-secret", []int{1, 2, 3, 4, 7}},
		{"indicators", "consumer-secret", []int{1, 2, 7}},
		{"indicators-high-confidence", "admin-secret", []int{1, 3, 4}},
		{"indicators-high-confidence", "consumer-secret", []int{1}},
		{"tlp-clear", "admin-secret", []int{1, 5}},
		{"tlp-green", "admin-secret", []int{1, 2, 5, 7}},
		{"tlp-green", "clear-secret", []int{1, 5}},
		{"tlp-amber", "admin-secret", []int{1, 2, 3, 5, 7}},
		{"inbox", "admin-secret", nil},
	}
	for _, tc := range tests {
		t.Run(tc.alias+"/"+tc.key, func(t *testing.T) {
			r := f.ok("/omen/collections/"+tc.alias+"/objects/", withKey(tc.key))
			if got := nums(r); !slices.Equal(got, tc.want) {
				t.Errorf("objects %v, want %v", got, tc.want)
			}
		})
	}
	// The same view by id, and match[type] inside a view of other types.
	wantIDs(t, f.ok("/omen/collections/"+config.TAXIIIndicatorsID+"/objects/?match[type]=malware").list(t, "objects"))
	if n := len(f.ok("/omen/collections/all/manifest/?match[type]=malware").list(t, "objects")); n != 2 {
		t.Errorf("malware manifest: %d records", n)
	}
	// An object above the caller's clearance does not exist for them.
	red := "/omen/collections/all/objects/" + objs[3].ID + "/"
	f.ok(red)
	wantError(t, f.get(red, withKey("reader-secret")), http.StatusNotFound)
	wantError(t, f.get(red+"versions/", withKey("reader-secret")), http.StatusNotFound)
	// Discovery lists the default root; views cannot be written.
	if m := f.ok("/taxii2/").json(t); m["default"] != "http://localhost:5000/omen/" {
		t.Errorf("discovery %v", m)
	}
	wantError(t, f.do(http.MethodPost, "/omen/collections/all/objects/", []byte(testObject)), http.StatusForbidden)
	if cs := f.ok("/omen/collections/").list(t, "collections"); len(cs) != 7 {
		t.Errorf("%d default collections, want 7", len(cs))
	}
}

// TestInboxTLP posts marked objects to the writable inbox and reads them back with keys of
// different clearances.
func TestInboxTLP(t *testing.T) {
	f := newFixture(t, defaultTAXII(t))
	var objs []string
	for i, tlp := range []intel.TLP{intel.TLPClear, intel.TLPGreen, intel.TLPAmber, intel.TLPRed} {
		objs = append(objs, string(poolObject(t, "indicator", i, tlp, 70).Raw))
	}
	r := f.do(http.MethodPost, "/omen/collections/inbox/objects/", []byte(`{"objects": [`+strings.Join(objs, ",")+`]}`))
	wantStatus(t, r, http.StatusAccepted)
	for key, want := range map[string]int{"admin-secret": 4, "reader-secret": 3, "consumer-secret": 2, "clear-secret": 1} {
		if n := len(f.ok("/omen/collections/inbox/objects/", withKey(key)).list(t, "objects")); n != want {
			t.Errorf("%s sees %d objects, want %d", key, n, want)
		}
	}
	if len(f.added) != 1 || f.added[0].coll != config.TAXIIInboxID || len(f.added[0].objs) != 4 {
		t.Errorf("OnAdded: %+v", f.added)
	}
}

// TestPagingWhileAdding follows next through the inbox while objects are posted between pages:
// every object comes exactly once, and the headers bracket each page.
func TestPagingWhileAdding(t *testing.T) {
	f := newFixture(t, defaultTAXII(t))
	n := 0
	post := func(k int) {
		var objs []string
		for range k {
			objs = append(objs, string(poolObject(t, "indicator", n, intel.TLPClear, 50).Raw))
			n++
		}
		wantStatus(t, f.do(http.MethodPost, "/omen/collections/inbox/objects/", []byte(`{"objects": [`+strings.Join(objs, ",")+`]}`)),
			http.StatusAccepted)
	}
	post(5)
	var got []string
	next, lastAdded := "", ""
	for page := 0; ; page++ {
		q := "?limit=2"
		if next != "" {
			q += "&next=" + next
		}
		r := f.ok("/omen/collections/inbox/objects/" + q)
		objs := r.list(t, "objects")
		got = append(got, ids(objs)...)
		first := r.header.Get("X-TAXII-Date-Added-First")
		if first <= lastAdded || r.header.Get("X-TAXII-Date-Added-Last") < first {
			t.Errorf("page %d: headers %s..%s after %s", page, first, r.header.Get("X-TAXII-Date-Added-Last"), lastAdded)
		}
		lastAdded = r.header.Get("X-TAXII-Date-Added-Last")
		if page < 3 {
			post(1)
		}
		if next = wantMore(t, r, r.json(t)["more"] == true); next == "" {
			break
		}
	}
	if len(got) != n || len(slicesCompact(got)) != n {
		t.Errorf("paged %d ids (%d distinct), want %d: %v", len(got), len(slicesCompact(got)), n, got)
	}
	// A client resuming with added_after = the last header gets nothing new.
	r := f.ok("/omen/collections/inbox/objects/?added_after=" + lastAdded)
	if len(r.json(t)) != 0 {
		t.Errorf("after the last page: %s", r.body)
	}
}

func slicesCompact(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func TestPostFailuresAndLimits(t *testing.T) {
	c := defaultTAXII(t)
	c.MaxContentLength = 2048
	c.MaxPageSize = 3
	f := newFixture(t, c)
	good := string(poolObject(t, "indicator", 1, intel.TLPClear, 50).Raw)
	body := `{"objects": [` + good + `, {"type": "indicator", "id": "malware--00000000-0000-4000-8000-000000000001"},
		{"id": "x"}, 42, {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001"}]}`
	r := f.do(http.MethodPost, "/omen/collections/inbox/objects/", []byte(body))
	wantStatus(t, r, http.StatusAccepted)
	var st taxii.Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatal(err)
	}
	if st.TotalCount != 5 || st.SuccessCount != 1 || st.FailureCount != 4 || len(st.Failures) != 4 || st.Status != "complete" ||
		st.PendingCount != 0 || st.Successes[0].Version != "2024-01-01T00:00:00.000Z" {
		t.Errorf("status %+v", st)
	}
	if _, err := time.Parse(time.RFC3339, st.RequestTimestamp); err != nil || len(st.RequestTimestamp) != len("2016-11-02T12:34:34.123456Z") {
		t.Errorf("request_timestamp %q", st.RequestTimestamp)
	}
	for _, fl := range st.Failures {
		if fl.Message == "" {
			t.Errorf("failure without a message: %+v", fl)
		}
	}
	// Over max_content_length, declared or not.
	big := []byte(`{"objects": [` + strings.Repeat(good+",", 20) + good + `]}`)
	wantError(t, f.do(http.MethodPost, "/omen/collections/inbox/objects/", big), http.StatusRequestEntityTooLarge)
	// The limit is capped by max_page_size.
	for i := range 5 {
		f.do(http.MethodPost, "/omen/collections/inbox/objects/",
			[]byte(`{"objects": [`+string(poolObject(t, "indicator", 10+i, intel.TLPClear, 50).Raw)+`]}`))
	}
	r = f.ok("/omen/collections/inbox/objects/?limit=100")
	if n := len(r.list(t, "objects")); n != 3 {
		t.Errorf("limit=100 with max_page_size 3 gave %d objects", n)
	}
	wantMore(t, r, true)
	if m := f.ok("/omen/").json(t); m["max_content_length"] != 2048.0 {
		t.Errorf("api root %v", m)
	}
}

func TestOnAddedError(t *testing.T) {
	f := newFixture(t, defaultTAXII(t))
	srv, err := taxii.New(taxii.Options{Config: defaultTAXII(t), Store: f.db, Authenticate: authenticate,
		OnAdded: func(context.Context, string, []json.RawMessage) error { return errors.New("import failed") }})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/omen/collections/inbox/objects/", strings.NewReader(testObject))
	req.Header.Set("Authorization", "Bearer admin-secret")
	req.Header.Set("Accept", taxii.MediaType)
	req.Header.Set("Content-Type", taxii.MediaType)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != http.StatusAccepted {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
	if _, err := taxii.New(taxii.Options{Config: defaultTAXII(t), Authenticate: authenticate}); err == nil {
		t.Error("New without a store succeeded")
	}
}
