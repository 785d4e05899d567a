package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
)

const hostJSON = `{"kind":"host","name":"fin-lt-0231","hostnames":"FIN-LT-0231","ips":["10.20.30.40"],
	"criticality":"high","data_classification":"confidential","business_service":"SAP-FI","owner":"Finance","exposure":"internal"}`

func decodeAsset(t *testing.T, body []byte) intel.Asset {
	t.Helper()
	var a intel.Asset
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return a
}

func TestAssetsCRUD(t *testing.T) {
	f := newFixture(t)
	analyst, reader := f.keys[intel.RoleAnalyst], f.keys[intel.RoleReader]

	code, body := f.do(t, "POST", "/api/v1/assets", analyst, hostJSON)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	host := decodeAsset(t, body)
	if host.ID == 0 || host.Criticality != intel.CriticalityHigh || strings.Join(host.Values, " ") != "10.20.30.40 fin-lt-0231" {
		t.Errorf("created: %+v", host)
	}
	path := fmt.Sprintf("/api/v1/assets/%d", host.ID)

	if code, body := f.do(t, "POST", "/api/v1/assets", analyst, strings.Replace(hostJSON, "fin-lt-0231", "FIN-LT-0231", 1)); code != 409 ||
		!bytes.Contains(body, []byte(path)) {
		t.Errorf("same kind and name again: %d %s, want 409 naming %s", code, body, path)
	}
	if code, body := f.do(t, "POST", "/api/v1/assets", analyst, `{"kind":"domain","name":"example.com","exposure":"internet-facing"}`); code != 201 {
		t.Fatalf("create domain: %d %s", code, body)
	}

	code, body = f.do(t, "GET", path, reader, "")
	if code != 200 || decodeAsset(t, body).Name != "fin-lt-0231" {
		t.Errorf("get: %d %s", code, body)
	}
	code, body = f.do(t, "GET", "/api/v1/assets?kind=host", reader, "")
	var list struct{ Assets []intel.Asset }
	if err := json.Unmarshal(body, &list); err != nil || code != 200 || len(list.Assets) != 1 {
		t.Errorf("list hosts: %d %s", code, body)
	}
	code, body = f.do(t, "GET", "/api/v1/assets", reader, "")
	if err := json.Unmarshal(body, &list); err != nil || code != 200 || len(list.Assets) != 2 {
		t.Errorf("list all: %d %s", code, body)
	}
	if code, body := f.do(t, "GET", "/api/v1/assets?kind=brand", reader, ""); code != 200 || !bytes.Contains(body, []byte(`"assets":[]`)) {
		t.Errorf("list brands: %d %s", code, body)
	}

	code, body = f.do(t, "PUT", path, analyst, strings.Replace(hostJSON, `"high"`, `"extreme"`, 1))
	if code != 200 {
		t.Fatalf("replace: %d %s", code, body)
	}
	if got := decodeAsset(t, body); got.ID != host.ID || got.Criticality != intel.CriticalityExtreme || !got.CreatedAt.Equal(host.CreatedAt) {
		t.Errorf("replaced: %+v", got)
	}
	if code, _ := f.do(t, "PUT", path, analyst, `{"kind":"domain","name":"example.com"}`); code != 409 {
		t.Errorf("rename onto another asset: %d, want 409", code)
	}
	if code, _ := f.do(t, "PUT", "/api/v1/assets/999", analyst, hostJSON); code != 404 {
		t.Errorf("replace missing: %d, want 404", code)
	}

	if code, body := f.do(t, "DELETE", path, analyst, ""); code != 204 {
		t.Errorf("delete: %d %s", code, body)
	}
	if code, _ := f.do(t, "GET", path, reader, ""); code != 404 {
		t.Errorf("get deleted: %d, want 404", code)
	}
	if code, _ := f.do(t, "DELETE", path, analyst, ""); code != 404 {
		t.Errorf("delete again: %d, want 404", code)
	}

	_, body = f.do(t, "GET", "/api/v1/audit", f.keys[intel.RoleAdmin], "")
	for _, want := range []string{"asset.create", "asset.update", "asset.delete", `"actor":"key:analyst"`, `"object":"asset:` + fmt.Sprint(host.ID)} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("audit lacks %s: %s", want, body)
		}
	}
}

func TestAssetsRoles(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path string
		role               intel.Role
		want               int
	}{
		{"reader lists", "GET", "/api/v1/assets", intel.RoleReader, 200},
		{"consumer may not list", "GET", "/api/v1/assets", intel.RoleConsumer, 403},
		{"reader may not create", "POST", "/api/v1/assets", intel.RoleReader, 403},
		{"consumer may not create", "POST", "/api/v1/assets", intel.RoleConsumer, 403},
		{"analyst creates", "POST", "/api/v1/assets", intel.RoleAnalyst, 201},
		{"reader reads", "GET", "/api/v1/assets/1", intel.RoleReader, 200},
		{"reader may not replace", "PUT", "/api/v1/assets/1", intel.RoleReader, 403},
		{"admin replaces", "PUT", "/api/v1/assets/1", intel.RoleAdmin, 200},
		{"reader may not delete", "DELETE", "/api/v1/assets/1", intel.RoleReader, 403},
		{"admin deletes", "DELETE", "/api/v1/assets/1", intel.RoleAdmin, 204},
		{"no key", "GET", "/api/v1/assets", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" || tc.method == "PUT" {
				body = hostJSON
			}
			if code, resp := f.do(t, tc.method, tc.path, f.keys[tc.role], body); code != tc.want {
				t.Errorf("%s %s as %q: %d %s, want %d", tc.method, tc.path, tc.role, code, resp, tc.want)
			}
		})
	}
}

func TestAssetsValidation(t *testing.T) {
	f := newFixture(t)
	analyst := f.keys[intel.RoleAnalyst]
	tests := []struct {
		name, method, path, body string
		want                     int
		err                      string
	}{
		{"not JSON", "POST", "/api/v1/assets", `{"kind":`, 400, "invalid asset: "},
		{"not an object", "POST", "/api/v1/assets", `[1]`, 400, "invalid asset: want an object"},
		{"unknown field", "POST", "/api/v1/assets", `{"kind":"host","name":"a","ip":"10.0.0.1"}`, 400, `invalid asset: unknown field \"ip\"`},
		{"wrong type", "POST", "/api/v1/assets", `{"kind":"host","name":"a","ips":{"a":1}}`, 400, "invalid asset: ips: want a string or an array of strings"},
		{"bad kind", "POST", "/api/v1/assets", `{"kind":"planet","name":"a"}`, 400, `invalid asset: kind \"planet\"`},
		{"bad values", "POST", "/api/v1/assets", `{"kind":"network","name":"a","cidrs":"10.0.0.0/33","criticality":"urgent"}`, 400,
			`invalid asset: criticality \"urgent\": want low, medium, high, extreme; invalid cidr`},
		{"no values", "POST", "/api/v1/assets", `{"kind":"person","name":"a"}`, 400, "needs at least one value (emails or usernames)"},
		{"bad id", "GET", "/api/v1/assets/abc", "", 400, `invalid asset id \"abc\"`},
		{"negative id", "PUT", "/api/v1/assets/-1", hostJSON, 400, "invalid asset id"},
		{"bad kind filter", "GET", "/api/v1/assets?kind=planet", "", 400, `kind \"planet\": want network`},
		{"missing", "GET", "/api/v1/assets/42", "", 404, "no such asset"},
		{"too large", "POST", "/api/v1/assets", `{"kind":"brand","name":"` + strings.Repeat("a", 9<<20) + `"}`, 413, "body larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.do(t, tc.method, tc.path, analyst, tc.body)
			var e struct{ Error string }
			if code != tc.want || json.Unmarshal(body, &e) != nil || !strings.Contains(string(body), tc.err) {
				t.Errorf("%d %s, want %d with %q", code, body, tc.want, tc.err)
			}
		})
	}
	if _, body := f.do(t, "GET", "/api/v1/assets", analyst, ""); !bytes.Contains(body, []byte(`"assets":[]`)) {
		t.Errorf("invalid requests stored assets: %s", body)
	}
}

func TestAssetsOpenAPI(t *testing.T) {
	f := newFixture(t)
	_, body := f.do(t, "GET", "/api/v1/openapi.json", "", "")
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct{ Schemas map[string]json.RawMessage }
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for path, methods := range map[string][]string{"/api/v1/assets": {"get", "post"}, "/api/v1/assets/{id}": {"get", "put", "delete"}} {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("openapi lacks %s %s", m, path)
			}
		}
	}
	for _, s := range []string{"Asset", "AssetInput", "AssetKind"} {
		if _, ok := doc.Components.Schemas[s]; !ok {
			t.Errorf("openapi lacks schema %s", s)
		}
	}
}
