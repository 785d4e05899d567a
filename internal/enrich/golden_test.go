package enrich_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/intel"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGoldenEnrichment")

// goldenCorpus lists the genuine event files and their formats (testdata/SOURCES.md says where
// each event comes from).
var goldenCorpus = []struct {
	file   string
	format enrich.Format
}{
	{"ecs-zeek.ndjson", enrich.FormatECS},     // Filebeat's Zeek module: conn, dns, http
	{"ecs-sysmon.ndjson", enrich.FormatECS},   // Winlogbeat's Sysmon module
	{"ecs-endpoint.ndjson", enrich.FormatECS}, // Elastic Defend alert
	{"ecs-proxy.ndjson", enrich.FormatECS},    // proxy logs
	{"ecs-auth.ndjson", enrich.FormatECS},     // sshd authentication
	{"ecs-email.ndjson", enrich.FormatECS},    // mail security
	{"suricata-eve.ndjson", enrich.FormatSuricata},
	{"zeek-dns.ndjson", enrich.FormatZeek},
	{"zeek-http.ndjson", enrich.FormatZeek},
	{"zeek-files.ndjson", enrich.FormatZeek},
	{"zeek-ssl.ndjson", enrich.FormatZeek},
	{"cef.log", enrich.FormatCEF},
}

// TestGoldenEnrichment enriches every genuine event with every value it carries known as a fresh
// C2 indicator, and compares what matched (line, matched.field, matched.atomic, the indicator, the
// kind of match) and the priority with testdata/golden/*.golden (go test -run Golden -update
// rewrites them). It then checks that every ECS field omen reads produced a match somewhere.
func TestGoldenEnrichment(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range goldenCorpus {
		t.Run(c.file, func(t *testing.T) {
			lines := corpusLines(t, c.file)
			dec, err := enrich.NewDecoder(c.format, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Every value of the file becomes an indicator (a domain also covers its sub-domains).
			var reports []rep
			seen := map[string]bool{}
			ecsOf := map[string]string{}
			for _, l := range lines {
				var ev enrich.Event
				if err := dec.Decode(l, &ev); err != nil {
					t.Fatal(err)
				}
				for _, f := range ev.Fields {
					ecsOf[f.Path] = f.ECS
					if v := f.Observable.String(); !seen[v] {
						seen[v] = true
						reports = append(reports, rep{"vendor", v, 90, time.Hour, "c2", intel.TLPClear})
					}
				}
			}
			e := newEnv(t, reports)
			var got []string
			for i, l := range lines {
				res, err := e.en.NewWorker(dec).Enrich(t.Context(), l)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if !res.Matched {
					got = append(got, fmt.Sprintf("%d\tno match", i+1))
					continue
				}
				var m map[string]any
				if err := json.Unmarshal(res.Out, &m); err != nil {
					t.Fatalf("line %d: output is not JSON: %v", i+1, err)
				}
				ens, _ := path(m, "threat.enrichments").([]any)
				for _, x := range ens {
					en := x.(map[string]any)
					ind, mt := en["indicator"].(map[string]any), en["matched"].(map[string]any)
					field := mt["field"].(string)
					covered[ecsOf[field]] = true
					got = append(got, fmt.Sprintf("%d\t%s\t%s\t%s:%s\t%s", i+1, field, mt["atomic"], ind["type"], ind["name"], mt["omen_match"]))
				}
				p := path(m, "omen.priority").(map[string]any)
				got = append(got, fmt.Sprintf("%d\tpriority %v %v %v", i+1, p["score"], p["action"], p["gates_applied"]))
				if rs := path(m, "event.risk_score"); rs != p["score"] {
					t.Errorf("line %d: event.risk_score %v, priority %v", i+1, rs, p["score"])
				}
			}
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(c.file, filepath.Ext(c.file))+".golden")
			text := strings.Join(got, "\n") + "\n"
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run Golden -update to create it)", err)
			}
			if string(want) != text {
				t.Errorf("%s differs:\n--- want\n%s--- got\n%s", golden, want, text)
			}
		})
	}
	// The fields omen reads, each of which a genuine event here matched through. The corpus has
	// no genuine event with client.domain or process.parent.hash.*; the decoder's shape tests cover
	// those.
	for _, f := range []string{"source.ip", "destination.ip", "source.address", "destination.address", "client.address",
		"server.address", "source.domain", "destination.domain", "server.domain", "dns.question.name", "dns.answers.data",
		"url.full", "url.original", "url.domain", "http.request.referrer", "file.hash.md5", "file.hash.sha1",
		"file.hash.sha256", "process.hash.sha1", "dll.hash.md5", "dll.hash.sha1", "dll.hash.sha256",
		"email.from.address", "email.to.address", "email.sender.address", "email.reply_to.address",
		"email.attachments.file.hash.md5", "email.attachments.file.hash.sha256", "user.name", "user.email",
		"related.ip", "related.hosts", "related.hash", "related.user", "tls.client.ja3", "tls.server.ja3s"} {
		if !covered[f] {
			t.Errorf("no genuine event matched through %s", f)
		}
	}
	if t.Failed() {
		var have []string
		for f := range covered {
			have = append(have, f)
		}
		slices.Sort(have)
		t.Logf("matched through: %v", have)
	}
}
