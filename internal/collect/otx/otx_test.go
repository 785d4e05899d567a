package otx_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/collect/otx"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

const (
	sample  = "testdata/otx-subscribed-pulses.json"
	keyEnv  = "OMEN_TEST_OTX_KEY"
	apiKey  = "test-key-0123"
	srcName = "otx-test"
	apiPath = "/api/v1/pulses/subscribed"
)

// server serves the genuine sample as two API pages (3 pulses, then 2) and records the queries.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
	page2   func(w http.ResponseWriter) // overrides page 2 when set
	status  int                         // answers every request with it when set
}

func newServer(t *testing.T) *server {
	t.Helper()
	b, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	var pulses []json.RawMessage
	if err := json.Unmarshal(b, &pulses); err != nil {
		t.Fatal(err)
	}
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.queries = append(s.queries, r.URL.RawQuery)
		page2, status := s.page2, s.status
		s.mu.Unlock()
		if status != 0 {
			http.Error(w, http.StatusText(status), status)
			return
		}
		if r.URL.Path != apiPath {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("X-OTX-API-KEY") != apiKey {
			http.Error(w, `{"detail": "Authentication required"}`, http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("page") == "2" {
			if page2 != nil {
				page2(w)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"results": pulses[3:], "next": nil, "count": len(pulses)})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"results": pulses[:3], "count": len(pulses),
			"next": s.URL + apiPath + "?limit=50&page=2"})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

type harness struct {
	db  *sqlite.DB
	env *collect.Env
	c   collect.Collector
}

func newHarness(t *testing.T, url string) *harness {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src := config.Source{Name: srcName, Kind: "otx", URL: url, Reliability: intel.ReliabilityC, Confidence: 60,
		TLP: intel.TLPAmber, AuthHeader: "X-OTX-API-KEY", AuthEnv: keyEnv}
	if _, err := db.PutSource(ctx, intel.Source{Name: src.Name, Kind: src.Kind, URL: src.URL, Reliability: src.Reliability,
		Confidence: src.Confidence, TLP: src.TLP, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	c, err := collect.New(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fetch.New(fetch.Options{Retries: 1, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	env := &collect.Env{Source: src, Fetch: f, Store: db, Importer: &ingest.Importer{Store: db},
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

func TestCollect(t *testing.T) {
	t.Setenv(keyEnv, apiKey)
	srv := newServer(t)
	h := newHarness(t, srv.URL+apiPath)
	ctx := t.Context()

	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	// 95 indicators: 94 normalise, the URI "/woolen/" does not. Entities: one report per pulse.
	// Relationships: one related-to per distinct observable of each pulse.
	if res.Records != 94 || res.Rejected != 1 || res.Entities != 5 || res.New != 93 || res.Relationships != 94 {
		t.Errorf("first run = %+v", res)
	}
	if string(res.State) != `{"modified_since":"2017-06-15T05:17:12.187000"}` {
		t.Errorf("state = %s", res.State)
	}
	if q := srv.seen(); len(q) != 2 || q[0] != "limit=50" || !strings.Contains(q[1], "page=2") {
		t.Errorf("queries = %q", q)
	}

	dom := intel.Observable{Type: intel.Domain, Value: "chaldear.com"}
	cve := intel.Observable{Type: intel.CVE, Value: "CVE-2012-0158"}
	ip := intel.Observable{Type: intel.IPv4, Value: "134.119.36.135"}
	ins, err := h.db.Indicators(ctx, []intel.Observable{dom, cve, ip})
	if err != nil || len(ins) != 3 {
		t.Fatalf("Indicators = %v, %v", ins, err)
	}
	d, cv, i := ins[0].Reports[0], ins[1].Reports[0], ins[2].Reports[0]
	if d.Source != srcName || d.TLP != intel.TLPGreen || d.Confidence != 60 || !slices.Contains(d.Tags, "flash player") ||
		!d.FirstSeen.Equal(time.Date(2016, 11, 3, 20, 15, 44, 0, time.UTC)) {
		t.Errorf("domain report = %+v", d)
	}
	if cv.TLP != intel.TLPGreen || !cv.FirstSeen.Equal(time.Date(2016, 11, 1, 22, 28, 26, 0, time.UTC)) || cv.LastSeen.Before(cv.FirstSeen) {
		t.Errorf("CVE report = %+v", cv)
	}
	if i.TLP != intel.TLPClear { // TLP "white"
		t.Errorf("IPv4 report of the TLP:WHITE pulse = %+v", i)
	}
	// The first pulse has no TLP: the source's.
	sha1 := intel.Observable{Type: intel.SHA1, Value: "af364ff503da71875b6d7c401a1e98e31450a561"}
	ins, err = h.db.Indicators(ctx, []intel.Observable{sha1})
	if err != nil || len(ins) != 1 || ins[0].Reports[0].TLP != intel.TLPAmber {
		t.Errorf("SHA1 of the pulse without TLP = %+v, %v", ins, err)
	}

	rels, err := h.db.Relationships(ctx, dom.String())
	if err != nil || len(rels) != 1 || rels[0].Type != "related-to" || rels[0].TargetRef != otx.ReportID("581b9aef324bc542d6b1fd84") {
		t.Errorf("relationships of %s = %+v, %v", dom, rels, err)
	}
	rep, err := h.db.Entity(ctx, "report--otx-581b9aef324bc542d6b1fd84")
	if err != nil || rep.Type != intel.ReportEntity || rep.Name != "Android banking malware masquerades as Flash Player" ||
		rep.TLP != intel.TLPGreen || rep.Attributes["author"] != "AlienVault" || rep.Attributes["industries"] == nil {
		t.Errorf("report entity = %+v, %v", rep, err)
	}

	// The second run asks for what changed since the newest modified time; nothing did.
	srv.mu.Lock()
	srv.queries = nil
	srv.mu.Unlock()
	res, err = h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if q := srv.seen(); len(q) == 0 || !strings.Contains(q[0], "modified_since=2017-06-15T05%3A17%3A12.187000") {
		t.Errorf("second run queries = %q", q)
	}
	if res.New != 0 {
		t.Errorf("second run = %+v", res)
	}
}

func TestCollectAdversaryMalware(t *testing.T) {
	// Constructed (not genuine): a pulse with the adversary, malware_families and attack_ids that the
	// IntelMQ sample lacks, in the API's object form for the latter two.
	pulse := `{"results":[{"id":"65a0c0ffee0000000000beef","name":"Constructed","TLP":"amber","modified":"2024-01-12T10:00:00.000000",
	  "created":"2024-01-12T09:00:00","adversary":"APT28","malware_families":[{"id":"X-Agent","display_name":"X-Agent"}],
	  "attack_ids":[{"id":"T1059","name":"Command and Scripting Interpreter","display_name":"T1059 - Command"}],
	  "tags":["x"],"indicators":[{"id":1,"indicator":"evil.example.org","type":"hostname","created":"2024-01-12T09:00:00",
	  "expiration":"2025-01-12T09:00:00"},{"id":2,"indicator":"C:\\x.exe","type":"FilePath","created":"2024-01-12T09:00:00"}]}],"next":null,"count":1}`
	p := filepath.Join(t.TempDir(), "page.json")
	os.WriteFile(p, []byte(pulse), 0o644)
	h := newHarness(t, "file://"+p)
	t.Setenv(keyEnv, apiKey)
	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 1 || res.Rejected != 0 || res.Entities != 3 || res.Relationships != 3 {
		t.Errorf("result = %+v", res)
	}
	ctx := t.Context()
	o := intel.Observable{Type: intel.Domain, Value: "evil.example.org"}
	ins, err := h.db.Indicators(ctx, []intel.Observable{o})
	if err != nil || len(ins) != 1 {
		t.Fatal(ins, err)
	}
	if r := ins[0].Reports[0]; r.Malware != "X-Agent" || r.TLP != intel.TLPAmber || !r.ValidUntil.Equal(time.Date(2025, 1, 12, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("report = %+v", r)
	}
	rels, _ := h.db.Relationships(ctx, otx.ReportID("65a0c0ffee0000000000beef"))
	found := false
	for _, r := range rels {
		if r.Type == "attributed-to" && r.TargetRef == otx.AdversaryID("APT28") {
			found = true
		}
	}
	if !found {
		t.Errorf("report relationships = %+v", rels)
	}
	rep, err := h.db.Entity(ctx, otx.ReportID("65a0c0ffee0000000000beef"))
	if err != nil || rep.Attributes["adversary"] != "APT28" || rep.Attributes["attack_id"] == nil {
		t.Errorf("report entity = %+v, %v", rep, err)
	}
	if a, err := h.db.Entity(ctx, "x-misp-galaxy--threat-actor--apt28"); err != nil || a.Type != intel.ThreatActor {
		t.Errorf("adversary = %+v, %v", a, err)
	}
}

func TestCollectBroken(t *testing.T) {
	for name, tc := range map[string]struct {
		key    string
		status int
		page2  string
		want   string
	}{
		"500":               {key: apiKey, status: 500, want: "500"},
		"403 bad key":       {key: "wrong", want: "403"},
		"html page 2":       {key: apiKey, page2: "<!DOCTYPE html><html><body>maintenance</body></html>", want: "HTML"},
		"truncated page 2":  {key: apiKey, page2: `{"results":[{"id":"x","indicators":[{"indicator":"1.2.3.4","ty`, want: "rejected the input"},
		"no results page 2": {key: apiKey, page2: `{"detail":"oops"}`, want: "no results array"},
		"missing env var":   {want: keyEnv},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(keyEnv, tc.key)
			srv := newServer(t)
			srv.status = tc.status
			if tc.page2 != "" {
				srv.page2 = func(w http.ResponseWriter) { w.Write([]byte(tc.page2)) }
			}
			h := newHarness(t, srv.URL+apiPath)
			res, err := h.run(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if res.New != 0 || res.Entities != 0 {
				t.Errorf("result = %+v", res)
			}
			ins, err := h.db.Indicators(t.Context(), []intel.Observable{{Type: intel.IPv4, Value: "84.11.146.62"}})
			if err != nil || len(ins) != 0 {
				t.Errorf("written despite the failure: %+v, %v", ins, err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for name, src := range map[string]config.Source{
		"list settings": {Name: "o", Kind: "otx", URL: "file:///x.json", Format: "csv"},
		"https no auth": {Name: "o", Kind: "otx", URL: "https://otx.alienvault.com" + apiPath},
		"ftp":           {Name: "o", Kind: "otx", URL: "ftp://x/y", AuthHeader: "X-OTX-API-KEY", AuthEnv: keyEnv},
	} {
		if _, err := otx.New(src); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := otx.New(config.Source{Name: "o", Kind: "otx", URL: "https://otx.alienvault.com" + apiPath,
		AuthHeader: "X-OTX-API-KEY", AuthEnv: keyEnv}); err != nil {
		t.Error(err)
	}
}

func TestParsePage(t *testing.T) {
	b, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	p, err := otx.ParsePage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, pl := range p.Results {
		n += len(pl.Indicators)
	}
	if len(p.Results) != 5 || n != 95 || p.Next != "" || p.Results[3].Tags[3] != "Strategic\tWeb\tCompromise" {
		t.Errorf("%d pulses, %d indicators, next %q", len(p.Results), n, p.Next)
	}
	for _, bad := range []string{"", "null", `"x"`, `{"results":{}}`, `[1,2]`, `[] []`} {
		if _, err := otx.ParsePage(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile(sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"results":[{"id":"a","malware_families":[{"id":"x"}],"attack_ids":["T1059"],"indicators":[]}],"next":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		otx.ParsePage(bytes.NewReader(b)) // never panics; errors are fine
	})
}
