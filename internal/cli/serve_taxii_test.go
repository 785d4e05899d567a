package cli_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/omen-tip/omen/internal/taxii"
)

// TestServeTAXII starts omen serve with the default configuration and reads the TAXII discovery
// and the default API root's collections with the initial admin key.
func TestServeTAXII(t *testing.T) {
	data := filepath.Join(t.TempDir(), "omen-data")
	srv := startServe(t, "--data", data, "serve", "--collect=false")
	defer srv.stop()
	addr, key, ctx := srv.addr, srv.key, t.Context()
	if key == "" {
		t.Fatalf("no initial key: %s", srv.log.String())
	}
	get := func(path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+path, nil)
		req.Header.Set("Accept", taxii.MediaType)
		req.SetBasicAuth("client", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, m := get("/taxii2/"); code != 200 || m["default"] != "http://"+addr+"/omen/" {
		t.Errorf("discovery: %d %v", code, m)
	}
	if code, m := get("/omen/collections/"); code != 200 || len(m["collections"].([]any)) != 7 {
		t.Errorf("collections: %d %v", code, m)
	}
}
