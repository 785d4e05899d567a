package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/cli"
)

// TestServeFeeds runs omen serve with two configured exports and reads them with a consumer key:
// the guard keeps the organisation's own network and warninglisted infrastructure out, ETags
// answer 304, and the RPZ feed names the listed domain.
func TestServeFeeds(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "omen-data")
	cfg := filepath.Join(dir, "omen.yaml")
	os.WriteFile(cfg, []byte(`sources: []
exports:
  - {name: c2-ips, format: plain-ip, types: [ipv4], refresh: 1s}
  - {name: c2-rpz, format: rpz, types: [domain]}
`), 0o644)
	list := filepath.Join(dir, "c2.txt")
	// Feodo Tracker C2s (shared fixtures), Google's resolver, an own address and a URLhaus domain.
	os.WriteFile(list, []byte("192.9.135.73\n45.154.244.193\n8.8.8.8\n10.20.30.40\nwolfpackmedia.net\n"), 0o644)
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := cli.Run(t.Context(), append([]string{"--data", data, "--config", cfg}, args...), strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	run("import", "--source", "feodo", "--reliability", "B", "--confidence", "90", "--threat-type", "c2", list)
	assets := filepath.Join(dir, "assets.csv")
	os.WriteFile(assets, []byte("kind,name,values,criticality\nnetwork,HQ LAN,10.0.0.0/8,high\n"), 0o644)
	run("assets", "import", assets)
	consumer := strings.TrimSpace(run("keys", "create", "--role", "consumer", "--name", "firewall", "--clearance", "amber"))
	analyst := strings.TrimSpace(run("keys", "create", "--role", "analyst", "--name", "soc"))

	srv := startServe(t, "--data", data, "--config", cfg, "serve", "--collect=false")
	defer srv.stop()
	get := func(path, etag string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+srv.addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+consumer)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/feeds/c2-ips", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "192.9.135.73") || !strings.Contains(body, "45.154.244.193") {
		t.Fatalf("c2-ips: %d %q", resp.StatusCode, body)
	}
	for _, poison := range []string{"8.8.8.8", "10.20.30.40", "10.0.0.0"} {
		if strings.Contains(body, poison) {
			t.Errorf("c2-ips lists %s:\n%s", poison, body)
		}
	}
	if again, _ := get("/feeds/c2-ips", resp.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", again.StatusCode)
	}
	if resp, body := get("/feeds/c2-rpz", ""); resp.StatusCode != 200 || !strings.Contains(body, "wolfpackmedia.net") || !strings.Contains(body, "SOA") {
		t.Errorf("c2-rpz: %d %q", resp.StatusCode, body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+srv.addr+"/feeds/c2-ips", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no key: %v %v", resp.StatusCode, err)
	}

	// New intelligence imported by another process reaches the feed (the serving knowledge base
	// catches up, the feed's index follows); a new asset takes its network out at once.
	const fresh = "91.92.250.10"
	more := filepath.Join(dir, "more.txt")
	os.WriteFile(more, []byte(fresh+"\n"), 0o644)
	run("import", "--source", "feodo", "--threat-type", "c2", more)
	waitFeed := func(want bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			_, body := get("/feeds/c2-ips", "")
			if strings.Contains(body, fresh) == want && strings.Contains(body, "192.9.135.73") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("c2-ips never had %s = %v:\n%s\n%s", fresh, want, body, srv.log.String())
			}
		}
	}
	waitFeed(true)
	asset := `{"kind": "network", "name": "Branch office", "values": ["91.92.250.0/24"], "criticality": "high"}`
	areq, _ := http.NewRequestWithContext(t.Context(), "POST", "http://"+srv.addr+"/api/v1/assets", strings.NewReader(asset))
	areq.Header.Set("Authorization", "Bearer "+analyst)
	areq.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(areq); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("adding an asset: %v %v", resp, err)
	}
	waitFeed(false)
}
