package misp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/misp"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

const (
	xoristUUID    = "57c4445b-c548-4654-af0b-4be3950d210f"
	ursnifUUID    = "5b646415-7b48-40d5-86b4-c0070acd0835"
	missingUUID   = "00000000-0000-4000-8000-000000000404"
	sourceName    = "circl-osint"
	reportsInFeed = 3 + 5 // Xorist hashes, Ursnif domains and URL
)

// buildFeed writes a MISP feed directory from the genuine events that carry a UUID: each event
// verbatim as <uuid>.json, manifest.json from the events' own fields, and hashes.csv as MISP's
// feed generator writes it (md5 of each value, each part of a composite value, and the event UUID).
// extra names manifest entries without an event file.
func buildFeed(t *testing.T, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("testdata/events/*.json")
	var events [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, b)
	}
	if _, err := misp.WriteFeed(dir, events, extra...); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// feedServer serves dir, counting requests per path; override answers some paths itself.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	hits     map[string]int
	override map[string]http.HandlerFunc
}

func serve(t *testing.T, dir string) *feedServer {
	fs := &feedServer{hits: map[string]int{}, override: map[string]http.HandlerFunc{}}
	files := http.FileServer(http.Dir(dir))
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.hits[r.URL.Path]++
		h := fs.override[r.URL.Path]
		fs.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// eventFetches counts requests for event files.
func (fs *feedServer) eventFetches() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := 0
	for p, c := range fs.hits {
		if p != "/manifest.json" {
			n += c
		}
	}
	return n
}

func (fs *feedServer) hitsOf(path string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.hits[path]
}

func (fs *feedServer) reset() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	clear(fs.hits)
}

// testFetcher is a minimal [collect.Fetcher]: http(s) without retries, and file URLs.
type testFetcher struct{ dir string }

func (f testFetcher) Fetch(ctx context.Context, req collect.FetchRequest) (*collect.Download, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, err
	}
	var body io.ReadCloser
	ctype := ""
	switch u.Scheme {
	case "file":
		fh, err := os.Open(u.Path)
		if err != nil {
			return nil, err
		}
		body = fh
	default:
		hr, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range req.Headers {
			hr.Header.Set(k, v)
		}
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(hr)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("fetching %s: HTTP status %d", req.URL, resp.StatusCode)
		}
		body, ctype = resp.Body, resp.Header.Get("Content-Type")
	}
	defer body.Close()
	tmp, err := os.CreateTemp(f.dir, "dl-*")
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(tmp, body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	dl := collect.NewDownload(tmp.Name(), func() error { return os.Remove(tmp.Name()) })
	dl.Bytes, dl.ContentType = n, ctype
	return dl, nil
}

type harness struct {
	db  *sqlite.DB
	env *collect.Env
	c   collect.Collector
}

func newHarness(t *testing.T, feedURL string) *harness {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src := config.Source{Name: sourceName, Kind: "misp", URL: feedURL, Reliability: intel.ReliabilityB, Confidence: 70, TLP: intel.TLPGreen}
	if _, err := db.PutSource(ctx, intel.Source{Name: src.Name, Kind: src.Kind, URL: src.URL, Reliability: src.Reliability,
		Confidence: src.Confidence, TLP: src.TLP, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	c, err := collect.New(src) // through the registry: init registered the kind
	if err != nil {
		t.Fatal(err)
	}
	env := &collect.Env{Source: src, Fetch: testFetcher{dir: t.TempDir()}, Store: db, Importer: &ingest.Importer{Store: db},
		Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	return &harness{db: db, env: env, c: c}
}

func (h *harness) run(t *testing.T) (collect.Result, error) {
	t.Helper()
	res, err := h.c.Collect(t.Context(), h.env)
	if err == nil {
		h.env.State = res.State
	}
	return res, err
}

func stateOf(t *testing.T, b []byte) map[string]int64 {
	t.Helper()
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("state %q: %v", b, err)
	}
	return m
}

func TestCollect(t *testing.T) {
	dir := buildFeed(t)
	srv := serve(t, dir)
	h := newHarness(t, srv.URL+"/") // with a trailing slash
	ctx := t.Context()

	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	// Entities: the two report entities and Gozi; relationships: 3 for Xorist, 11 for Ursnif.
	want := collect.Result{Records: 2, New: reportsInFeed, Entities: 3, Relationships: 14}
	res.Fetched, res.State = 0, nil
	if !reflect.DeepEqual(res, want) {
		t.Errorf("first run = %+v, want %+v", res, want)
	}
	if st := stateOf(t, h.env.State); st[xoristUUID] != 1472541011 || st[ursnifUUID] != 1533306089 || len(st) != 2 {
		t.Errorf("state = %v", st)
	}
	if n := srv.eventFetches(); n != 2 {
		t.Errorf("%d event fetches, want 2", n)
	}

	// What was written, looked up through the store.
	md5 := intel.Observable{Type: intel.MD5, Value: "0749bae92ca336a02c83d126e04ec628"}
	dom := intel.Observable{Type: intel.Domain, Value: "eqowiesajenqweasd.com"}
	ins, err := h.db.Indicators(ctx, []intel.Observable{md5, dom})
	if err != nil || len(ins) != 2 {
		t.Fatalf("Indicators = %v, %v", ins, err)
	}
	x, u := ins[0].Reports[0], ins[1].Reports[0]
	if x.Source != sourceName || x.TLP != intel.TLPClear || x.Confidence != 70 || x.ThreatType != "payload-delivery" ||
		x.LastSeen != time.Unix(1472480395, 0).UTC() {
		t.Errorf("Xorist md5 report = %+v", x)
	}
	if u.Source != sourceName || u.TLP != intel.TLPGreen || u.Malware != "Gozi" || !slices.Contains(u.Tags, "PasteBin: MALWAREMESSIAGH") {
		t.Errorf("Ursnif domain report = %+v", u)
	}
	rels, err := h.db.Relationships(ctx, dom.String())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rels {
		got = append(got, r.Type+" "+r.TargetRef)
	}
	slices.Sort(got)
	if w := []string{"indicates x-misp-galaxy--banker--gozi", "related-to report--" + ursnifUUID}; !slices.Equal(got, w) {
		t.Errorf("relationships of %s = %v, want %v", dom, got, w)
	}
	gozi, err := h.db.Entity(ctx, "x-misp-galaxy--banker--gozi")
	if err != nil || gozi.Type != intel.Malware || gozi.Source != sourceName || !slices.Contains(gozi.Aliases, "Ursnif") {
		t.Errorf("Gozi = %+v, %v", gozi, err)
	}
	rep, err := h.db.Entity(ctx, "report--"+xoristUUID)
	if err != nil || rep.Name != "Ransomware - Xorist" || rep.TLP != intel.TLPClear {
		t.Errorf("Xorist report entity = %+v, %v", rep, err)
	}

	// Same manifest: no event fetched, nothing written, the state kept.
	srv.reset()
	before := h.env.State
	res, err = h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.eventFetches(); n != 0 || res.New != 0 || res.Updated != 0 || res.Records != 2 || string(res.State) != string(before) {
		t.Errorf("second run: %d event fetches, result %+v, state %s (was %s)", n, res, res.State, before)
	}

	// A changed event (newer manifest timestamp) is fetched again, alone.
	var m map[string]map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m[ursnifUUID]["timestamp"] = 1533306090
	writeJSON(t, filepath.Join(dir, "manifest.json"), m)
	srv.reset()
	res, err = h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.hitsOf("/" + ursnifUUID + ".json"); n != 1 || srv.eventFetches() != 1 || res.Updated != 5 || res.New != 0 {
		t.Errorf("changed event: %d fetches of it, %d in all, result %+v", n, srv.eventFetches(), res)
	}
	if st := stateOf(t, res.State); st[ursnifUUID] != 1533306090 || st[xoristUUID] != 1472541011 {
		t.Errorf("state = %v", st)
	}
}

func TestCollectMissingEvent(t *testing.T) {
	srv := serve(t, buildFeed(t, missingUUID))
	h := newHarness(t, srv.URL) // without a trailing slash
	res, err := h.run(t)
	if err != nil {
		t.Fatalf("a missing event must not fail the run: %v", err)
	}
	if res.New != reportsInFeed || res.Rejected != 1 || res.Records != 3 {
		t.Errorf("result = %+v", res)
	}
	st := stateOf(t, res.State)
	if _, ok := st[missingUUID]; ok || len(st) != 2 {
		t.Errorf("state = %v: the missing event must be retried", st)
	}
	// The next run retries it, and only it.
	srv.reset()
	if res, err = h.run(t); err == nil {
		t.Errorf("retry of the only missing event: no error (result %+v)", res)
	}
	if n := srv.eventFetches(); n != 1 || srv.hitsOf("/"+missingUUID+".json") != 1 {
		t.Errorf("retry fetched %d events", n)
	}
}

func TestCollectAllEventsMissing(t *testing.T) {
	dir := t.TempDir()
	writeJSON(t, filepath.Join(dir, "manifest.json"), map[string]any{missingUUID: map[string]any{"timestamp": 1}})
	h := newHarness(t, serve(t, dir).URL)
	if _, err := h.run(t); err == nil || !strings.Contains(err.Error(), "all 1 MISP events") {
		t.Errorf("err = %v", err)
	}
}

// TestCollectBrokenManifest: a manifest that fails fails the run before anything is written.
func TestCollectBrokenManifest(t *testing.T) {
	tests := []struct {
		name    string
		h       http.HandlerFunc
		wantErr string
	}{
		{"html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<!DOCTYPE html>\n<html><body>Feed moved</body></html>")
		}, "HTML page"},
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }, "500"},
		{"404", http.NotFound, "404"},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"`+xoristUUID+`": {"info": "Ransomware - Xori`)
		}, "decoding MISP manifest"},
		{"event instead of manifest", func(w http.ResponseWriter, r *http.Request) {
			http.ServeFile(w, r, xoristFile)
		}, "not an event UUID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, buildFeed(t))
			srv.override["/manifest.json"] = tc.h
			h := newHarness(t, srv.URL)
			_, err := h.run(t)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if n := srv.eventFetches(); n != 0 {
				t.Errorf("%d event fetches after a broken manifest", n)
			}
			st, err := h.db.Stats(t.Context())
			if err != nil || st.Indicators != 0 || st.Entities != 0 || st.Relationships != 0 {
				t.Errorf("store after a broken manifest: %+v, %v", st, err)
			}
		})
	}
}

// TestCollectBrokenEvent: an HTML page or a different event where an event should be is skipped.
func TestCollectBrokenEvent(t *testing.T) {
	srv := serve(t, buildFeed(t))
	srv.override["/"+xoristUUID+".json"] = func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, sightingsFile) // the Ursnif event under Xorist's name
	}
	h := newHarness(t, srv.URL)
	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, res.State); res.Rejected != 1 || res.New != 5 || len(st) != 1 || st[ursnifUUID] == 0 {
		t.Errorf("result %+v, state %v", res, st)
	}
}

func TestCollectFileURL(t *testing.T) {
	h := newHarness(t, "file://"+buildFeed(t))
	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.New != reportsInFeed || res.Records != 2 {
		t.Errorf("result = %+v", res)
	}
}

// TestCollectKeepsClusterData: an event naming a cluster by tag only keeps what another event's
// Galaxy array said about it.
func TestCollectKeepsClusterData(t *testing.T) {
	dir := buildFeed(t)
	const other = "f1111111-2222-4333-8444-555555555555"
	writeJSON(t, filepath.Join(dir, other+".json"), map[string]any{"Event": map[string]any{"uuid": other, "info": "tag only",
		"timestamp": "1600000000", "Tag": []map[string]string{{"name": `misp-galaxy:banker="Gozi"`}},
		"Attribute": []map[string]any{{"type": "domain", "value": "gozi.example", "to_ids": true}}}})
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m[other] = map[string]any{"timestamp": "1600000000"} // sorted after Ursnif's 5b64…: written after it
	writeJSON(t, filepath.Join(dir, "manifest.json"), m)
	h := newHarness(t, serve(t, dir).URL)
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	gozi, err := h.db.Entity(t.Context(), "x-misp-galaxy--banker--gozi")
	if err != nil || !strings.HasPrefix(gozi.Description, "Banking trojan") || !slices.Contains(gozi.Aliases, "Ursnif") {
		t.Errorf("Gozi = %+v, %v", gozi, err)
	}
}

func TestNew(t *testing.T) {
	base := config.Source{Name: "f", Kind: "misp", URL: "https://www.circl.lu/doc/misp/feed-osint"}
	if _, err := misp.New(base); err != nil {
		t.Fatalf("New(%+v): %v", base, err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*config.Source)
	}{
		{"format", func(s *config.Source) { s.Format = "csv" }},
		{"column", func(s *config.Source) { s.Column = "2" }},
		{"delimiter", func(s *config.Source) { s.Delimiter = ";" }},
		{"type", func(s *config.Source) { s.Type = "ipv4" }},
		{"comment", func(s *config.Source) { s.Comment = []string{"#"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.mod(&s)
			_, err := misp.New(s)
			if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), "kind list") {
				t.Errorf("err = %v", err)
			}
		})
	}
	if !slices.Contains(collect.Kinds(), "misp") {
		t.Errorf("kinds %v lack misp", collect.Kinds())
	}
}

func TestFeedURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.circl.lu/doc/misp/feed-osint":  "https://www.circl.lu/doc/misp/feed-osint/manifest.json",
		"https://www.circl.lu/doc/misp/feed-osint/": "https://www.circl.lu/doc/misp/feed-osint/manifest.json",
		"file:///var/feeds/circl":                   "file:///var/feeds/circl/manifest.json",
	} {
		if got, err := misp.FeedURL(in, "manifest.json"); err != nil || got != want {
			t.Errorf("FeedURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

var _ store.Store = (*sqlite.DB)(nil)
