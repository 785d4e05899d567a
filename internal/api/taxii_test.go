package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/api"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
	"github.com/omen-tip/omen/internal/taxii"
)

// TestTAXIIMounted mounts the TAXII server on the API server, as omen serve does, and checks that
// it authenticates with omen's API keys and filters by their clearance.
func TestTAXIIMounted(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys := map[intel.Role]string{}
	for _, role := range []intel.Role{intel.RoleAdmin, intel.RoleAnalyst, intel.RoleReader, intel.RoleConsumer} {
		_, secret, err := api.CreateKey(ctx, st, string(role), role, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		keys[role] = secret
	}
	revoked, revokedSecret, err := api.CreateKey(ctx, st, "old", intel.RoleAdmin, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeAPIKey(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	for i, raw := range []string{
		`{"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000001", "created": "2024-01-01T00:00:00Z"}`,
		`{"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000002", "created": "2024-01-01T00:00:00Z",
			"object_marking_refs": ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"]}`,
	} {
		o, err := stix.ObjectMeta([]byte(raw))
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		o.Collection = store.STIXPool
		if _, err := st.PutSTIXObjects(ctx, []store.STIXObject{o}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{Store: st})
	tx, err := taxii.New(taxii.Options{Config: cfg.TAXII, Store: st, Authenticate: srv.Authenticate})
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(tx.Prefixes(), tx)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	call := func(method, path, auth, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, hs.URL+path, strings.NewReader(body))
		req.Header.Set("Accept", taxii.MediaType)
		req.Header.Set("Content-Type", taxii.MediaType)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	bearer := func(r intel.Role) string { return "Bearer " + keys[r] }
	basic := func(secret string) string {
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth("taxii-client", secret)
		return req.Header.Get("Authorization")
	}
	count := func(body string) int {
		var env struct {
			Objects []json.RawMessage `json:"objects"`
		}
		json.Unmarshal([]byte(body), &env)
		return len(env.Objects)
	}

	if code, body := call("GET", "/taxii2/", bearer(intel.RoleConsumer), ""); code != 200 || !strings.Contains(body, "/omen/") {
		t.Errorf("discovery: %d %s", code, body)
	}
	if code, _ := call("GET", "/omen/collections/", basic(keys[intel.RoleReader]), ""); code != 200 {
		t.Errorf("collections with Basic: %d", code)
	}
	for _, auth := range []string{"", "Bearer omen_wrong", bearer(""), "Bearer " + revokedSecret, basic(revokedSecret)} {
		if code, body := call("GET", "/omen/collections/", auth, ""); code != 401 || !strings.Contains(body, `"http_status":"401"`) {
			t.Errorf("auth %q: %d %s", auth, code, body)
		}
	}
	// Consumers (green by default) see the clear indicator only; admins both.
	if code, body := call("GET", "/omen/collections/all/objects/", bearer(intel.RoleConsumer), ""); code != 200 || count(body) != 1 {
		t.Errorf("consumer objects: %d %s", code, body)
	}
	if code, body := call("GET", "/omen/collections/indicators/objects/", bearer(intel.RoleAdmin), ""); code != 200 || count(body) != 2 {
		t.Errorf("admin objects: %d %s", code, body)
	}
	post := `{"objects": [{"type": "malware", "spec_version": "2.1", "id": "malware--00000000-0000-4000-8000-000000000003",
		"created": "2024-01-01T00:00:00Z", "name": "x", "is_family": true}]}`
	if code, body := call("POST", "/omen/collections/inbox/objects/", bearer(intel.RoleReader), post); code != 403 {
		t.Errorf("reader POST: %d %s", code, body)
	}
	if code, body := call("POST", "/omen/collections/inbox/objects/", bearer(intel.RoleAnalyst), post); code != 202 {
		t.Errorf("analyst POST: %d %s", code, body)
	}
	// The API's own routes are untouched, and the TAXII routes have metrics.
	if code, _ := call("GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code, _ := call("GET", "/api/v1/stats", bearer(intel.RoleReader), ""); code != 200 {
		t.Errorf("stats: %d", code)
	}
	if _, body := call("GET", "/metrics", "", ""); !strings.Contains(body, `route="/omen/"`) || !strings.Contains(body, `route="/taxii2/"`) {
		t.Error("no metrics for the TAXII routes")
	}
}
