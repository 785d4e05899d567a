package taxii_test

// The requests of medallion's own tests (oasis-open/cti-taxii-server medallion/test/
// test_memory_backend.py, TAXII 2.1), against omen's server loaded with the same data.

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

const (
	ind6770 = "indicator--6770298f-0fd8-471a-ab8c-1c658a46574e"
	indCD98 = "indicator--cd981c25-8042-4166-8945-51178443bdac"
	malware = "malware--c0931cc6-c75e-47e5-9036-78fabc95d4ec"
	relID   = "relationship--2f9a9aa9-108a-4333-83e2-4fb25add0463"
	marking = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
)

// testObject is medallion's TEST_OBJECT: a course of action to POST.
const testObject = `{"objects": [{"type": "course-of-action", "spec_version": "2.1",
	"id": "course-of-action--68794cd5-28db-429d-ab1e-1256704ef906", "created": "2017-01-27T13:49:53.935Z",
	"modified": "2017-01-27T13:49:53.935Z", "name": "Test object"}]}`

const testObjectID = "course-of-action--68794cd5-28db-429d-ab1e-1256704ef906"

func TestServerDiscovery(t *testing.T) {
	f := newMedallion(t)
	r := f.ok("/taxii2/")
	m := r.json(t)
	roots, _ := m["api_roots"].([]any)
	if len(roots) != 3 || roots[0] != "http://localhost:5000/api1/" || m["default"] != "http://localhost:5000/trustgroup1/" ||
		m["title"] != "Some TAXII Server" {
		t.Errorf("discovery %s", r.body)
	}
	sameShape(t, r.body, "discovery-response.json")
	// Without a trailing slash too (medallion's tests follow redirects).
	f.ok("/taxii2")
}

func TestGetAPIRootInformation(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(apiRootEP)
	if m := r.json(t); m["title"] != "Malware Research Group" || m["max_content_length"] != 9765625.0 {
		t.Errorf("api root %s", r.body)
	}
	sameShape(t, r.body, "api-root-response.json")
	wantError(t, f.get("/trustgroup2/"), http.StatusNotFound)
}

func TestGetStatus(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(apiRootEP + "status/2d086da7-4bdc-4f91-900e-d77486753710")
	m := r.json(t)
	for _, k := range []string{"successes", "failures", "pendings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("status has no %s: %s", k, r.body)
		}
	}
	sameShape(t, r.body, "status-response.json", "message")
	wantError(t, f.get(apiRootEP+"status/22101993/"), http.StatusNotFound)
	wantError(t, f.get(apiRootEP+"status/2223/", withKey("")), http.StatusUnauthorized)
}

func TestGetCollections(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(collectionsEP)
	got := ids(r.list(t, "collections"))
	slices.Sort(got)
	want := []string{"365fed99-08fa-fdcd-a1b3-fb247eb41d01", "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4",
		"52892447-4d7e-4f70-b94d-d7f22742ff63", "64993447-4d7e-4f70-b94d-d7f33742ee63", "91a7b528-80eb-42ed-a74d-c6fbd5a26116"}
	if !slices.Equal(got, want) {
		t.Errorf("collections %v, want %v", got, want)
	}
	sameShape(t, r.body, "collections-response.json", "description") // two of medallion's have none
	r = f.ok(getCollection)
	sameShape(t, r.body, "collection-response.json")
	if m := r.json(t); m["can_read"] != true || m["can_write"] != true {
		t.Errorf("collection %s", r.body)
	}
	// can_write says what this caller may do: a reader may not write.
	if m := f.ok(getCollection, withKey("reader-secret")).json(t); m["can_write"] != false {
		t.Errorf("can_write for a reader: %v", m["can_write"])
	}
	sameShape(t, f.ok(forbiddenEP).body, "writable-collection.json", "description")
	wantError(t, f.get(nonExistentColl), http.StatusNotFound)
	wantError(t, f.get("/carbon1/collections/"), http.StatusNotFound)
	wantError(t, f.get("/carbon1/collections/12345678-1234-1234-1234-123456789012/"), http.StatusNotFound)
	wantError(t, f.get(collectionsEP, withKey("")), http.StatusUnauthorized)
}

func TestGetObjects(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(getObjectsEP)
	wantMore(t, r, false)
	wantIDs(t, r.list(t, "objects"), relID, indCD98, marking, malware, ind6770)
	wantHeaders(t, r, "2014-05-08T09:00:00.000000Z", "2017-12-31T13:49:53.935000Z")
	// Objects are handed out verbatim.
	var env struct {
		Objects []json.RawMessage `json:"objects"`
	}
	json.Unmarshal(r.body, &env)
	if !json.Valid(env.Objects[0]) || r.list(t, "objects")[0]["source_ref"] != indCD98 {
		t.Errorf("relationship not served verbatim: %s", env.Objects[0])
	}
}

func TestGetObject(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(getObjectsEP + malware + "/")
	wantIDs(t, r.list(t, "objects"), malware)
	wantHeaders(t, r, "2017-01-27T13:49:59.997000Z", "2017-01-27T13:49:59.997000Z")
	// TAXII allows 404 or an empty envelope for an unknown object: omen answers 404.
	wantError(t, f.get(getObjectsEP+"malware--cee60c30-a68c-11e3-b0c1-a01aac20d000/"), http.StatusNotFound)
}

func TestAddAndDeleteObject(t *testing.T) {
	f := newMedallion(t)
	r := f.do(http.MethodPost, addObjectsEP, []byte(testObject))
	wantStatus(t, r, http.StatusAccepted)
	st := r.json(t)
	if st["success_count"] != 1.0 || st["status"] != "complete" || st["total_count"] != 1.0 {
		t.Errorf("status %s", r.body)
	}
	sameShape(t, r.body, "status-response.json", "failures", "pendings", "message")
	sameShape(t, r.body, "add-objects-response.json", "version")

	if !slices.Contains(ids(f.ok(addObjectsEP).list(t, "objects")), testObjectID) {
		t.Error("posted object not listed")
	}
	wantIDs(t, f.ok(addObjectsEP+"?match[id]="+testObjectID).list(t, "objects"), testObjectID)
	r = f.ok(apiRootEP + "status/" + st["id"].(string) + "/")
	if m := r.json(t); m["success_count"] != 1.0 || m["id"] != st["id"] {
		t.Errorf("stored status %s", r.body)
	}
	wantIDs(t, f.ok(addManifestsEP+"?match[id]="+testObjectID).list(t, "objects"), testObjectID)
	if len(f.added) != 1 || f.added[0].coll != "365fed99-08fa-fdcd-a1b3-fb247eb41d01" || len(f.added[0].objs) != 1 {
		t.Errorf("OnAdded calls %+v", f.added)
	}

	wantStatus(t, f.do(http.MethodDelete, addObjectsEP+testObjectID, nil), http.StatusOK)
	wantError(t, f.get(addObjectsEP+testObjectID), http.StatusNotFound)
	wantError(t, f.get(addObjectsEP+testObjectID+"/versions/"), http.StatusNotFound)
	wantError(t, f.do(http.MethodDelete, addObjectsEP+testObjectID, nil), http.StatusNotFound)
}

func TestGetObjectManifests(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(getManifestsEP)
	objs := r.list(t, "objects")
	if len(objs) != 5 {
		t.Fatalf("%d manifest records, want 5", len(objs))
	}
	wantHeaders(t, r, "2014-05-08T09:00:00.000000Z", "2017-12-31T13:49:53.935000Z")
	for i := 1; i < len(objs); i++ {
		if objs[i-1]["date_added"].(string) >= objs[i]["date_added"].(string) {
			t.Errorf("manifest not in date_added order: %v", objs)
		}
	}
	sameShape(t, r.body, "get-manifest-response.json", "more")
	if objs[4]["id"] != ind6770 || objs[4]["version"] != "2017-01-27T13:49:53.935Z" ||
		objs[4]["date_added"] != "2017-12-31T13:49:53.935000Z" || objs[4]["media_type"] != "application/stix+json;version=2.1" {
		t.Errorf("manifest record %v", objs[4])
	}
}

func TestGetVersion(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(getObjectsEP + relID + "/versions")
	if m := r.json(t); len(m["versions"].([]any)) != 1 {
		t.Errorf("versions %s", r.body)
	}
	wantHeaders(t, r, "2014-05-08T09:00:00.000000Z", "2014-05-08T09:00:00.000000Z")
}

func TestObjectsFilters(t *testing.T) {
	f := newMedallion(t)
	tests := []struct {
		query string
		want  []string
	}{
		{"?added_after=2016-11-03T12:30:59Z", []string{marking, malware, ind6770}},
		{"?match[id]=" + malware, []string{malware}},
		{"?match[type]=indicator", []string{indCD98, ind6770}},
		{"?match[type]=indicator,malware&match[id]=" + malware + "," + relID, []string{malware}},
		{"?match[version]=2016-12-25T12:30:59.444Z", []string{ind6770}},
		{"?match[version]=all", []string{relID, indCD98, ind6770, ind6770, marking, malware, ind6770}},
		{"?match[spec_version]=2.0", []string{malware}},
		{"?match[spec_version]=2.0,2.1", []string{relID, indCD98, marking, malware, ind6770}},
		{"?match[spec_version]=2.1", []string{relID, indCD98, marking, malware, ind6770}},
		{"?match[type]=incident&match[version]=2016-01-01T01:01:01.000Z", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := f.ok(getObjectsEP + tc.query)
			if tc.want != nil {
				wantMore(t, r, false)
			}
			wantIDs(t, r.list(t, "objects"), tc.want...)
		})
	}
}

// modifiedOf returns the modified of each object of an envelope, by id (the last one wins).
func modifiedOf(t *testing.T, r response) map[string]any {
	out := map[string]any{}
	for _, o := range r.list(t, "objects") {
		out[o["id"].(string)] = o["modified"]
	}
	return out
}

func TestObjectsVersionMatch(t *testing.T) {
	f := newMedallion(t)
	first := modifiedOf(t, f.ok(getObjectsEP+"?match[version]=first"))
	if first[ind6770] != "2016-11-03T12:30:59.000Z" || first[malware] != "2017-01-27T13:49:53.997Z" {
		t.Errorf("first: %v", first)
	}
	last := modifiedOf(t, f.ok(getObjectsEP+"?match[version]=last"))
	// The default spec_version filter comes first: the 2.0 version of the malware is left out.
	if last[ind6770] != "2017-01-27T13:49:53.935Z" || last[malware] != "2017-01-27T13:49:53.997Z" {
		t.Errorf("last: %v", last)
	}
	both := modifiedOf(t, f.ok(getObjectsEP+"?match[version]=last&match[spec_version]=2.0,2.1"))
	if both[malware] != "2018-02-23T18:30:00.000Z" {
		t.Errorf("last over both spec versions: %v", both)
	}
	for _, o := range f.ok(getObjectsEP+"?match[spec_version]=2.0").list(t, "objects") {
		if _, ok := o["spec_version"]; ok {
			t.Errorf("2.0 object with a spec_version: %v", o)
		}
	}
	for _, o := range f.ok(getObjectsEP).list(t, "objects") {
		if o["spec_version"] != "2.1" {
			t.Errorf("default spec version gave %v", o)
		}
	}
}

func TestGetObjectsLimit(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(getObjectsEP + "?limit=3")
	next := wantMore(t, r, true)
	wantIDs(t, r.list(t, "objects"), relID, indCD98, marking)
	wantHeaders(t, r, "2014-05-08T09:00:00.000000Z", "2017-01-20T00:00:00.000000Z")
	r = f.ok(getObjectsEP + "?limit=3&next=" + next)
	wantMore(t, r, false)
	wantIDs(t, r.list(t, "objects"), malware, ind6770)
	wantHeaders(t, r, "2017-01-27T13:49:59.997000Z", "2017-12-31T13:49:53.935000Z")
}

func TestObjectPaginationChangingParams(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(getObjectsEP + "?match[version]=all&limit=2")
	next := wantMore(t, r, true)
	r = f.ok(getObjectsEP + "?match[version]=all&limit=2&next=" + next)
	next = wantMore(t, r, true)
	if len(r.list(t, "objects")) != 2 {
		t.Errorf("second page %s", r.body)
	}
	m := wantError(t, f.get(getObjectsEP+"?match[version]=first&limit=2&next="+next), http.StatusBadRequest)
	if m["title"] != "ProcessingError" {
		t.Errorf("title %v", m["title"])
	}
	wantError(t, f.get(getObjectsEP+"?next=garbage"), http.StatusBadRequest)
	for _, limit := range []string{"-20", "0", "x"} {
		wantError(t, f.get(getObjectsEP+"?limit="+limit), http.StatusBadRequest)
	}
	for _, q := range []string{"?added_after=yesterday", "?match[version]=newest"} {
		wantError(t, f.get(getObjectsEP+q), http.StatusBadRequest)
	}
}

func TestGetObjectFilters(t *testing.T) {
	f := newMedallion(t)
	// added_after after every version: an empty envelope, {}.
	r := f.ok(getObjectsEP + malware + "?added_after=2018-01-27T13:49:59.997000Z")
	if m := r.json(t); len(m) != 0 {
		t.Errorf("want {}, got %s", r.body)
	}
	r = f.ok(getObjectsEP + malware + "?added_after=2017-01-27T13:49:59Z")
	wantMore(t, r, false)
	wantIDs(t, r.list(t, "objects"), malware)

	tests := []struct{ query, modified string }{
		{"?match[version]=2016-12-25T12:30:59.444Z", "2016-12-25T12:30:59.444Z"},
		{"?match[version]=first", "2016-11-03T12:30:59.000Z"},
		{"?match[version]=last", "2017-01-27T13:49:53.935Z"},
		{"", "2017-01-27T13:49:53.935Z"},
	}
	for _, tc := range tests {
		r := f.ok(getObjectsEP + ind6770 + tc.query)
		wantMore(t, r, false)
		if objs := r.list(t, "objects"); len(objs) != 1 || objs[0]["modified"] != tc.modified {
			t.Errorf("%q: %s, want modified %s", tc.query, r.body, tc.modified)
		}
	}
	if objs := f.ok(getObjectsEP+ind6770+"?match[version]=all").list(t, "objects"); len(objs) != 3 {
		t.Errorf("all versions: %d", len(objs))
	}
	for _, tc := range []struct{ query, modified string }{
		{"?match[spec_version]=2.0", "2018-02-23T18:30:00.000Z"},
		{"?match[spec_version]=2.1", "2017-01-27T13:49:53.997Z"},
		{"?match[spec_version]=2.0,2.1", "2018-02-23T18:30:00.000Z"},
		{"", "2017-01-27T13:49:53.997Z"},
	} {
		r := f.ok(getObjectsEP + malware + tc.query)
		if objs := r.list(t, "objects"); len(objs) != 1 || objs[0]["modified"] != tc.modified {
			t.Errorf("%q: %s, want modified %s", tc.query, r.body, tc.modified)
		}
	}
}

func TestGetObjectLimit(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(getObjectsEP + ind6770 + "?limit=1")
	wantMore(t, r, false)
	wantHeaders(t, r, "2017-12-31T13:49:53.935000Z", "2017-12-31T13:49:53.935000Z")

	r = f.ok(getObjectsEP + ind6770 + "?match[version]=all&limit=2")
	next := wantMore(t, r, true)
	wantHeaders(t, r, "2016-11-03T12:30:59.001000Z", "2016-12-27T13:49:59.000000Z")
	if objs := r.list(t, "objects"); objs[0]["modified"] != "2016-11-03T12:30:59.000Z" || objs[1]["modified"] != "2016-12-25T12:30:59.444Z" {
		t.Errorf("page 1: %s", r.body)
	}
	r = f.ok(getObjectsEP + ind6770 + "?match[version]=all&limit=2&next=" + next)
	wantMore(t, r, false)
	wantHeaders(t, r, "2017-12-31T13:49:53.935000Z", "2017-12-31T13:49:53.935000Z")
}

func TestManifestFilters(t *testing.T) {
	f := newMedallion(t)
	tests := []struct {
		query string
		n     int
		check func(t *testing.T, objs []map[string]any)
	}{
		{"?added_after=2017-01-20T00:00:00.000Z", 2, nil},
		{"?match[id]=" + malware, 1, nil},
		{"?match[type]=indicator", 2, nil},
		{"?match[version]=2016-12-25T12:30:59.444Z", 1, func(t *testing.T, objs []map[string]any) {
			if objs[0]["id"] != ind6770 || objs[0]["version"] != "2016-12-25T12:30:59.444Z" {
				t.Errorf("%v", objs)
			}
		}},
		{"?match[version]=first", 5, versionOf(ind6770, "2016-11-03T12:30:59.000Z")},
		{"?match[version]=last", 5, versionOf(ind6770, "2017-01-27T13:49:53.935Z")},
		{"?match[version]=all", 7, nil},
		{"?match[spec_version]=2.0", 1, mediaTypes("application/stix+json;version=2.0")},
		{"?match[spec_version]=2.1", 5, mediaTypes("application/stix+json;version=2.1")},
		{"?match[spec_version]=2.0,2.1", 5, versionOf(malware, "2018-02-23T18:30:00.000Z")},
		{"", 5, mediaTypes("application/stix+json;version=2.1")},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			r := f.ok(getManifestsEP + tc.query)
			wantMore(t, r, false)
			objs := r.list(t, "objects")
			if len(objs) != tc.n {
				t.Fatalf("%d records, want %d: %s", len(objs), tc.n, r.body)
			}
			if tc.check != nil {
				tc.check(t, objs)
			}
		})
	}
}

func versionOf(id, version string) func(t *testing.T, objs []map[string]any) {
	return func(t *testing.T, objs []map[string]any) {
		for _, o := range objs {
			if o["id"] == id && o["version"] != version {
				t.Errorf("%s version %v, want %s", id, o["version"], version)
			}
		}
	}
}

func mediaTypes(mt string) func(t *testing.T, objs []map[string]any) {
	return func(t *testing.T, objs []map[string]any) {
		for _, o := range objs {
			if o["media_type"] != mt {
				t.Errorf("media_type %v, want %s", o["media_type"], mt)
			}
		}
	}
}

func TestManifestLimit(t *testing.T) {
	f := newMedallion(t)
	next := ""
	for i, want := range []int{2, 2, 1} {
		q := "?limit=2"
		if next != "" {
			q += "&next=" + next
		}
		r := f.ok(getManifestsEP + q)
		next = wantMore(t, r, i < 2)
		objs := r.list(t, "objects")
		if len(objs) != want {
			t.Fatalf("page %d: %d records, want %d", i, len(objs), want)
		}
		wantHeaders(t, r, objs[0]["date_added"].(string), objs[len(objs)-1]["date_added"].(string))
	}
}

func TestVersionsFilters(t *testing.T) {
	f := newMedallion(t)
	r := f.ok(getObjectsEP + relID + "/versions?added_after=2014-05-08T09:00:00Z")
	if len(r.json(t)) != 0 {
		t.Errorf("want {}, got %s", r.body)
	}
	r = f.ok(getObjectsEP + relID + "/versions?added_after=2014-05-08T08:00:00Z")
	wantMore(t, r, false)

	next := ""
	for i, want := range []struct{ version, added string }{
		{"2016-11-03T12:30:59.000Z", "2016-11-03T12:30:59.001000Z"},
		{"2016-12-25T12:30:59.444Z", "2016-12-27T13:49:59.000000Z"},
		{"2017-01-27T13:49:53.935Z", "2017-12-31T13:49:53.935000Z"},
	} {
		q := "/versions?limit=1"
		if next != "" {
			q += "&next=" + next
		}
		r := f.ok(getObjectsEP + ind6770 + q)
		next = wantMore(t, r, i < 2)
		if v := r.json(t)["versions"].([]any); len(v) != 1 || v[0] != want.version {
			t.Errorf("page %d: %s, want %s", i, r.body, want.version)
		}
		wantHeaders(t, r, want.added, want.added)
	}
	for _, tc := range []struct {
		query string
		want  []any
	}{
		{"?match[spec_version]=2.0", []any{"2018-02-23T18:30:00.000Z"}},
		{"?match[spec_version]=2.1", []any{"2017-01-27T13:49:53.997Z"}},
		{"?match[spec_version]=2.0,2.1", []any{"2017-01-27T13:49:53.997Z", "2018-02-23T18:30:00.000Z"}},
		{"", []any{"2017-01-27T13:49:53.997Z"}},
		{"?match[version]=first", []any{"2017-01-27T13:49:53.997Z"}}, // match[version] does not apply
	} {
		r := f.ok(getObjectsEP + malware + "/versions" + tc.query)
		wantMore(t, r, false)
		if got := r.json(t)["versions"].([]any); !slices.Equal(got, tc.want) {
			t.Errorf("%q: versions %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestDeleteObjectsVersion(t *testing.T) {
	f := newMedallion(t)
	body := `{"objects": [`
	for i, m := range []string{"2014-01-27T13:49:53.935Z", "2015-01-27T13:49:53.935Z", "2016-01-27T13:49:53.935Z",
		"2018-01-27T13:49:53.935Z", "2019-01-27T13:49:53.935Z"} {
		if i > 0 {
			body += ","
		}
		body += `{"type": "course-of-action", "spec_version": "2.1", "id": "` + testObjectID +
			`", "created": "2014-01-27T13:49:53.935Z", "modified": "` + m + `", "name": "Test object"}`
	}
	r := f.do(http.MethodPost, addObjectsEP, []byte(body+"]}"))
	wantStatus(t, r, http.StatusAccepted)
	if st := r.json(t); st["success_count"] != 5.0 {
		t.Fatalf("status %s", r.body)
	}
	versions := func() []any {
		r := f.ok(addObjectsEP + testObjectID + "/versions")
		wantMore(t, r, false)
		return r.json(t)["versions"].([]any)
	}
	if v := versions(); len(v) != 5 {
		t.Fatalf("versions %v", v)
	}
	for _, tc := range []struct {
		match, gone string
		left        int
	}{
		{"2018-01-27T13:49:53.935Z", "2018-01-27T13:49:53.935Z", 4},
		{"first", "2014-01-27T13:49:53.935Z", 3},
		{"last", "2019-01-27T13:49:53.935Z", 2},
	} {
		wantStatus(t, f.do(http.MethodDelete, addObjectsEP+testObjectID+"?match[version]="+tc.match, nil), http.StatusOK)
		v := versions()
		if len(v) != tc.left || slices.Contains(v, any(tc.gone)) {
			t.Errorf("after deleting %s: %v", tc.match, v)
		}
	}
	wantStatus(t, f.do(http.MethodDelete, addObjectsEP+testObjectID+"?match[version]=all", nil), http.StatusOK)
	wantError(t, f.get(addObjectsEP+testObjectID+"/versions"), http.StatusNotFound)
}

func TestDeleteObjectsSpecVersion(t *testing.T) {
	f := newMedallion(t)
	body := `{"objects": [
		{"type": "course-of-action", "spec_version": "2.1", "id": "` + testObjectID + `", "created": "2017-01-27T13:49:53.935Z", "modified": "2017-01-27T13:49:53.935Z", "name": "x"},
		{"type": "course-of-action", "spec_version": "2.0", "id": "` + testObjectID + `", "created": "2017-01-27T13:49:53.935Z", "modified": "2019-01-27T13:49:53.935Z", "name": "x"}]}`
	wantStatus(t, f.do(http.MethodPost, addObjectsEP, []byte(body)), http.StatusAccepted)
	wantStatus(t, f.do(http.MethodDelete, addObjectsEP+testObjectID+"?match[spec_version]=2.0", nil), http.StatusOK)
	r := f.ok(addObjectsEP + testObjectID + "/versions")
	if v := r.json(t)["versions"].([]any); len(v) != 1 || v[0] == "2019-01-27T13:49:53.935Z" {
		t.Errorf("versions %v", v)
	}
	wantStatus(t, f.do(http.MethodDelete, addObjectsEP+testObjectID+"?match[spec_version]=2.1", nil), http.StatusOK)
	wantError(t, f.get(addObjectsEP+testObjectID+"/versions"), http.StatusNotFound)
}

func TestSCOVersioning(t *testing.T) {
	f := newMedallion(t)
	const id = "artifact--6f437177-6e48-5cf8-9d9e-872a2bddd641"
	body := `{"objects": [{"type": "artifact", "spec_version": "2.1", "id": "` + id + `", "mime_type": "application/zip",
		"encryption_algorithm": "mime-type-indicated", "decryption_key": "My voice is my passport"}]}`
	wantStatus(t, f.do(http.MethodPost, addObjectsEP, []byte(body)), http.StatusAccepted)
	for _, q := range []string{"?match[version]=all", "?match[version]=first", "?match[version]=last",
		"?added_after=2017-01-27T13:49:53.935Z"} {
		if n := len(f.ok(addObjectsEP+id+q).list(t, "objects")); n != 1 {
			t.Errorf("%s: %d objects, want 1", q, n)
		}
	}
	r := f.ok(addObjectsEP + id + "?added_after=2999-01-01T00:00:00Z")
	if len(r.json(t)) != 0 {
		t.Errorf("want {}, got %s", r.body)
	}
}

func TestObjectAlreadyPresent(t *testing.T) {
	f := newMedallion(t)
	obj := `{"created": "2014-05-08T09:00:00.000Z", "modified": "2014-05-08T09:00:00.000Z", "id": "` + relID + `",
		"relationship_type": "indicates", "source_ref": "` + indCD98 + `", "spec_version": "2.1",
		"target_ref": "` + malware + `", "type": "relationship"}`
	noModified := `{"created": "2014-05-08T09:00:00.000Z", "id": "` + relID + `", "relationship_type": "indicates",
		"source_ref": "` + indCD98 + `", "spec_version": "2.1", "target_ref": "` + malware + `", "type": "relationship"}`
	wantStatus(t, f.do(http.MethodPost, getObjectsEP, []byte(`{"objects": [`+obj+`]}`)), http.StatusAccepted)
	r := f.do(http.MethodPost, getObjectsEP, []byte(`{"objects": [`+obj+`,`+noModified+`]}`))
	wantStatus(t, r, http.StatusAccepted)
	m := r.json(t)
	if _, ok := m["failures"]; ok || m["success_count"] != 2.0 {
		t.Errorf("duplicates: %s", r.body)
	}
	if n := len(f.ok(getObjectsEP + relID + "/versions").json(t)["versions"].([]any)); n != 1 {
		t.Errorf("%d versions after posting duplicates, want 1", n)
	}
}

func TestAuthAndAccess(t *testing.T) {
	f := newMedallion(t)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		opts   []opt
		code   int
	}{
		{"manifest no key", "GET", collectionsEP + "24042009/manifest/", "", []opt{withKey("")}, 401},
		{"object no key", "GET", getObjectsEP + malware + "/", "", []opt{withKey("")}, 401},
		{"objects no key", "GET", addObjectsEP, "", []opt{withKey("")}, 401},
		{"post no key", "POST", addObjectsEP, testObject, []opt{withKey("")}, 401},
		{"wrong key", "GET", collectionsEP, "", []opt{withKey("nope")}, 401},
		{"discovery no key", "GET", "/taxii2/", "", []opt{withKey("")}, 401},
		{"basic auth", "GET", collectionsEP, "", []opt{withBasic("anyone", "consumer-secret")}, 200},
		{"basic wrong", "GET", collectionsEP, "", []opt{withBasic("admin", "Password0")}, 401},
		{"manifest not readable", "GET", forbiddenEP + "manifest/", "", nil, 403},
		{"object not readable", "GET", forbiddenEP + "objects/indicator--b81f86b9-975b-bb0b-775e-810c5bd45b4f/", "", nil, 403},
		{"objects not readable", "GET", forbiddenEP + "objects/", "", nil, 403},
		{"post not writable", "POST", readOnlyEP + "objects/", testObject, nil, 403},
		{"delete not writable", "DELETE", readOnlyEP + "objects/" + malware, "", nil, 403},
		{"post as reader", "POST", addObjectsEP, testObject, []opt{withKey("reader-secret")}, 403},
		{"post as consumer", "POST", addObjectsEP, testObject, []opt{withKey("consumer-secret")}, 403},
		{"delete as reader", "DELETE", getObjectsEP + malware, "", []opt{withKey("reader-secret")}, 403},
		{"post as analyst", "POST", addObjectsEP, testObject, []opt{withKey("analyst-secret")}, 202},
		{"post to writable only", "POST", forbiddenEP + "objects/", testObject, nil, 202},
		{"manifest 404", "GET", collectionsEP + "24042009/manifest/", "", nil, 404},
		{"objects 404", "GET", nonExistentColl + "objects/", "", nil, 404},
		{"post 404", "POST", nonExistentColl + "objects/", testObject, nil, 404},
		{"unknown endpoint", "GET", getCollection + "things/", "", nil, 404},
		{"put", "PUT", getObjectsEP, testObject, nil, 405},
		{"post discovery", "POST", "/taxii2/", "{}", nil, 405},
		{"not an envelope", "POST", addObjectsEP, `{"type": "indicator"}`, nil, 422},
		{"not JSON", "POST", addObjectsEP, `{"objects": [`, nil, 400},
		{"accept json", "GET", collectionsEP, "", []opt{withHeader("Accept", "application/json")}, 406},
		{"accept 2.0", "GET", collectionsEP, "", []opt{withHeader("Accept", "application/taxii+json;version=2.0")}, 406},
		{"accept none", "GET", collectionsEP, "", []opt{withHeader("Accept", "")}, 406},
		{"accept any", "GET", collectionsEP, "", []opt{withHeader("Accept", "*/*")}, 406},
		{"accept unversioned", "GET", collectionsEP, "", []opt{withHeader("Accept", "application/taxii+json")}, 200},
		{"accept list", "GET", collectionsEP, "", []opt{withHeader("Accept", "application/json, application/taxii+json; version=2.1")}, 200},
		{"content type stix", "POST", addObjectsEP, testObject, []opt{withHeader("Content-Type", "application/stix+json;version=2.1")}, 415},
		{"content type 2.0", "POST", addObjectsEP, testObject, []opt{withHeader("Content-Type", "application/taxii+json;version=2.0")}, 415},
		{"content type json", "POST", addObjectsEP, testObject, []opt{withHeader("Content-Type", "application/json")}, 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			r := f.do(tc.method, tc.path, body, tc.opts...)
			if tc.code >= 400 {
				m := wantError(t, r, tc.code)
				if tc.code == 422 && m["title"] != "ProcessingError" {
					t.Errorf("title %v", m["title"])
				}
			} else {
				wantStatus(t, r, tc.code)
			}
			if tc.code == 401 && len(r.header.Values("WWW-Authenticate")) == 0 {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}
