package respond_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/collect/misp"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

var mispGenerated = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// mispEntries are entries as the pipeline hands them to the format. The values are the genuine
// indicators of the CIRCL OSINT Xorist event (testdata/misp/circl-osint-57c4445b-….json) plus
// documentation addresses and names.
func mispEntries() []respond.Entry {
	d := func(day int) time.Time { return time.Date(2026, 10, day, 12, 0, 0, 0, time.UTC) }
	return []respond.Entry{
		{Observable: intel.Observable{Type: intel.IPv4, Value: "198.51.100.7"}, Score: 92, TLP: intel.TLPClear,
			FirstSeen: d(1), LastSeen: d(30), Sources: []string{"feodo"}, Tags: []string{"botnet"}, ThreatType: "c2",
			Malware: "Emotet", ID: 1},
		{Observable: intel.Observable{Type: intel.CIDR, Value: "203.0.113.0/24"}, Score: 85, TLP: intel.TLPClear,
			FirstSeen: d(3), LastSeen: d(29), Sources: []string{"spamhaus-drop"}, ThreatType: "c2", ID: 2},
		{Observable: intel.Observable{Type: intel.Domain, Value: "evil.example.com"}, Score: 75, TLP: intel.TLPGreen,
			FirstSeen: d(5), LastSeen: d(28), Sources: []string{"threatfox"}, ThreatType: "c2", ID: 3},
		{Observable: intel.Observable{Type: intel.URL, Value: "http://evil.example.com/gate.php"}, Score: 70, TLP: intel.TLPAmber,
			FirstSeen: d(6), LastSeen: d(27), Sources: []string{"urlhaus"}, Tags: []string{"tlp:amber", "exe"}, ThreatType: "malware-download", ID: 4},
		{Observable: intel.Observable{Type: intel.MD5, Value: "0749bae92ca336a02c83d126e04ec628"}, Score: 60, TLP: intel.TLPClear,
			FirstSeen: d(7), LastSeen: d(26), Sources: []string{"circl-osint"}, Malware: "Xorist", ID: 5},
		{Observable: intel.Observable{Type: intel.SHA1, Value: "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"}, Score: 60, TLP: intel.TLPClear,
			FirstSeen: d(7), LastSeen: d(26), Sources: []string{"circl-osint"}, Malware: "Xorist", ID: 6},
		{Observable: intel.Observable{Type: intel.SHA256, Value: "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"}, Score: 60,
			TLP: intel.TLPClear, FirstSeen: d(7), LastSeen: d(26), Sources: []string{"circl-osint"}, Malware: "Xorist", ID: 7},
		{Observable: intel.Observable{Type: intel.Email, Value: "bad@example.com"}, Score: 55, TLP: intel.TLPGreen,
			FirstSeen: d(8), LastSeen: d(25), Sources: []string{"phish"}, ThreatType: "phishing", ID: 8},
		{Observable: intel.Observable{Type: intel.IPv6, Value: "2001:db8::bad"}, Score: 50, TLP: intel.TLPGreen,
			FirstSeen: d(9), LastSeen: d(24), Sources: []string{"scanners"}, ThreatType: "scanner", ID: 9},
	}
}

func readFeed(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[de.Name()] = b
	}
	return out
}

// TestMISPFeedGolden compares the feed directory with testdata/misp-feed (OMEN_UPDATE_GOLDEN=1
// rewrites it).
func TestMISPFeedGolden(t *testing.T) {
	f, ok := respond.Lookup(respond.MISPFeedFormat)
	if !ok || f.WriteDir == nil || f.Write != nil {
		t.Fatalf("misp-feed not registered as a directory format: %+v", f)
	}
	dir := t.TempDir()
	if err := f.WriteDir(dir, mispEntries(), respond.WriteOptions{Name: "omen-blocklist", Generated: mispGenerated}); err != nil {
		t.Fatal(err)
	}
	got := readFeed(t, dir)
	golden := filepath.Join("testdata", "misp-feed")
	if os.Getenv("OMEN_UPDATE_GOLDEN") != "" {
		os.RemoveAll(golden)
		if err := os.MkdirAll(golden, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, b := range got {
			var pretty bytes.Buffer
			if strings.HasSuffix(n, ".json") {
				json.Indent(&pretty, b, "", "  ") // golden files are indented for review; compared compacted
				b = append(pretty.Bytes(), '\n')
			}
			if err := os.WriteFile(filepath.Join(golden, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := readFeed(t, golden)
	if len(want) != len(got) {
		t.Fatalf("files %v, golden %v", keys(got), keys(want))
	}
	for n, w := range want {
		g, ok := got[n]
		if !ok {
			t.Errorf("golden file %s not written", n)
			continue
		}
		if strings.HasSuffix(n, ".json") {
			var cw, cg bytes.Buffer
			if err := json.Compact(&cw, w); err != nil {
				t.Fatal(n, err)
			}
			json.Compact(&cg, g)
			w, g = cw.Bytes(), cg.Bytes()
		}
		if !bytes.Equal(w, g) {
			t.Errorf("%s differs from the golden file:\n got %s\nwant %s", n, g, w)
		}
	}
	// Deterministic identities: a second export with other timestamps keeps the UUIDs.
	again, err := respond.MISPFeed(mispEntries()[:4], respond.WriteOptions{Name: "omen-blocklist", Generated: mispGenerated.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for n := range again {
		if _, ok := got[n]; !ok {
			t.Errorf("a repeated export named a new file %s", n)
		}
	}
	other, _ := respond.MISPFeed(mispEntries(), respond.WriteOptions{Name: "other", Generated: mispGenerated})
	for n := range other {
		if _, clash := got[n]; clash && strings.HasSuffix(n, ".json") && n != "manifest.json" {
			t.Errorf("two exports share event %s", n)
		}
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// TestMISPFeedShapeMatchesGenuine checks that omen's events and manifest carry every field a
// genuine CIRCL OSINT feed event (the Xorist event, testdata/misp) carries, with the same JSON
// kinds, and that MISP's parser reads the files.
func TestMISPFeedShapeMatchesGenuine(t *testing.T) {
	raw, err := os.ReadFile("testdata/misp/circl-osint-57c4445b-c548-4654-af0b-4be3950d210f.json")
	if err != nil {
		t.Fatal(err)
	}
	var genuine struct {
		Event map[string]any `json:"Event"`
	}
	if err := json.Unmarshal(raw, &genuine); err != nil {
		t.Fatal(err)
	}
	files, err := respond.MISPFeed(mispEntries(), respond.WriteOptions{Name: "x", Generated: mispGenerated})
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := misp.ParseManifest(bytes.NewReader(files["manifest.json"]))
	if err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 6 { // c2/clear, c2/green, malware-download/amber, malicious/clear, phishing/green, scanner/green
		t.Errorf("%d events, want 6", len(manifest))
	}
	hashes := strings.Split(strings.TrimSpace(string(files["hashes.csv"])), "\n")
	if len(hashes) != len(mispEntries()) {
		t.Errorf("%d hashes.csv lines, want %d", len(hashes), len(mispEntries()))
	}
	for id, m := range manifest {
		b := files[id+".json"]
		var ours struct {
			Event map[string]any `json:"Event"`
		}
		if err := json.Unmarshal(b, &ours); err != nil {
			t.Fatal(err)
		}
		for k, v := range genuine.Event {
			if _, ok := ours.Event[k]; !ok {
				t.Errorf("event %s lacks %q", id, k)
			} else if kind(ours.Event[k]) != kind(v) {
				t.Errorf("event %s: %q is a %s, genuine feeds write a %s", id, k, kind(ours.Event[k]), kind(v))
			}
		}
		gAttr := genuine.Event["Attribute"].([]any)[0].(map[string]any)
		for _, a := range ours.Event["Attribute"].([]any) {
			for k, v := range gAttr {
				if kind(a.(map[string]any)[k]) != kind(v) {
					t.Errorf("event %s attribute: %q is a %s, genuine feeds write a %s", id, k, kind(a.(map[string]any)[k]), kind(v))
				}
			}
		}
		ev, err := misp.ParseEvent(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if ev.UUID != id || int64(ev.Timestamp) != mispGenerated.Unix() || int64(m.Timestamp) != mispGenerated.Unix() ||
			m.Info != ev.Info || m.Date != ev.Date || len(m.Tag) != 1 || !strings.HasPrefix(m.Tag[0].Name, "tlp:") {
			t.Errorf("event %s does not match its manifest entry %+v", id, m)
		}
		for _, line := range hashes {
			if h, evID, _ := strings.Cut(line, ","); len(h) != 32 || !misp.IsUUID(evID) {
				t.Errorf("hashes.csv line %q", line)
			}
		}
		st := ev.Stats()
		if st.Rejected != 0 || st.Skipped != 0 || st.NotIDs != 0 || st.Reports != st.Attributes {
			t.Errorf("event %s: the reader does not report every attribute: %+v", id, st)
		}
	}
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "missing"
	}
	return "?"
}

func TestMISPFeedRejectsUnwritableEntries(t *testing.T) {
	for _, e := range []respond.Entry{
		{Observable: intel.Observable{Type: intel.CVE, Value: "CVE-2024-3400"}},
		{Observable: intel.Observable{Type: intel.Domain, Value: ""}},
	} {
		if _, err := respond.MISPFeed([]respond.Entry{e}, respond.WriteOptions{}); err == nil || !strings.Contains(err.Error(), "entry 0") {
			t.Errorf("%v: error %v", e.Observable, err)
		}
	}
	files, err := respond.MISPFeed(nil, respond.WriteOptions{Generated: mispGenerated})
	if err != nil || string(files["manifest.json"]) != "{}\n" || len(files["hashes.csv"]) != 0 || len(files) != 2 {
		t.Errorf("empty feed: %q, %v", files, err)
	}
}

// TestMISPFeedRoundTrip serves the feed with the FeedServer on 127.0.0.1 and collects it with
// omen's own misp collector into a fresh store: every entry comes back with its type, TLP, dates,
// tags and malware family.
func TestMISPFeedRoundTrip(t *testing.T) {
	ctx := t.Context()
	entries := mispEntries()
	calls := 0
	fs, err := respond.NewFeedServer(respond.FeedOptions{
		Exports: []config.Export{{Name: "to-misp", Format: respond.MISPFeedFormat}},
		Produce: func(ctx context.Context, name string, sel respond.Selection, f respond.Format) ([]respond.Entry, respond.Report, error) {
			calls++
			return entries, respond.Report{Candidates: len(entries), Written: len(entries)}, nil
		},
		Version: func() int64 { return 1 },
		Now:     func() time.Time { return mispGenerated },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, file, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/feeds/"), "/")
		fs.ServeFeed(w, r, name, file)
	}))
	t.Cleanup(srv.Close)

	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "omen.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	src := config.Source{Name: "omen-peer", Kind: "misp", URL: srv.URL + "/feeds/to-misp/", Reliability: intel.ReliabilityB,
		Confidence: 70, TLP: intel.TLPAmber}
	if _, err := db.PutSource(ctx, intel.Source{Name: src.Name, Kind: src.Kind, URL: src.URL, Reliability: src.Reliability,
		Confidence: src.Confidence, TLP: src.TLP, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	c, err := collect.New(src)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := fetch.New(fetch.Options{TempDir: t.TempDir(), Retries: 1})
	if err != nil {
		t.Fatal(err)
	}
	env := &collect.Env{Source: src, Fetch: fc, Store: db, Importer: &ingest.Importer{Store: db}, Now: mispGenerated}
	res, err := c.Collect(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected != 0 || res.New != len(entries) {
		t.Fatalf("collected %+v, want %d new and nothing rejected", res, len(entries))
	}
	var obs []intel.Observable
	for _, e := range entries {
		obs = append(obs, e.Observable)
	}
	got, err := db.Indicators(ctx, obs)
	if err != nil {
		t.Fatal(err)
	}
	byObs := map[intel.Observable]intel.Indicator{}
	for _, in := range got {
		byObs[in.Observable] = in
	}
	for _, e := range entries {
		in, ok := byObs[e.Observable]
		if !ok || len(in.Reports) != 1 {
			t.Errorf("%s not collected back: %+v", e.Observable, in)
			continue
		}
		r := in.Reports[0]
		if r.TLP != e.TLP || !r.FirstSeen.Equal(e.FirstSeen) || !r.LastSeen.Equal(e.LastSeen) || r.Malware != e.Malware {
			t.Errorf("%s came back as %+v, from %+v", e.Observable, r, e)
		}
		for _, tag := range e.Tags {
			if !strings.HasPrefix(tag, "tlp:") && !slices.Contains(r.Tags, tag) {
				t.Errorf("%s lost tag %q: %v", e.Observable, tag, r.Tags)
			}
		}
	}
	// A second run finds nothing new: the manifest timestamps did not move.
	env.State = res.State
	res2, err := c.Collect(ctx, env)
	if err != nil || res2.New+res2.Updated != 0 {
		t.Errorf("second run: %+v, %v", res2, err)
	}
	if calls != 1 {
		t.Errorf("producer called %d times for one feed directory, want 1", calls)
	}
}

// FuzzMISPFeed writes a feed from arbitrary values of each type and checks the result is a feed
// MISP's parser reads, with one attribute per distinct value. Seeds are the genuine Xorist values.
func FuzzMISPFeed(f *testing.F) {
	for _, e := range mispEntries() {
		f.Add(string(e.Observable.Type), e.Observable.Value, e.ThreatType, e.Malware, uint8(e.TLP), e.Score)
	}
	f.Fuzz(func(t *testing.T, typ, value, threat, malware string, tlp uint8, score int) {
		o, err := intel.Normalize(intel.Type(typ), value)
		if err != nil {
			return // the pipeline only hands over normalised observables
		}
		e := respond.Entry{Observable: o, Score: score, TLP: intel.TLP(tlp % 5), ThreatType: threat, Malware: malware,
			Tags: []string{threat, malware}}
		files, err := respond.MISPFeed([]respond.Entry{e, e}, respond.WriteOptions{Name: threat, Generated: mispGenerated})
		if err != nil {
			if typ, _ := respond.MISPType(o.Type); typ == "" {
				return
			}
			t.Fatalf("%v: %v", o, err)
		}
		m, err := misp.ParseManifest(bytes.NewReader(files["manifest.json"]))
		if err != nil || len(m) != 1 {
			t.Fatalf("manifest %s: %v", files["manifest.json"], err)
		}
		for id := range m {
			ev, err := misp.ParseEvent(bytes.NewReader(files[id+".json"]))
			if err != nil || len(ev.Attribute) != 1 || ev.Attribute[0].Value != o.Value {
				t.Fatalf("event %s: %v", files[id+".json"], err)
			}
		}
	})
}
