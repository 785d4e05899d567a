package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/api"
	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

func TestEnrichEndpoint(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.PutSource(ctx, intel.Source{Name: "vendor", Kind: "test", Reliability: 'A', Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ing, err := st.NewIngester(ctx, store.IngestOptions{Source: "vendor"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := ing.Add(ctx, intel.Report{Observable: intel.Observable{Type: intel.IPv4, Value: "17.253.5.203"}, Confidence: 95,
		TLP: intel.TLPAmber, FirstSeen: now, LastSeen: now, ThreatType: "c2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ing.Close(ctx); err != nil {
		t.Fatal(err)
	}
	k, err := kb.Open(ctx, st, kb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	en, err := enrich.New(ctx, enrich.Options{KB: k})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	green := intel.TLPGreen
	for name, role := range map[string]intel.Role{"reader": intel.RoleReader, "consumer": intel.RoleConsumer} {
		if _, keys[name], err = api.CreateKey(ctx, st, name, role, nil, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, keys["green"], err = api.CreateKey(ctx, st, "green", intel.RoleReader, &green, "test"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Store: st, Lookup: lookup.NewWithKB(k, risk.DefaultModel()), Enricher: en}))
	defer srv.Close()
	post := func(key, query, ctype string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/enrich"+query, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+keys[key])
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	lines, err := os.ReadFile("../enrich/testdata/ecs-zeek.ndjson") // genuine Zeek events as Filebeat writes them
	if err != nil {
		t.Fatal(err)
	}
	events := bytes.Split(bytes.TrimSpace(lines), []byte("\n"))
	hit := events[3] // 10.178.98.102 to 17.253.5.203

	// One event, pretty-printed: the enriched event back.
	var pretty bytes.Buffer
	json.Indent(&pretty, hit, "", "  ")
	resp, body := post("reader", "", "application/json", pretty.Bytes())
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"matched":{"atomic":"17.253.5.203","field":"destination.ip"`)) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if p, _ := strconv.Atoi(resp.Header.Get("X-Omen-Priority")); p < 20 {
		t.Errorf("X-Omen-Priority %q", resp.Header.Get("X-Omen-Priority"))
	}
	// A key cleared for GREEN does not see the AMBER report.
	resp, body = post("green", "", "application/json", hit)
	if resp.StatusCode != 200 || bytes.Contains(body, []byte("enrichments")) || resp.Header.Get("X-Omen-Priority") != "0" {
		t.Errorf("green key: %d %s", resp.StatusCode, body)
	}
	// A batch keeps the order, passes a bad line through and counts it.
	batch := append(bytes.Join(events, []byte("\n")), []byte("\n{not json\n")...)
	resp, body = post("reader", "", "application/x-ndjson", batch)
	out := strings.Split(strings.TrimSpace(string(body)), "\n")
	if resp.StatusCode != 200 || len(out) != len(events)+1 || resp.Header.Get("X-Omen-Matched") != "1" ||
		resp.Header.Get("X-Omen-Invalid") != "1" || !strings.Contains(out[3], "threat") || out[0] != string(events[0]) {
		t.Errorf("batch: %d %v %d lines", resp.StatusCode, resp.Header, len(out))
	}
	resp, body = post("reader", "?min_priority=1", "application/x-ndjson", batch)
	if out := strings.Split(strings.TrimSpace(string(body)), "\n"); resp.StatusCode != 200 || len(out) != 1 {
		t.Errorf("min_priority: %d lines", len(out))
	}
	for _, tc := range []struct {
		key, query, ctype, body string
		code                    int
	}{
		{"consumer", "", "application/json", string(hit), 403},
		{"reader", "?format=xml", "application/json", string(hit), 400},
		{"reader", "?min_priority=101", "application/x-ndjson", string(hit), 400},
		{"reader", "", "application/json", "{not json", 400},
		{"reader", "", "application/json", "[1,2]", 400},
	} {
		if resp, body := post(tc.key, tc.query, tc.ctype, []byte(tc.body)); resp.StatusCode != tc.code {
			t.Errorf("%s %s %.20q: %d %s, want %d", tc.key, tc.query, tc.body, resp.StatusCode, body, tc.code)
		}
	}
}
