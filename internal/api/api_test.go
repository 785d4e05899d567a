package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/api"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

type fixture struct {
	srv   *httptest.Server
	st    store.Store
	keys  map[intel.Role]string
	green string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.PutSource(ctx, intel.Source{Name: "feodotracker", Kind: "list", Reliability: 'B', Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ing, err := st.NewIngester(ctx, store.IngestOptions{Source: "feodotracker"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, r := range []intel.Report{
		{Observable: intel.Observable{Type: intel.IPv4, Value: "192.9.135.73"}, Confidence: 90, TLP: intel.TLPClear, FirstSeen: now, LastSeen: now, Malware: "Pikabot"},
		{Observable: intel.Observable{Type: intel.URL, Value: "https://evil.com/a?b=c"}, Confidence: 90, TLP: intel.TLPAmber, FirstSeen: now, LastSeen: now},
	} {
		if err := ing.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ing.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, keys: map[intel.Role]string{}}
	for _, role := range []intel.Role{intel.RoleAdmin, intel.RoleAnalyst, intel.RoleReader, intel.RoleConsumer} {
		_, secret, err := api.CreateKey(ctx, st, string(role), role, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.keys[role] = secret
	}
	green := intel.TLPGreen
	_, f.green, err = api.CreateKey(ctx, st, "green-reader", intel.RoleReader, &green, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(api.New(api.Deps{Store: st, Lookup: lookup.New(st, lists, risk.DefaultModel())}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path, key string
		want                    int
	}{
		{"no key", "GET", "/api/v1/lookup/1.2.3.4", "", 401},
		{"bad key", "GET", "/api/v1/lookup/1.2.3.4", "omen_nope", 401},
		{"reader", "GET", "/api/v1/lookup/1.2.3.4", f.keys[intel.RoleReader], 200},
		{"analyst", "GET", "/api/v1/lookup/1.2.3.4", f.keys[intel.RoleAnalyst], 200},
		{"consumer may not look up", "GET", "/api/v1/lookup/1.2.3.4", f.keys[intel.RoleConsumer], 403},
		{"reader may not list keys", "GET", "/api/v1/keys", f.keys[intel.RoleReader], 403},
		{"admin lists keys", "GET", "/api/v1/keys", f.keys[intel.RoleAdmin], 200},
		{"health without key", "GET", "/healthz", "", 200},
		{"ready without key", "GET", "/readyz", "", 200},
		{"openapi without key", "GET", "/api/v1/openapi.json", "", 200},
		{"metrics without key", "GET", "/metrics", "", 200},
		{"sources", "GET", "/api/v1/sources", f.keys[intel.RoleReader], 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := f.do(t, tc.method, tc.path, tc.key, ""); code != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.want)
			}
		})
	}
}

func TestLookupEndpoints(t *testing.T) {
	f := newFixture(t)
	code, body := f.do(t, "GET", "/api/v1/lookup/192.9.135.73", f.keys[intel.RoleReader], "")
	var r lookup.Result
	if err := json.Unmarshal(body, &r); err != nil || code != 200 {
		t.Fatalf("%d %s: %v", code, body, err)
	}
	if r.Verdict != "malicious" || len(r.Matches) != 1 || r.Matches[0].Indicator.Sources[0].Name != "feodotracker" || len(r.Evidence) == 0 {
		t.Errorf("result %s", body)
	}
	// The field names, as a client sees them.
	for _, k := range []string{`"query"`, `"type"`, `"value"`, `"verdict"`, `"score"`, `"band"`, `"matches"`, `"match":"exact"`,
		`"indicator"`, `"first_seen"`, `"last_seen"`, `"tlp":"clear"`, `"tags"`, `"sources"`, `"reliability":"B"`, `"confidence":90`,
		`"entities":[{"type":"malware","name":"Pikabot"}]`, `"warninglists"`, `"evidence"`} {
		if !bytes.Contains(body, []byte(k)) {
			t.Errorf("result lacks %s: %s", k, body)
		}
	}
	// A URL value, percent-encoded in the path or given as ?value=, defanged.
	for _, p := range []string{"/api/v1/lookup/" + url.PathEscape("hxxps://evil[.]com/a?b=c"), "/api/v1/lookup?value=" + url.QueryEscape("hxxps://evil[.]com/a?b=c"),
		"/api/v1/lookup/https://evil.com/a?b=c"} {
		code, body = f.do(t, "GET", p, f.keys[intel.RoleReader], "")
		if code != 200 || !bytes.Contains(body, []byte(`"value":"https://evil.com/a?b=c"`)) || !bytes.Contains(body, []byte(`"match":"exact"`)) {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	// TLP: the URL report is AMBER, invisible to a green-cleared key.
	code, body = f.do(t, "GET", "/api/v1/lookup?value="+url.QueryEscape("https://evil.com/a?b=c"), f.green, "")
	if code != 200 || !bytes.Contains(body, []byte(`"verdict":"unknown"`)) || bytes.Contains(body, []byte("feodotracker")) {
		t.Errorf("green key sees amber data: %d %s", code, body)
	}

	code, body = f.do(t, "POST", "/api/v1/lookup", f.keys[intel.RoleReader], `{"values":["192.9.135.73","8.8.8.8","junk value"]}`)
	var bulk struct{ Results []lookup.Result }
	if err := json.Unmarshal(body, &bulk); err != nil || code != 200 || len(bulk.Results) != 3 {
		t.Fatalf("bulk: %d %s", code, body)
	}
	if bulk.Results[0].Verdict != "malicious" || bulk.Results[1].Verdict != "benign" || bulk.Results[2].Error == "" {
		t.Errorf("bulk results: %s", body)
	}
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"values":`, 400}, {`{"vals":[]}`, 400}, {`[1,2]`, 400},
		{`{"values":[` + strings.TrimSuffix(strings.Repeat(`"1.2.3.4",`, lookup.MaxValues+1), ",") + `]}`, 413},
		{`{"values":["` + strings.Repeat("a", api.MaxBody) + `"]}`, 413},
	} {
		if code, body := f.do(t, "POST", "/api/v1/lookup", f.keys[intel.RoleReader], tc.body); code != tc.want {
			t.Errorf("POST %.40s: %d %s, want %d", tc.body, code, body, tc.want)
		}
	}
}

func TestKeysAndAudit(t *testing.T) {
	f := newFixture(t)
	admin := f.keys[intel.RoleAdmin]
	code, body := f.do(t, "POST", "/api/v1/keys", admin, `{"name":"siem","role":"reader"}`)
	var created struct {
		Key    intel.APIKey
		Secret string
	}
	if err := json.Unmarshal(body, &created); err != nil || code != 201 || !strings.HasPrefix(created.Secret, api.KeyPrefix) {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, _ := f.do(t, "POST", "/api/v1/keys", admin, `{"name":"siem","role":"reader"}`); code != 409 {
		t.Errorf("duplicate name: %d, want 409", code)
	}
	if code, _ := f.do(t, "GET", "/api/v1/lookup/1.2.3.4", created.Secret, ""); code != 200 {
		t.Errorf("new key: %d", code)
	}
	if code, _ := f.do(t, "DELETE", fmt.Sprintf("/api/v1/keys/%d", created.Key.ID), admin, ""); code != 204 {
		t.Errorf("revoke: %d", code)
	}
	if code, _ := f.do(t, "GET", "/api/v1/lookup/1.2.3.4", created.Secret, ""); code != 401 {
		t.Errorf("revoked key: %d, want 401", code)
	}
	_, body = f.do(t, "GET", "/api/v1/keys", admin, "")
	if bytes.Contains(body, []byte(created.Secret)) || bytes.Contains(body, []byte(`"hash"`)) {
		t.Errorf("key listing leaks secrets: %s", body)
	}
	_, body = f.do(t, "GET", "/api/v1/audit", admin, "")
	if !bytes.Contains(body, []byte("key.create")) || !bytes.Contains(body, []byte("key.revoke")) || bytes.Contains(body, []byte(created.Secret)) {
		t.Errorf("audit: %s", body)
	}
}

func TestMetricsAndOpenAPI(t *testing.T) {
	f := newFixture(t)
	f.do(t, "GET", "/api/v1/lookup/192.9.135.73", f.keys[intel.RoleReader], "")
	_, body := f.do(t, "GET", "/metrics", "", "")
	if err := f.st.RecordSourceRun(t.Context(), "feodotracker", intel.SourceRun{At: time.Now(), Err: "fetching: 500"}); err != nil {
		t.Fatal(err)
	}
	_, body = f.do(t, "GET", "/api/v1/sources", f.keys[intel.RoleReader], "")
	if !bytes.Contains(body, []byte(`"health":"degraded"`)) || !bytes.Contains(body, []byte(`"last_error":"fetching: 500"`)) {
		t.Errorf("sources: %s", body)
	}
	_, body = f.do(t, "GET", "/metrics", "", "")
	for _, m := range []string{"omen_http_requests_total", `omen_lookups_total{verdict="malicious"} 1`, `omen_store_objects{kind="indicators"} 2`,
		`omen_source_up{kind="list",source="feodotracker"} 0`, `omen_source_last_run_timestamp_seconds{source="feodotracker"}`} {
		if !bytes.Contains(body, []byte(m)) {
			t.Errorf("metrics lack %s", m)
		}
	}
	_, body = f.do(t, "GET", "/api/v1/openapi.json", "", "")
	var doc struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.OpenAPI == "" {
		t.Fatalf("openapi: %v", err)
	}
	for _, p := range []string{"/api/v1/lookup/{value}", "/api/v1/lookup", "/healthz", "/readyz", "/metrics"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("openapi lacks %s", p)
		}
	}
}
