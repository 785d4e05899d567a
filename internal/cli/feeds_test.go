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
	"time"

	"github.com/omen-tip/omen/internal/collect/misp"
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
	// The CIRCL OSINT and PyMISP events, laid out as a MISP feed directory.
	if err := os.MkdirAll(filepath.Join(root, "misp"), 0o755); err != nil {
		t.Fatal(err)
	}
	var events [][]byte
	files, _ := filepath.Glob("../collect/misp/testdata/events/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, b)
	}
	// The genuine events name no threat actor, so a third one (written here, not a fixture) tags an
	// address with the genuine MISP galaxy cluster of APT28, as a MISP analyst would.
	events = append(events, actorEvent(t, "APT28", "203.0.113.77"))
	if n, err := misp.WriteFeed(filepath.Join(root, "misp"), events); err != nil || n != 3 {
		t.Fatalf("feed of %d events: %v", n, err)
	}
	// A list naming malware families that ATT&CK knows, to see their techniques come along.
	if err := os.WriteFile(filepath.Join(root, "families.csv"), []byte("ip,malware\n198.51.100.1,Emotet\n"), 0o644); err != nil {
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
	add("circl-osint", "misp", "misp/", "")
	add("families", "list", "families.csv", ", format: csv")
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
	if len(st.Sources) != 8+20 {
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
	// A value from a MISP event (of 2018: long expired, so it no longer matches): its malware (a
	// galaxy cluster) and the event stay visible.
	r = lookupFor(t, cfgPath, data, "ooiasjdnqjwbeasdasd.com")
	if r.Verdict != "unknown" || len(r.Matches) != 0 || len(r.Expired) != 1 {
		t.Fatalf("old MISP value: %+v", r)
	}
	r.Matches = r.Expired
	if !hasEntity(r, "malware", "Gozi", "") || !hasEntity(r, "report", "Ursnif, MALWAREMESSIAGH", "") {
		t.Errorf("MISP value without its event context: %+v", r.Matches)
	}
	// A value of a MISP event shows the event's threat actor, the ATT&CK group it is (by the
	// cluster's related UUID and synonyms), and the group's techniques.
	r = lookupFor(t, cfgPath, data, "203.0.113.77")
	if !hasEntity(r, "threat-actor", "APT28", "") || !hasEntity(r, "intrusion-set", "APT28", "APT28") ||
		!hasEntity(r, "attack-pattern", "", "APT28") {
		t.Errorf("MISP value without its actor's ATT&CK techniques: %+v", r.Matches)
	}
	// A family ATT&CK knows brings its techniques.
	r = lookupFor(t, cfgPath, data, "198.51.100.1")
	if !hasEntity(r, "malware", "Emotet", "") || !hasEntity(r, "attack-pattern", "", "Emotet") {
		t.Errorf("no ATT&CK techniques through Emotet: %+v", r.Matches)
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

func lookupFor(t *testing.T, cfg, data, value string) lookup.Result {
	t.Helper()
	code, out, errs := omen(t, "", "--config", cfg, "--data", data, "lookup", "--json", value)
	var r lookup.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || len(r.Matches)+len(r.Expired) == 0 {
		t.Fatalf("lookup %s: %d %v %s %s", value, code, err, out, errs)
	}
	return r
}

// hasEntity reports whether the first match links an entity of that type, with that name (any when
// empty), reached through via (directly when empty).
func hasEntity(r lookup.Result, typ, name, via string) bool {
	for _, e := range r.Matches[0].Indicator.Entities {
		if string(e.Type) == typ && (name == "" || e.Name == name) && e.Via == via {
			return true
		}
	}
	return false
}

// actorEvent returns a MISP event document ({"Event": ...}, dated today) with one to_ids ip-dst
// attribute and, as its Galaxy, the genuine MISP threat-actor cluster named actor.
func actorEvent(t *testing.T, actor, ip string) []byte {
	t.Helper()
	b, err := os.ReadFile("../collect/misp/testdata/galaxy/cluster-threat-actor.subset.json")
	if err != nil {
		t.Fatal(err)
	}
	var galaxy struct {
		Values []map[string]any `json:"values"`
	}
	if err := json.Unmarshal(b, &galaxy); err != nil {
		t.Fatal(err)
	}
	var cluster map[string]any
	for _, v := range galaxy.Values {
		if v["value"] == actor {
			cluster = v
		}
	}
	if cluster == nil {
		t.Fatalf("no cluster %s in the galaxy", actor)
	}
	cluster["type"] = "threat-actor"
	cluster["tag_name"] = `misp-galaxy:threat-actor="` + actor + `"`
	now := time.Now().UTC()
	ev := map[string]any{"Event": map[string]any{
		"uuid": "5e6f7a8b-0c1d-4e2f-8a3b-4c5d6e7f8a9b", "info": actor + " infrastructure", "date": now.Format("2006-01-02"),
		"timestamp": fmt.Sprint(now.Unix()), "analysis": "2", "threat_level_id": "1",
		"Orgc":   map[string]any{"name": "omen-test"},
		"Tag":    []map[string]any{{"name": "tlp:green"}},
		"Galaxy": []map[string]any{{"name": "Threat Actor", "type": "threat-actor", "GalaxyCluster": []any{cluster}}},
		"Attribute": []map[string]any{{"uuid": "6f7a8b9c-1d2e-4f3a-9b4c-5d6e7f8a9b0c", "type": "ip-dst", "category": "Network activity",
			"to_ids": true, "value": ip, "timestamp": fmt.Sprint(now.Unix())}},
	}}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
