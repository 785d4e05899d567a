package taxii_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
	"github.com/omen-tip/omen/internal/taxii"
)

// Keys of the test servers: the secret is sent as Bearer token or Basic password.
var testKeys = map[string]intel.APIKey{
	"admin-secret":    {ID: 1, Name: "admin", Role: intel.RoleAdmin, Clearance: intel.TLPRed},
	"analyst-secret":  {ID: 2, Name: "analyst", Role: intel.RoleAnalyst, Clearance: intel.TLPAmberStrict},
	"reader-secret":   {ID: 3, Name: "reader", Role: intel.RoleReader, Clearance: intel.TLPAmber},
	"consumer-secret": {ID: 4, Name: "consumer", Role: intel.RoleConsumer, Clearance: intel.TLPGreen},
	"clear-secret":    {ID: 5, Name: "clear", Role: intel.RoleConsumer, Clearance: intel.TLPClear},
}

// authenticate stands in for api.Server.Authenticate: Bearer or Basic (password) with a key of
// testKeys.
func authenticate(r *http.Request) (intel.APIKey, error) {
	secret := ""
	if _, pw, ok := r.BasicAuth(); ok {
		secret = pw
	} else if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		secret = v
	}
	if k, ok := testKeys[secret]; ok {
		return k, nil
	}
	if secret == "" {
		return intel.APIKey{}, errors.New("missing API key")
	}
	return intel.APIKey{}, errors.New("invalid or revoked API key")
}

// Medallion's test endpoints (medallion/test/__init__.py).
const (
	apiRootEP       = "/trustgroup1/"
	collectionsEP   = apiRootEP + "collections/"
	getCollection   = collectionsEP + "91a7b528-80eb-42ed-a74d-c6fbd5a26116/"
	getObjectsEP    = getCollection + "objects/"
	getManifestsEP  = getCollection + "manifest/"
	addCollection   = collectionsEP + "365fed99-08fa-fdcd-a1b3-fb247eb41d01/"
	addObjectsEP    = addCollection + "objects/"
	addManifestsEP  = addCollection + "manifest/"
	forbiddenEP     = collectionsEP + "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4/"
	readOnlyEP      = collectionsEP + "52892447-4d7e-4f70-b94d-d7f22742ff63/"
	nonExistentColl = collectionsEP + "12345678-1234-1234-1234-123456789012/"
)

// medallionData is the part of medallion's default_data.json the tests load.
type medallionData struct {
	Discovery struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Contact     string `json:"contact"`
	}
	Roots map[string]medallionRoot
}

type medallionRoot struct {
	Information struct {
		Title            string `json:"title"`
		Description      string `json:"description"`
		MaxContentLength int64  `json:"max_content_length"`
	} `json:"information"`
	Status      []json.RawMessage     `json:"status"`
	Collections []medallionCollection `json:"collections"`
}

type medallionCollection struct {
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	CanRead     bool              `json:"can_read"`
	CanWrite    bool              `json:"can_write"`
	Objects     []json.RawMessage `json:"objects"`
	Manifest    []struct {
		ID        string `json:"id"`
		DateAdded string `json:"date_added"`
		Version   string `json:"version"`
		MediaType string `json:"media_type"`
	} `json:"manifest"`
}

func readMedallion(t *testing.T) medallionData {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "medallion-default_data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	d := medallionData{Roots: map[string]medallionRoot{}}
	for k, v := range all {
		var err error
		if k == "/discovery" {
			err = json.Unmarshal(v, &d.Discovery)
		} else {
			var r medallionRoot
			err = json.Unmarshal(v, &r)
			d.Roots[k] = r
		}
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	return d
}

// medallionConfig is medallion's test server as an omen TAXII configuration: the same API roots
// and collections, each collection with its own store collection.
func medallionConfig(d medallionData) config.TAXII {
	c := config.TAXII{Title: d.Discovery.Title, Description: d.Discovery.Description, Contact: d.Discovery.Contact,
		Default: "trustgroup1", MaxPageSize: 100, MaxContentLength: 9765625}
	for _, name := range []string{"api1", "api2", "trustgroup1"} {
		r := d.Roots[name]
		root := config.TAXIIAPIRoot{Name: name, Title: r.Information.Title, Description: r.Information.Description}
		for _, col := range r.Collections {
			canRead := col.CanRead
			root.Collections = append(root.Collections, config.TAXIICollection{ID: col.ID, Title: col.Title,
				Description: col.Description, CanRead: &canRead, CanWrite: col.CanWrite, Store: col.ID})
		}
		c.APIRoots = append(c.APIRoots, root)
	}
	return c
}

// fixture is a TAXII server on a real SQLite store, behind an httptest server on 127.0.0.1.
type fixture struct {
	t     *testing.T
	db    *sqlite.DB
	url   string
	added []addedCall
}

type addedCall struct {
	coll string
	objs []json.RawMessage
}

// newMedallion starts a server loaded with medallion's test data: each object version stored
// with its manifest's date_added (the store clock replays them).
func newMedallion(t *testing.T) *fixture {
	t.Helper()
	d := readMedallion(t)
	f := newFixture(t, medallionConfig(d))
	ctx := t.Context()
	var clock time.Time
	f.db.SetClock(func() time.Time { return clock })
	for _, col := range d.Roots["trustgroup1"].Collections {
		type entry struct {
			added time.Time
			obj   store.STIXObject
		}
		var entries []entry
		for _, m := range col.Manifest {
			added, err := time.Parse(time.RFC3339Nano, m.DateAdded)
			if err != nil {
				t.Fatal(err)
			}
			o := findVersion(t, col.Objects, m.ID, m.Version, strings.TrimPrefix(m.MediaType, "application/stix+json;version="))
			o.Collection = col.ID
			entries = append(entries, entry{added, o})
		}
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].added.Before(entries[j].added) })
		for _, e := range entries {
			clock = e.added
			if _, err := f.db.PutSTIXObjects(ctx, []store.STIXObject{e.obj}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.db.SetClock(time.Now)
	for _, st := range d.Roots["trustgroup1"].Status {
		var s struct {
			ID string `json:"id"`
		}
		json.Unmarshal(st, &s)
		if err := f.db.PutTAXIIStatus(ctx, "trustgroup1/"+s.ID, st); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// findVersion returns the object version that a manifest entry describes.
func findVersion(t *testing.T, objs []json.RawMessage, id, version, spec string) store.STIXObject {
	t.Helper()
	want, err := time.Parse(time.RFC3339Nano, version)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range objs {
		m, err := stix.ObjectMeta(raw)
		if err != nil {
			t.Fatalf("fixture object: %v", err)
		}
		if m.ID == id && m.Modified.Equal(want) && m.SpecVersion == spec {
			return m
		}
	}
	t.Fatalf("no object %s version %s (%s) in the fixture", id, version, spec)
	return store.STIXObject{}
}

// newFixture starts a server with configuration c on an empty store.
func newFixture(t *testing.T, c config.TAXII) *fixture {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, db: db}
	srv, err := taxii.New(taxii.Options{Config: c, Store: db, Authenticate: authenticate,
		OnAdded: func(_ context.Context, coll string, objs []json.RawMessage) error {
			f.added = append(f.added, addedCall{coll, objs})
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	f.url = hs.URL
	return f
}

// response is a server answer.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// json decodes the body as an object.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// objects returns the objects (or versions, for the versions endpoint) of an envelope.
func (r response) list(t *testing.T, key string) []map[string]any {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	var out []map[string]any
	if raw, ok := m[key]; ok {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	return out
}

// request options.
type opt func(*http.Request)

func withKey(secret string) opt {
	return func(r *http.Request) {
		if secret == "" {
			r.Header.Del("Authorization")
		} else {
			r.Header.Set("Authorization", "Bearer "+secret)
		}
	}
}

func withBasic(user, pw string) opt { return func(r *http.Request) { r.SetBasicAuth(user, pw) } }

func withHeader(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

// do sends a request as admin with the TAXII Accept header (and Content-Type for a body).
func (f *fixture) do(method, path string, body []byte, opts ...opt) response {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.url+path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Host = "localhost:5000"
	req.Header.Set("Accept", taxii.MediaType)
	req.Header.Set("Authorization", "Bearer admin-secret")
	if body != nil {
		req.Header.Set("Content-Type", taxii.MediaType)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{code: res.StatusCode, header: res.Header, body: b}
}

func (f *fixture) get(path string, opts ...opt) response {
	return f.do(http.MethodGet, path, nil, opts...)
}

// ok checks a 200 with the TAXII media type.
func (f *fixture) ok(path string, opts ...opt) response {
	f.t.Helper()
	r := f.get(path, opts...)
	wantStatus(f.t, r, http.StatusOK)
	return r
}

func wantStatus(t *testing.T, r response, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != taxii.MediaType {
		t.Errorf("Content-Type %q, want %q", ct, taxii.MediaType)
	}
}

// wantError checks an error answer: its status, media type and TAXII error body.
func wantError(t *testing.T, r response, code int) map[string]any {
	t.Helper()
	wantStatus(t, r, code)
	m := r.json(t)
	if m["title"] == "" || m["title"] == nil || m["http_status"] != strconv.Itoa(code) {
		t.Errorf("error body %s: want title and http_status %q", r.body, strconv.Itoa(code))
	}
	return m
}

func wantHeaders(t *testing.T, r response, first, last string) {
	t.Helper()
	if got := r.header.Get("X-TAXII-Date-Added-First"); got != first {
		t.Errorf("X-TAXII-Date-Added-First %q, want %q", got, first)
	}
	if got := r.header.Get("X-TAXII-Date-Added-Last"); got != last {
		t.Errorf("X-TAXII-Date-Added-Last %q, want %q", got, last)
	}
}

func ids(objs []map[string]any) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i], _ = o["id"].(string)
	}
	return out
}

func wantIDs(t *testing.T, objs []map[string]any, want ...string) {
	t.Helper()
	if got := ids(objs); !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
}

// wantMore checks the more flag of an envelope.
func wantMore(t *testing.T, r response, more bool) string {
	t.Helper()
	m := r.json(t)
	if m["more"] != more {
		t.Errorf("more = %v, want %v (body %s)", m["more"], more, r.body)
	}
	next, _ := m["next"].(string)
	if more != (next != "") {
		t.Errorf("next = %q with more %v", next, more)
	}
	return next
}

// sameShape checks that got has the keys of the spec example in testdata/client-test-responses
// (except the optional ones listed), no others, and values of the same JSON kinds; arrays are
// compared element by element against the example's first element.
func sameShape(t *testing.T, got []byte, example string, optional ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "client-test-responses", example))
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	compareShape(t, example, g, w, optional)
}

func compareShape(t *testing.T, at string, got, want any, optional []string) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", at, got)
			return
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				if !slices.Contains(optional, k) {
					t.Errorf("%s: key %q missing", at, k)
				}
				continue
			}
			compareShape(t, at+"."+k, gv, v, optional)
		}
		for k := range g {
			if _, ok := w[k]; !ok && !slices.Contains(optional, k) {
				t.Errorf("%s: unexpected key %q", at, k)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			t.Errorf("%s: got %T, want an array", at, got)
			return
		}
		if len(w) > 0 {
			for i, e := range g {
				compareShape(t, at+"["+strconv.Itoa(i)+"]", e, w[0], optional)
			}
		}
	default:
		if gk, wk := kind(got), kind(want); gk != wk {
			t.Errorf("%s: got a %s, want a %s", at, gk, wk)
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "other"
}
