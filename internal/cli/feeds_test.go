package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/demo"
	"github.com/omen-tip/omen/internal/lookup"
)

// omen feeds sync against a local server serving the genuine samples, as a user configures it.
func TestFeedsSync(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, demo.Files()); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(root, "attack20"), os.DirFS("../collect/attack/testdata/enterprise-subset-stix20")); err != nil {
		t.Fatal(err)
	}
	// The genuine EPSS sample holds 1999's CVEs and the KEV sample 2025's; one synthetic row (marked
	// here, not in any fixture) gives a KEV CVE a score so the join can be seen.
	epss, err := os.ReadFile("../collect/epss/testdata/epss_scores-current.head.csv")
	if err != nil {
		t.Fatal(err)
	}
	epss = append(epss, "CVE-2025-48384,0.41234,0.97001\n"...)
	if err := os.WriteFile(filepath.Join(root, "epss.csv"), epss, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	defer srv.Close()

	var cfg strings.Builder
	cfg.WriteString("sources:\n")
	add := func(name, kind, file, extra string) {
		fmt.Fprintf(&cfg, "  - {name: %s, kind: %s, url: %q, reliability: A, confidence: 90, tlp: clear%s}\n", name, kind, srv.URL+"/"+file, extra)
	}
	add("feodotracker", "list", "feodo-ipblocklist.csv", ", format: csv, threat_type: c2")
	add("spamhaus-drop", "list", "drop_v4.json", ", format: ndjson")
	add("tor-exit", "list", "tor-exit-nodes.lst", ", format: text")
	add("ipsum", "list", "ipsum.head.txt", "")
	add("cisa-kev", "kev", "known_exploited_vulnerabilities.head.json", "")
	add("epss", "epss", "epss.csv", "")
	for _, v := range []string{"attack", "attack20"} {
		files, _ := filepath.Glob(filepath.Join(root, v, "*.json"))
		for _, f := range files {
			add(v+"-"+strings.TrimSuffix(filepath.Base(f), ".json"), "attack", v+"/"+filepath.Base(f), "")
		}
	}
	cfgPath := filepath.Join(root, "omen.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	// KEV before EPSS, so that the scores have vulnerabilities to attach to.
	for _, names := range [][]string{{"cisa-kev"}, nil} {
		args := append([]string{"--config", cfgPath, "--data", data, "feeds", "sync", "--json"}, names...)
		code, out, errs := omen(t, "", args...)
		if code != 0 {
			t.Fatalf("feeds sync %v: exit %d\n%s\n%s", names, code, out, errs)
		}
	}
	code, out, errs := omen(t, "", "--config", cfgPath, "--data", data, "feeds", "status", "--json")
	if code != 0 {
		t.Fatalf("status: %d %s", code, errs)
	}
	var st struct {
		Sources []struct {
			Name, Health string
			GoodRecords  int `json:"good_records"`
		}
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"feodotracker": 28, "spamhaus-drop": 1670, "tor-exit": 1746, "ipsum": 2993, "cisa-kev": 80, "epss": 40}
	for _, s := range st.Sources {
		if s.Health != "ok" {
			t.Errorf("%s: health %s", s.Name, s.Health)
		}
		if n, ok := want[s.Name]; ok && s.GoodRecords != n {
			t.Errorf("%s: %d records, want %d", s.Name, s.GoodRecords, n)
		}
	}
	if len(st.Sources) != 6+20 {
		t.Errorf("%d sources in the status", len(st.Sources))
	}
	code, out, _ = omen(t, "", "--config", cfgPath, "--data", data, "lookup", "--json", "CVE-2025-48384")
	var r lookup.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("lookup: %d %v %s", code, err, out)
	}
	found := false
	for _, e := range r.Matches[0].Indicator.Entities {
		if e.Type == "vulnerability" && e.Attributes["epss"] == 0.41234 && e.Attributes["vendor"] == "Git" {
			found = true
		}
	}
	if !found || r.Verdict != "malicious" {
		t.Errorf("KEV CVE without its EPSS score: %s", out)
	}
	// The text table for a person.
	code, out, _ = omen(t, "", "--config", cfgPath, "--data", data, "feeds", "status")
	if code != 0 || !strings.Contains(out, "HEALTH") || !strings.Contains(out, "feodotracker") {
		t.Errorf("status table: %s", out)
	}
	code, out, _ = omen(t, "", "--config", cfgPath, "feeds", "list")
	if code != 0 || !strings.Contains(out, srv.URL) {
		t.Errorf("feeds list: %s", out)
	}
}
