package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/cli"
)

// TestServeAutoResponse: with the automatic-response policy on, an enriched event in the Act band
// opens a finding and its block action reaches the SOAR webhook, signed; the organisation's own
// address in the same event is not in it.
func TestServeAutoResponse(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	soar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, string(b))
		mu.Unlock()
	}))
	defer soar.Close()

	dir := t.TempDir()
	data := filepath.Join(dir, "omen-data")
	cfg := filepath.Join(dir, "omen.yaml")
	os.WriteFile(cfg, []byte(`sources: []
actions:
  webhooks:
    - {name: soar, url: "`+soar.URL+`/hook", template: generic, kinds: [block], secret: s3cret}
  auto: {enabled: true, kinds: [block]}
`), 0o644)
	run := func(args ...string) {
		t.Helper()
		var errb bytes.Buffer
		if code := cli.Run(t.Context(), append([]string{"--data", data, "--config", cfg}, args...), strings.NewReader(""), io.Discard, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
	}
	list := filepath.Join(dir, "c2.txt")
	os.WriteFile(list, []byte("17.253.5.203\n"), 0o644)
	run("import", "--source", "vendor", "--reliability", "A", "--confidence", "95", "--threat-type", "c2", list)
	assets := filepath.Join(dir, "assets.csv")
	os.WriteFile(assets, []byte("kind,name,values,criticality,exposure\nhost,pay-gw-01,10.178.98.102,extreme,internet-facing\n"), 0o644)
	run("assets", "import", assets)

	srv := startServe(t, "--data", data, "--config", cfg, "serve", "--collect=false")
	defer srv.stop()
	lines, err := os.ReadFile("../enrich/testdata/ecs-zeek.ndjson") // genuine Filebeat Zeek events
	if err != nil {
		t.Fatal(err)
	}
	event := bytes.Split(lines, []byte("\n"))[3] // pay-gw-01 (10.178.98.102) to 17.253.5.203
	req, _ := http.NewRequestWithContext(t.Context(), "POST", "http://"+srv.addr+"/api/v1/enrich", bytes.NewReader(event))
	req.Header.Set("Authorization", "Bearer "+srv.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p, _ := strconv.Atoi(resp.Header.Get("X-Omen-Priority")); resp.StatusCode != 200 || p < 80 {
		t.Fatalf("enrich: %d priority %d", resp.StatusCode, p)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no automatic action reached the webhook: %s", srv.log.String())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	r, body := got[0], bodies[0]
	if r.Header.Get("X-Omen-Signature") == "" || r.Header.Get("X-Omen-Delivery") == "" || !strings.Contains(body, "17.253.5.203") ||
		strings.Contains(body, `"10.178.98.102"`) {
		t.Errorf("delivery headers %v body %s", r.Header, body)
	}
}
