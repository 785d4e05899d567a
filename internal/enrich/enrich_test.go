package enrich_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// rep is one report to load.
type rep struct {
	source string
	value  string
	conf   int
	age    time.Duration
	threat string
	tlp    intel.TLP
}

// observable reads "type:value" (an Observable's String form) or a bare value of a detectable type.
func observable(v string) (intel.Observable, error) {
	if typ, val, ok := strings.Cut(v, ":"); ok {
		if t, err := intel.ParseType(typ); err == nil {
			return intel.Normalize(t, val)
		}
	}
	return intel.Detect(v)
}

type env struct {
	t   *testing.T
	st  store.Store
	kb  *kb.KB
	fs  *findings.Service
	en  *enrich.Enricher
	ecs *enrich.Decoder
}

func newEnv(t *testing.T, reports []rep, assets ...intel.Asset) *env {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for name, g := range map[string]intel.Reliability{"feodo": 'B', "vendor": 'A', "secret": 'A'} {
		if _, err := db.PutSource(ctx, intel.Source{Name: name, Kind: "test", Reliability: g, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		o, err := observable(r.value)
		if err != nil {
			t.Fatal(err)
		}
		ing, err := db.NewIngester(ctx, store.IngestOptions{Source: r.source, Classify: lists.Classifier()})
		if err != nil {
			t.Fatal(err)
		}
		seen := now.Add(-r.age)
		if err := ing.Add(ctx, intel.Report{Observable: o, Confidence: r.conf, TLP: r.tlp, FirstSeen: seen, LastSeen: seen, ThreatType: r.threat}); err != nil {
			t.Fatal(err)
		}
		if _, err := ing.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range assets {
		if _, err := db.PutAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	k, err := kb.Open(ctx, db, kb.Options{Warninglists: lists})
	if err != nil {
		t.Fatal(err)
	}
	st := k.Wrap(db)
	fs := findings.New(st, nil, findings.Options{Now: func() time.Time { return now }})
	en, err := enrich.New(ctx, enrich.Options{KB: k, Findings: fs, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := enrich.NewDecoder(enrich.FormatECS, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, kb: k, fs: fs, en: en, ecs: dec}
}

// enriched is the part of an enriched event the tests read.
type enriched struct {
	Threat struct {
		Enrichments []struct {
			Indicator struct {
				Type     string `json:"type"`
				Name     string `json:"name"`
				Provider string `json:"provider"`
				Marking  struct {
					TLP string `json:"tlp"`
				} `json:"marking"`
			} `json:"indicator"`
			Matched struct {
				Atomic string `json:"atomic"`
				Field  string `json:"field"`
				ID     string `json:"id"`
				Type   string `json:"type"`
			} `json:"matched"`
		} `json:"enrichments"`
	} `json:"threat"`
	Omen struct {
		Priority        risk.Priority `json:"priority"`
		Recommendations []string      `json:"recommendations"`
		Asset           *struct {
			Name        string `json:"name"`
			Criticality string `json:"criticality"`
		} `json:"asset"`
	} `json:"omen"`
}

// run enriches line and decodes the parts of the output the tests read, wherever the event's own
// style put them (nested objects, or dotted keys when the event has a non-object "threat").
func (e *env) run(line []byte) (enrich.Result, enriched) {
	e.t.Helper()
	res, err := e.en.NewWorker(e.ecs).Enrich(e.t.Context(), line)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(res.Out, &m); err != nil {
		e.t.Fatalf("output is not JSON: %v\n%s", err, res.Out)
	}
	b, _ := json.Marshal(map[string]any{"threat": map[string]any{"enrichments": path(m, "threat.enrichments")}, "omen": path(m, "omen")})
	var out enriched
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatal(err)
	}
	return res, out
}

// path returns the value at a dotted path, reading both nested objects and dotted keys.
func path(m map[string]any, p string) any {
	if v, ok := m[p]; ok {
		return v
	}
	for i := range len(p) {
		if p[i] != '.' {
			continue
		}
		if sub, ok := m[p[:i]].(map[string]any); ok {
			if v := path(sub, p[i+1:]); v != nil {
				return v
			}
		}
	}
	return nil
}

func TestUnmatchedEventPassesUnchanged(t *testing.T) {
	e := newEnv(t, []rep{{"feodo", "203.0.113.9", 90, 0, "c2", intel.TLPClear}})
	for _, name := range []string{"ecs-zeek.ndjson", "ecs-sysmon.ndjson", "ecs-auth.ndjson"} {
		for i, line := range corpusLines(t, name) {
			res, err := e.en.NewWorker(e.ecs).Enrich(t.Context(), line)
			if err != nil {
				t.Fatalf("%s:%d: %v", name, i+1, err)
			}
			if res.Matched || string(res.Out) != strings.TrimSpace(string(line)) {
				t.Errorf("%s:%d: changed though nothing matched", name, i+1)
			}
		}
	}
}

// A fresh C2 report on the address an extreme-criticality, internet-facing host talks to: Act.
func TestFreshC2OnExtremeAssetActs(t *testing.T) {
	e := newEnv(t, []rep{{"vendor", "17.253.5.203", 95, 2 * time.Hour, "c2", intel.TLPAmber}},
		intel.Asset{Kind: "host", Name: "pay-gw-01", Values: []string{"10.178.98.102"}, Criticality: intel.CriticalityExtreme,
			DataClass: "restricted", Exposure: "internet-facing"})
	line := corpusLines(t, "ecs-zeek.ndjson")[3] // Zeek http: 10.178.98.102 GET from 17.253.5.203 (ocsp.apple.com)
	res, out := e.run(line)
	p := out.Omen.Priority
	if !res.Matched || p.Score < 80 || p.Action != "Act" || res.Priority != p.Score {
		t.Fatalf("priority %d %s (%s), want Act; evidence %q", p.Score, p.Level, p.Action, p.Evidence)
	}
	if p.ModelVersion != risk.ModelVersion && p.ModelVersion != "omen-prio-1" {
		t.Errorf("model version %q", p.ModelVersion)
	}
	fields := map[string]string{}
	for _, en := range out.Threat.Enrichments {
		fields[en.Matched.Field] = en.Matched.Atomic
		if en.Matched.Type != "indicator_match_rule" || en.Indicator.Type != "ipv4-addr" || en.Indicator.Provider != "vendor" ||
			en.Indicator.Marking.TLP != "AMBER" || en.Matched.ID == "" {
			t.Errorf("enrichment %+v", en)
		}
	}
	// One element per indicator and matched field: the address is in three fields of the event.
	want := map[string]string{"destination.ip": "17.253.5.203", "destination.address": "17.253.5.203", "related.ip": "17.253.5.203"}
	if len(fields) != len(want) {
		t.Errorf("matched fields %v, want %v", fields, want)
	}
	for f, v := range want {
		if fields[f] != v {
			t.Errorf("matched.field %s = %q, want %q", f, fields[f], v)
		}
	}
	if out.Omen.Asset == nil || out.Omen.Asset.Name != "pay-gw-01" || out.Omen.Asset.Criticality != "extreme" {
		t.Errorf("asset %+v", out.Omen.Asset)
	}
	if !slices.ContainsFunc(out.Omen.Recommendations, func(s string) bool { return strings.HasPrefix(s, "Block 17.253.5.203") }) {
		t.Errorf("recommendations %q lack the block", out.Omen.Recommendations)
	}
	var raw map[string]any
	json.Unmarshal(res.Out, &raw)
	if raw["event.risk_score"] != float64(p.Score) || raw["event.risk_score_norm"] != float64(p.Score) {
		t.Errorf("event.risk_score %v / %v, want %d (dotted keys like the event's own)", raw["event.risk_score"], raw["event.risk_score_norm"], p.Score)
	}
	// The event opened a finding; the same event again updates it.
	if res.Finding == 0 {
		t.Fatal("no finding opened")
	}
	res2, _ := e.run(line)
	if res2.Finding != res.Finding {
		t.Errorf("second event opened finding %d, want the same %d", res2.Finding, res.Finding)
	}
	f, err := e.st.Finding(t.Context(), res.Finding)
	if err != nil || f.Count != 2 || f.Priority != p.Score || f.AssetID == 0 || len(f.Recommendations) == 0 {
		t.Errorf("finding %+v, %v", f, err)
	}
	if err := e.fs.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	ss, err := e.st.Sightings(t.Context(), intel.Observable{Type: intel.IPv4, Value: "17.253.5.203"})
	if err != nil || len(ss) != 1 || ss[0].Count != 2 || ss[0].Where != "user" {
		t.Errorf("sightings %+v, %v", ss, err)
	}
}

// A warninglisted cloud address with an old report stays below Track, whatever the asset.
func TestWarninglistedOldReportStaysLow(t *testing.T) {
	e := newEnv(t, []rep{{"feodo", "34.206.130.40", 90, 40 * 24 * time.Hour, "c2", intel.TLPClear}},
		intel.Asset{Kind: "host", Name: "crown-jewel", Values: []string{"10.20.8.197"}, Criticality: intel.CriticalityExtreme,
			Exposure: "internet-facing"})
	line := corpusLines(t, "ecs-zeek.ndjson")[4] // Zeek http: 10.20.8.197 to httpbin.org on AWS 34.206.130.40
	res, out := e.run(line)
	if !res.Matched {
		t.Fatal("no match")
	}
	if p := out.Omen.Priority; p.Score >= 20 || !slices.Contains(p.GatesApplied, risk.GateBenign) {
		t.Errorf("priority %d gates %v, want < 20 through G1; evidence %q", p.Score, p.GatesApplied, p.Evidence)
	}
	if res.Finding != 0 {
		t.Error("a finding was opened")
	}
	for _, r := range out.Omen.Recommendations {
		if strings.Contains(r, "34.206.130.40") {
			t.Errorf("recommends acting on warninglisted infrastructure: %q", r)
		}
	}
}

// Other hosts seeing the same value corroborate it.
func TestOtherHostsCorroborate(t *testing.T) {
	e := newEnv(t, []rep{{"feodo", "202.196.224.106", 70, 24 * time.Hour, "scanner", intel.TLPClear}})
	line := corpusLines(t, "ecs-auth.ndjson")[0] // sshd: failed root login on slave22 from 202.196.224.106
	for _, h := range []string{"web-1", "web-2", "web-3"} {
		ev, err := enrich.Merge(nil, line, []enrich.Addition{{Path: "host.name", Value: json.RawMessage(`"` + h + `"`)}})
		if err != nil {
			t.Fatal(err)
		}
		e.run(ev)
	}
	_, out := e.run(line)
	if got := out.Omen.Priority.Factors.Sightings; got != 3 {
		t.Errorf("sightings factor %d, want 3 other hosts; evidence %q", got, out.Omen.Priority.Evidence)
	}
	if !slices.ContainsFunc(out.Omen.Priority.Evidence, func(s string) bool { return strings.Contains(s, "3 other internal hosts") }) {
		t.Errorf("evidence %q does not count the other hosts", out.Omen.Priority.Evidence)
	}
}

// An analyst's false-positive verdict allowlists the value: priority 0 (gate G4), no new finding.
func TestFalsePositiveVerdict(t *testing.T) {
	e := newEnv(t, []rep{{"vendor", "9f37f1c77b3425e024d82f36b84364d1a964ebf0741edd3a8096cd7ae8b17b31", 90, time.Hour, "malware", intel.TLPClear}},
		intel.Asset{Kind: "host", Name: "clauhvmvictim05", Values: []string{"clauhvmvictim05"}, Criticality: intel.CriticalityHigh})
	line := corpusLines(t, "ecs-endpoint.ndjson")[0] // Elastic Defend alert: DLL hashes on clauhvmvictim05
	res, out := e.run(line)
	if res.Finding == 0 || out.Omen.Priority.Score < 60 {
		t.Fatalf("priority %d finding %d; evidence %q", out.Omen.Priority.Score, res.Finding, out.Omen.Priority.Evidence)
	}
	if out.Omen.Asset == nil || out.Omen.Asset.Name != "clauhvmvictim05" {
		t.Errorf("asset by host name: %+v", out.Omen.Asset)
	}
	if _, err := e.fs.Set(t.Context(), res.Finding, findings.Change{Status: intel.FindingFalsePositive, Actor: "analyst"}); err != nil {
		t.Fatal(err)
	}
	if err := e.en.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, out = e.run(line)
	if p := out.Omen.Priority; p.Score != 0 || !slices.Contains(p.GatesApplied, risk.GateVerdict) || res.Finding != 0 {
		t.Errorf("after the verdict: priority %d gates %v finding %d", p.Score, p.GatesApplied, res.Finding)
	}
	src, err := e.st.Source(t.Context(), "vendor")
	if err != nil || src.FalsePositives != 1 {
		t.Errorf("source verdict counts %+v, %v", src, err)
	}
}

// Reports above the output's clearance never leave: a TLP:RED-only indicator does not match.
func TestClearance(t *testing.T) {
	e := newEnv(t, []rep{{"secret", "81.2.69.145", 90, 0, "c2", intel.TLPRed}})
	line := corpusLines(t, "ecs-proxy.ndjson")[0]
	res, _ := e.run(line)
	if res.Matched || strings.Contains(string(res.Out), "enrichments") {
		t.Errorf("TLP:RED indicator in the output: %s", res.Out)
	}
	res2, err := e.en.WithClearance(intel.TLPRed).NewWorker(e.ecs).Enrich(t.Context(), line)
	if err != nil || !res2.Matched {
		t.Errorf("cleared for RED: matched %v, %v", res2.Matched, err)
	}
}

// The OCSF shape: a Detection Finding (class 2004) per matched event, nothing for the others.
func TestOCSFOutput(t *testing.T) {
	e := newEnv(t, []rep{{"vendor", "17.253.5.203", 95, 2 * time.Hour, "c2", intel.TLPClear}},
		intel.Asset{Kind: "host", Name: "pay-gw-01", Values: []string{"10.178.98.102"}, Criticality: intel.CriticalityExtreme,
			Exposure: "internet-facing"})
	lines := corpusLines(t, "ecs-zeek.ndjson")
	w := e.en.NewWorker(e.ecs)
	w.SetOutput(enrich.OutputOCSF)
	if res, err := w.Enrich(t.Context(), lines[1]); err != nil || res.Matched || len(res.Out) != 0 {
		t.Errorf("unmatched event: %+v, %v", res, err)
	}
	res, err := w.Enrich(t.Context(), lines[3])
	if err != nil || !res.Matched {
		t.Fatal(res, err)
	}
	var f struct {
		ClassUID    int  `json:"class_uid"`
		TypeUID     int  `json:"type_uid"`
		RiskScore   int  `json:"risk_score"`
		RiskLevelID int  `json:"risk_level_id"`
		IsAlert     bool `json:"is_alert"`
		FindingInfo struct {
			UID   string `json:"uid"`
			Title string `json:"title"`
		} `json:"finding_info"`
		Observables []struct {
			Name   string `json:"name"`
			TypeID int    `json:"type_id"`
			Value  string `json:"value"`
		} `json:"observables"`
		OSINT []struct {
			TypeID int    `json:"type_id"`
			Value  string `json:"value"`
			TLP    string `json:"tlp"`
		} `json:"osint"`
		Enrichments []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"enrichments"`
		Unmapped struct {
			OriginalEvent json.RawMessage `json:"original_event"`
		} `json:"unmapped"`
	}
	if err := json.Unmarshal(res.Out, &f); err != nil {
		t.Fatal(err)
	}
	if f.ClassUID != 2004 || f.TypeUID != 200401 || f.RiskScore != res.Priority || f.RiskLevelID != 4 || !f.IsAlert {
		t.Errorf("finding header: %s", res.Out)
	}
	if len(f.Observables) != 3 || f.Observables[0].Name != "destination.address" && f.Observables[0].Name != "destination.ip" ||
		f.Observables[0].TypeID != 2 || len(f.OSINT) != 1 || f.OSINT[0].TypeID != 1 || f.OSINT[0].TLP != "CLEAR" ||
		len(f.Enrichments) != 3 || f.Enrichments[0].Type != "threat_intel" {
		t.Errorf("observables %+v osint %+v enrichments %+v", f.Observables, f.OSINT, f.Enrichments)
	}
	if !strings.HasPrefix(f.FindingInfo.UID, "omen-finding-") || string(f.Unmapped.OriginalEvent) != string(lines[3]) {
		t.Errorf("finding uid %q, original event kept: %v", f.FindingInfo.UID, string(f.Unmapped.OriginalEvent) == string(lines[3]))
	}
}
