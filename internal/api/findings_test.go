package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

type findingsFixture struct {
	s     *Server
	st    *sqlite.DB
	keys  map[string]string // by name: analyst, reader, consumer, green
	id1   int64             // priority 85, TLP clear, ipv4:192.0.2.66 reported by feodo
	id2   int64             // priority 62, TLP amber
	feodo string
}

func newFindingsFixture(t *testing.T) *findingsFixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &findingsFixture{st: st, keys: map[string]string{}, feodo: "feodotracker"}
	if _, err := st.PutSource(ctx, intel.Source{Name: f.feodo, Kind: "list", Reliability: 'B', Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ing, err := st.NewIngester(ctx, store.IngestOptions{Source: f.feodo})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c2 := intel.Observable{Type: intel.IPv4, Value: "192.0.2.66"}
	if err := ing.Add(ctx, intel.Report{Observable: c2, Confidence: 90, FirstSeen: at, LastSeen: at, ThreatType: "c2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ing.Close(ctx); err != nil {
		t.Fatal(err)
	}
	green := intel.TLPGreen
	for name, role := range map[string]intel.Role{"analyst": intel.RoleAnalyst, "reader": intel.RoleReader, "consumer": intel.RoleConsumer, "green": intel.RoleAnalyst} {
		var clear *intel.TLP
		if name == "green" {
			clear = &green
		}
		_, secret, err := CreateKey(ctx, st, name, role, clear, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.keys[name] = secret
	}
	svc := findings.New(st, nil, findings.Options{})
	f1, _, err := svc.Raise(ctx, findings.Candidate{Kind: "indicator-match", Title: "C2 contact", Observable: c2,
		Asset: &intel.Asset{ID: 3}, Priority: 85, Level: "act", Evidence: []string{"feodotracker (B) c2"}, At: at})
	if err != nil {
		t.Fatal(err)
	}
	f2, _, err := svc.Raise(ctx, findings.Candidate{Kind: "indicator-match", Title: "phishing",
		Observable: intel.Observable{Type: intel.Domain, Value: "login-corp.example"}, Priority: 62, TLP: intel.TLPAmber, At: at})
	if err != nil {
		t.Fatal(err)
	}
	f.id1, f.id2 = f1.ID, f2.ID
	f.s = New(Deps{Store: st})
	f.s.registerFindings()
	f.s.registerFindings() // idempotent: a second call must not panic on duplicate patterns
	return f
}

func (f *findingsFixture) do(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+f.keys[key])
	}
	rec := httptest.NewRecorder()
	f.s.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, b
}

func TestFindingsAPI(t *testing.T) {
	f := newFindingsFixture(t)
	var list struct{ Findings []intel.Finding }
	code, body := f.do(t, "GET", "/api/v1/findings", "reader", "")
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Findings) != 2 {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = f.do(t, "GET", "/api/v1/findings?min_priority=80&open=true&limit=5", "reader", "")
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Findings) != 1 || list.Findings[0].ID != f.id1 {
		t.Errorf("list min_priority=80: %d %s", code, body)
	}
	// A green-cleared key does not see the amber finding.
	code, body = f.do(t, "GET", "/api/v1/findings", "green", "")
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Findings) != 1 || list.Findings[0].ID != f.id1 {
		t.Errorf("list as green: %d %s", code, body)
	}
	if code, _ := f.do(t, "GET", fmt.Sprintf("/api/v1/findings/%d", f.id2), "green", ""); code != 404 {
		t.Errorf("get amber finding as green: %d, want 404", code)
	}
	if code, _ := f.do(t, "PATCH", fmt.Sprintf("/api/v1/findings/%d", f.id2), "green", `{"status":"triaged"}`); code != 404 {
		t.Errorf("patch amber finding as green: %d, want 404", code)
	}
	for _, q := range []string{"status=closed", "open=maybe", "min_priority=101", "limit=0", "limit=5000", "since=yesterday"} {
		if code, body := f.do(t, "GET", "/api/v1/findings?"+q, "reader", ""); code != 400 {
			t.Errorf("list ?%s: %d %s, want 400", q, code, body)
		}
	}
	code, body = f.do(t, "GET", fmt.Sprintf("/api/v1/findings/%d", f.id1), "reader", "")
	var one intel.Finding
	if code != 200 || json.Unmarshal(body, &one) != nil || one.Title != "C2 contact" || one.Count != 1 || len(one.Actions) != 1 {
		t.Errorf("get: %d %s", code, body)
	}
	for path, want := range map[string]int{"/api/v1/findings/999": 404, "/api/v1/findings/abc": 400, "/api/v1/findings/-1": 400} {
		if code, _ := f.do(t, "GET", path, "reader", ""); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	if code, _ := f.do(t, "GET", "/api/v1/findings", "consumer", ""); code != 403 {
		t.Errorf("list as consumer: %d, want 403", code)
	}
	if code, _ := f.do(t, "GET", "/api/v1/findings", "", ""); code != 401 {
		t.Errorf("list without a key: %d, want 401", code)
	}

	path := fmt.Sprintf("/api/v1/findings/%d", f.id1)
	if code, _ := f.do(t, "PATCH", path, "reader", `{"status":"triaged"}`); code != 403 {
		t.Errorf("patch as reader: %d, want 403", code)
	}
	code, body = f.do(t, "PATCH", path, "analyst", `{"status":"triaged","assignee":"alice","note":"on it"}`)
	if code != 200 || json.Unmarshal(body, &one) != nil || one.Status != intel.FindingTriaged || one.Assignee != "alice" ||
		!strings.Contains(one.Actions[1], "key:analyst: status new -> triaged; assignee alice") {
		t.Errorf("patch: %d %s", code, body)
	}
	for b, want := range map[string]string{
		`{"status":"new"}`:                          "cannot move to new",
		`{"status":"closed"}`:                       "want new, triaged",
		`{"status":"triaged","true_positive":true}`: "needs status resolved",
		`{}`:                   "nothing to change",
		`{"state":"resolved"}`: "unknown field",
		`not json`:             "invalid JSON body",
	} {
		code, body := f.do(t, "PATCH", path, "analyst", b)
		if code != 400 || !strings.Contains(string(body), want) {
			t.Errorf("patch %s: %d %s, want 400 with %q", b, code, body, want)
		}
	}
	if code, _ := f.do(t, "PATCH", "/api/v1/findings/999", "analyst", `{"status":"triaged"}`); code != 404 {
		t.Errorf("patch missing: %d, want 404", code)
	}

	// A false-positive verdict allowlists the value and counts against the source.
	code, body = f.do(t, "PATCH", path, "analyst", `{"status":"false-positive"}`)
	if code != 200 {
		t.Fatalf("patch false-positive: %d %s", code, body)
	}
	src, err := f.st.Source(t.Context(), f.feodo)
	if err != nil || src.FalsePositives != 1 {
		t.Errorf("source after the verdict = %+v, %v", src, err)
	}
	var allow struct{ Allowlist []intel.AllowEntry }
	code, body = f.do(t, "GET", "/api/v1/allowlist", "reader", "")
	if code != 200 || json.Unmarshal(body, &allow) != nil || len(allow.Allowlist) != 1 ||
		allow.Allowlist[0].Observable.Value != "192.0.2.66" || allow.Allowlist[0].Actor != "key:analyst" ||
		allow.Allowlist[0].FindingID != f.id1 {
		t.Errorf("allowlist: %d %s", code, body)
	}
}

func TestAllowlistAPI(t *testing.T) {
	f := newFindingsFixture(t)
	if code, body := f.do(t, "GET", "/api/v1/allowlist", "reader", ""); code != 200 || !strings.Contains(string(body), `"allowlist":[]`) {
		t.Errorf("empty allowlist: %d %s", code, body)
	}
	if code, _ := f.do(t, "POST", "/api/v1/allowlist", "reader", `{"value":"cdn.example.com","reason":"ours"}`); code != 403 {
		t.Errorf("post as reader: %d, want 403", code)
	}
	code, body := f.do(t, "POST", "/api/v1/allowlist", "analyst", `{"value":"CDN.Example.com","reason":"our CDN"}`)
	var e intel.AllowEntry
	if code != 201 || json.Unmarshal(body, &e) != nil || e.Observable != (intel.Observable{Type: intel.Domain, Value: "cdn.example.com"}) || e.Actor != "key:analyst" {
		t.Fatalf("post: %d %s", code, body)
	}
	if code, body := f.do(t, "POST", "/api/v1/allowlist", "analyst", `{"value":"svc-backup","type":"account","reason":"backup"}`); code != 201 {
		t.Errorf("post account: %d %s", code, body)
	}
	for b, want := range map[string]string{
		`{"value":"cdn.example.com"}`:                     "reason is required",
		`{"value":"not a value!","reason":"x"}`:           "cannot detect",
		`{"value":"1.2.3.4","type":"bogus","reason":"x"}`: "unknown observable type",
		`{"value":"1.2.3.4","reason":"x","extra":1}`:      "unknown field",
	} {
		if code, body := f.do(t, "POST", "/api/v1/allowlist", "analyst", b); code != 400 || !strings.Contains(string(body), want) {
			t.Errorf("post %s: %d %s, want 400 with %q", b, code, body, want)
		}
	}
	path := fmt.Sprintf("/api/v1/allowlist/%d", e.ID)
	if code, body := f.do(t, "DELETE", path, "analyst", ""); code != 204 {
		t.Errorf("delete: %d %s", code, body)
	}
	if code, _ := f.do(t, "DELETE", path, "analyst", ""); code != 404 {
		t.Errorf("delete again: %d, want 404", code)
	}
	if code, _ := f.do(t, "DELETE", "/api/v1/allowlist/x", "analyst", ""); code != 400 {
		t.Errorf("delete x: %d, want 400", code)
	}
	log, err := f.st.AuditLog(t.Context(), store.AuditFilter{})
	if err != nil || len(log) == 0 || log[0].Action != "allowlist.delete" || log[0].Actor != "key:analyst" {
		t.Errorf("audit = %+v, %v", log, err)
	}
}
