package misp_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect/misp"
	"github.com/omen-tip/omen/internal/intel"
)

const (
	xoristFile    = "testdata/events/circl-osint-57c4445b-c548-4654-af0b-4be3950d210f.json"
	sightingsFile = "testdata/events/event-with-sightings.json"
	objectsFile   = "testdata/events/pymisp-event-obj-attr-tag.json"
)

var defaults = misp.Defaults{Confidence: 60, TLP: intel.TLPAmber}

func parseFile(t testing.TB, path string) *misp.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e, err := misp.ParseEvent(f)
	if err != nil {
		t.Fatalf("ParseEvent(%s): %v", path, err)
	}
	return e
}

func refs(rs []intel.Report) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Observable.String())
	}
	return out
}

// TestEventSamples pins what each genuine event gives: reports, skips, entities, relationships.
func TestEventSamples(t *testing.T) {
	tests := []struct {
		file                  string
		uuid                  string
		stats                 misp.Stats
		reports               []string
		entities, rels        int
		tlp                   intel.TLP
		threatType, malware   string
		first, last           string // RFC 3339 of the first report
		tagsHave, tagsHaveNot string
	}{
		{
			// Xorist: 9 attributes, 5 to_ids; the filename and the regkey|value are not observables.
			file: xoristFile, uuid: "57c4445b-c548-4654-af0b-4be3950d210f",
			stats: misp.Stats{Attributes: 9, NotIDs: 4, Skipped: 2, Reports: 3},
			reports: []string{"md5:0749bae92ca336a02c83d126e04ec628", "sha1:77b0c41b7d340b8a3d903f21347bbf06aa766b5b",
				"sha256:b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"},
			entities: 1, rels: 3, tlp: intel.TLPClear, threatType: "payload-delivery",
			first: "2016-08-29T14:19:55Z", last: "2016-08-29T14:19:55Z", // the md5's timestamp
			tagsHave: `circl:incident-classification="malware"`, tagsHaveNot: "tlp:white",
		},
		{
			// Ursnif: 4 domains and a URL, and the banker galaxy's Gozi cluster (array and tag).
			file: sightingsFile, uuid: "5b646415-7b48-40d5-86b4-c0070acd0835",
			stats: misp.Stats{Attributes: 5, Reports: 5},
			reports: []string{"domain:ooiasjdnqjwbeasdasd.com", "domain:eqowiesajenqweasd.com", "domain:dquohwdihaewqdcas.com",
				"domain:diqjwhebseqhbasdh.com", "url:http://sistemait.it/softaculous/backup/client.rar"},
			// report entity + Gozi; 5 related-to, 5 indicates, report → Gozi.
			entities: 2, rels: 11, tlp: intel.TLPAmber, threatType: "network-activity", malware: "Gozi",
			first: "2018-08-03T14:20:58Z", last: "2018-08-03T14:20:58Z",
			tagsHave: "PasteBin: MALWAREMESSIAGH", tagsHaveNot: `misp-galaxy:banker="Gozi"`,
		},
		{
			// PyMISP's bare event with two objects: a filename (skipped) and a URL; no UUID, no report entity.
			file: objectsFile, stats: misp.Stats{Attributes: 2, Skipped: 1, Reports: 1},
			reports: []string{"url:https://www.circl.lu/"}, entities: 0, rels: 0, tlp: intel.TLPAmber,
			threatType: "network-activity",
		},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			e := parseFile(t, tc.file)
			if e.UUID != tc.uuid {
				t.Errorf("UUID = %q, want %q", e.UUID, tc.uuid)
			}
			if got := e.Stats(); got != tc.stats {
				t.Errorf("Stats = %+v, want %+v", got, tc.stats)
			}
			rs, rejects := e.Reports("circl", defaults)
			if len(rejects) != 0 {
				t.Errorf("rejects: %v", rejects)
			}
			if got := refs(rs); !slices.Equal(got, tc.reports) {
				t.Errorf("reports = %v, want %v", got, tc.reports)
			}
			for _, r := range rs {
				if r.Source != "circl" || r.TLP != tc.tlp || r.Malware != tc.malware || r.Confidence != 60 {
					t.Errorf("report %s = %+v", r.Observable, r)
				}
				if (tc.first != "" && r.LastSeen.IsZero()) || r.FirstSeen.After(r.LastSeen) {
					t.Errorf("report %s: first %v last %v", r.Observable, r.FirstSeen, r.LastSeen)
				}
			}
			if rs[0].ThreatType != tc.threatType {
				t.Errorf("ThreatType = %q, want %q", rs[0].ThreatType, tc.threatType)
			}
			if tc.first != "" {
				if got := rs[0].FirstSeen.Format(time.RFC3339); got != tc.first {
					t.Errorf("FirstSeen = %s, want %s", got, tc.first)
				}
				if got := rs[0].LastSeen.Format(time.RFC3339); got != tc.last {
					t.Errorf("LastSeen = %s, want %s", got, tc.last)
				}
			}
			if tc.tagsHave != "" && !slices.Contains(rs[0].Tags, tc.tagsHave) {
				t.Errorf("tags %q lack %q", rs[0].Tags, tc.tagsHave)
			}
			if tc.tagsHaveNot != "" && slices.Contains(rs[0].Tags, tc.tagsHaveNot) {
				t.Errorf("tags %q hold %q", rs[0].Tags, tc.tagsHaveNot)
			}
			ents, rels := e.Entities("circl", defaults)
			if len(ents) != tc.entities || len(rels) != tc.rels {
				t.Errorf("Entities: %d entities, %d relationships; want %d, %d", len(ents), len(rels), tc.entities, tc.rels)
			}
			for _, r := range rels {
				if r.ID == "" || r.Source != "circl" || r.SourceRef == "" || r.TargetRef == "" {
					t.Errorf("relationship %+v", r)
				}
			}
		})
	}
}

func TestEventEntities(t *testing.T) {
	e := parseFile(t, sightingsFile)
	ents, rels := e.Entities("circl", defaults)
	rep, gozi := ents[0], ents[1]
	if rep.ID != "report--5b646415-7b48-40d5-86b4-c0070acd0835" || rep.Type != intel.ReportEntity || rep.Name != "Ursnif, MALWAREMESSIAGH" {
		t.Errorf("report entity = %+v", rep)
	}
	if rep.Created.Format(time.DateOnly) != "2018-08-01" || rep.Attributes["misp_orgc"] != "Synovus Financial" {
		t.Errorf("report entity = %+v", rep)
	}
	// The cluster's uuid is empty in this export: the ID comes from type and value.
	if gozi.ID != "x-misp-galaxy--banker--gozi" || gozi.Type != intel.Malware || gozi.Name != "Gozi" ||
		!slices.Contains(gozi.Aliases, "Ursnif") || !strings.HasPrefix(gozi.Description, "Banking trojan") {
		t.Errorf("cluster entity = %+v", gozi)
	}
	want := map[string]bool{
		"indicates domain:eqowiesajenqweasd.com x-misp-galaxy--banker--gozi":                          true,
		"related-to url:http://sistemait.it/softaculous/backup/client.rar " + rep.ID:                  true,
		"related-to " + rep.ID + " x-misp-galaxy--banker--gozi":                                       true,
		"indicates url:http://sistemait.it/softaculous/backup/client.rar x-misp-galaxy--banker--gozi": true,
	}
	for _, r := range rels {
		delete(want, r.Type+" "+r.SourceRef+" "+r.TargetRef)
	}
	if len(want) > 0 {
		t.Errorf("missing relationships %v", want)
	}
	// IDs are stable across parses.
	_, rels2 := parseFile(t, sightingsFile).Entities("circl", defaults)
	if rels[0].ID != rels2[0].ID {
		t.Errorf("relationship ID changed: %s, %s", rels[0].ID, rels2[0].ID)
	}
}

// TestMapping covers the attribute types and tags the samples do not hold, on small events.
func TestMapping(t *testing.T) {
	tests := []struct {
		name, attr string // one attribute's JSON
		evTags     string // the event's Tag array
		want       []string
		tags       []string // all of them in the first report's tags
		tlp        intel.TLP
		conf       int
		malware    string
		skipped    int
		rejected   int
	}{
		{name: "ip-dst", attr: `{"type":"ip-dst","value":"198.51.100.7","to_ids":"1"}`, want: []string{"ipv4:198.51.100.7"}},
		{name: "ip-src v6", attr: `{"type":"ip-src","value":"2001:DB8::1","to_ids":true}`, want: []string{"ipv6:2001:db8::1"}},
		{name: "ip-dst cidr", attr: `{"type":"ip-dst","value":"198.51.100.7/24","to_ids":true}`, want: []string{"cidr:198.51.100.0/24"}},
		{name: "ip-dst|port", attr: `{"type":"ip-dst|port","value":"198.51.100.7|8080","to_ids":true}`,
			want: []string{"ipv4:198.51.100.7"}, tags: []string{"port:8080"}},
		{name: "domain|ip", attr: `{"type":"domain|ip","value":"Evil.Example.com|203.0.113.9","to_ids":true}`,
			want: []string{"domain:evil.example.com", "ipv4:203.0.113.9"}},
		{name: "hostname defanged", attr: `{"type":"hostname","value":"a.evil[.]com","to_ids":true}`, want: []string{"domain:a.evil.com"}},
		{name: "uri path", attr: `{"type":"uri","value":"/gate.php","to_ids":true}`, skipped: 1},
		{name: "uri url", attr: `{"type":"uri","value":"http://evil.com/gate.php","to_ids":true}`, want: []string{"url:http://evil.com/gate.php"}},
		{name: "email-src", attr: `{"type":"email-src","value":"Bad@Evil.com","to_ids":true}`, want: []string{"email:bad@evil.com"}},
		{name: "filename|sha256", attr: `{"type":"filename|sha256","value":"x.exe|B3C4AE251F8094FA15B510051835C657EAEF2A6CEA46075D3AEC964B14A99F68","to_ids":true}`,
			want: []string{"sha256:b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"}, tags: []string{"filename:x.exe"}},
		{name: "AS", attr: `{"type":"AS","value":"64500","to_ids":true}`, want: []string{"asn:AS64500"}},
		{name: "vulnerability", attr: `{"type":"vulnerability","value":"cve-2021-44228","to_ids":true}`, want: []string{"cve:CVE-2021-44228"}},
		{name: "ja3", attr: `{"type":"ja3-fingerprint-md5","value":"E7D705A3286E19EA42F587B344EE6865","to_ids":true}`,
			want: []string{"ja3:e7d705a3286e19ea42f587b344ee6865"}},
		{name: "mutex", attr: `{"type":"mutex","value":"Global\\x","to_ids":true}`, skipped: 1},
		{name: "not to_ids", attr: `{"type":"ip-dst","value":"198.51.100.7","to_ids":false}`},
		{name: "bad md5", attr: `{"uuid":"u-1","type":"md5","value":"xyz","to_ids":true}`, rejected: 1},
		{name: "attribute TLP wins", attr: `{"type":"domain","value":"evil.com","to_ids":true,"Tag":[{"name":"tlp:red"}]}`,
			evTags: `[{"name":"tlp:green"}]`, want: []string{"domain:evil.com"}, tlp: intel.TLPRed},
		{name: "event TLP", attr: `{"type":"domain","value":"evil.com","to_ids":true}`,
			evTags: `[{"name":"TLP:GREEN"}]`, want: []string{"domain:evil.com"}, tlp: intel.TLPGreen},
		{name: "admiralty", attr: `{"type":"domain","value":"evil.com","to_ids":true}`,
			evTags: `[{"name":"admiralty-scale:information-credibility=\"2\""}]`, want: []string{"domain:evil.com"}, conf: 75},
		{name: "estimative", attr: `{"type":"domain","value":"evil.com","to_ids":true,"Tag":[{"name":"estimative-language:likelihood-probability=\"very-unlikely\""}]}`,
			evTags: `[{"name":"admiralty-scale:information-credibility=\"2\""}]`, want: []string{"domain:evil.com"}, conf: 15},
		{name: "malware tag", attr: `{"type":"domain","value":"evil.com","to_ids":true}`,
			evTags: `[{"name":"misp-galaxy:ransomware=\"Xorist\""},{"name":"misp-galaxy:threat-actor=\"APT28\""}]`,
			want:   []string{"domain:evil.com"}, malware: "Xorist"},
		{name: "two malware", attr: `{"type":"domain","value":"evil.com","to_ids":true}`,
			evTags: `[{"name":"misp-galaxy:ransomware=\"Xorist\""},{"name":"misp-galaxy:malpedia=\"Emotet\""}]`,
			want:   []string{"domain:evil.com"}},
		{name: "attack malware", attr: `{"type":"domain","value":"evil.com","to_ids":true}`,
			evTags: `[{"name":"misp-galaxy:mitre-malware=\"BlackEnergy - S0089\""}]`, want: []string{"domain:evil.com"}, malware: "BlackEnergy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.evTags == "" {
				tc.evTags = "[]"
			}
			in := `{"Event":{"uuid":"11111111-2222-3333-4444-555555555555","date":"2024-01-02","timestamp":1704200000,"Tag":` +
				tc.evTags + `,"Attribute":[` + tc.attr + `]}}`
			e, err := misp.ParseEvent(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			rs, rejects := e.Reports("s", misp.Defaults{Confidence: 40, TLP: intel.TLPAmber})
			if got := refs(rs); !slices.Equal(got, tc.want) {
				t.Errorf("reports = %v, want %v", got, tc.want)
			}
			st := e.Stats()
			if st.Skipped != tc.skipped || st.Rejected != tc.rejected || len(rejects) != tc.rejected {
				t.Errorf("stats = %+v, rejects %v", st, rejects)
			}
			if tc.rejected > 0 && (rejects[0].UUID != "u-1" || !strings.Contains(rejects[0].Error(), "u-1")) {
				t.Errorf("reject = %v", rejects[0])
			}
			if len(rs) == 0 {
				return
			}
			r := rs[0]
			wantTLP, wantConf := intel.TLPAmber, 40
			if tc.tlp != 0 {
				wantTLP = tc.tlp
			}
			if tc.conf != 0 {
				wantConf = tc.conf
			}
			if r.TLP != wantTLP || r.Confidence != wantConf || r.Malware != tc.malware {
				t.Errorf("report = %+v; want TLP %v, confidence %d, malware %q", r, wantTLP, wantConf, tc.malware)
			}
			for _, tag := range tc.tags {
				if !slices.Contains(r.Tags, tag) {
					t.Errorf("tags %q lack %q", r.Tags, tag)
				}
			}
			if r.FirstSeen.Format(time.DateOnly) != "2024-01-02" || r.LastSeen.Unix() != 1704200000 {
				t.Errorf("dates %v %v", r.FirstSeen, r.LastSeen)
			}
		})
	}
}

func TestAttackEntities(t *testing.T) {
	in := `{"Event":{"uuid":"11111111-2222-3333-4444-555555555555","info":"x","Tag":[{"name":"misp-galaxy:mitre-attack-pattern=\"Command and Scripting Interpreter - T1059\""},
	{"name":"misp-galaxy:sector=\"Finance\""}],
	"Galaxy":[{"type":"threat-actor","GalaxyCluster":[{"uuid":"5b4ee3ea-eee3-4c8e-8323-85ae32658754","type":"threat-actor","value":"Sofacy","description":"d","meta":{"synonyms":["APT28"]}}]}],
	"Attribute":[{"type":"ip-dst","value":"198.51.100.7","to_ids":true,"Tag":[{"name":"misp-galaxy:mitre-intrusion-set=\"APT29 - G0016\""}]}]}}`
	e, err := misp.ParseEvent(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	ents, rels := e.Entities("s", defaults)
	byID := map[string]intel.Entity{}
	for _, en := range ents {
		byID[en.ID] = en
	}
	checks := []struct {
		id  string
		typ intel.EntityType
	}{
		{"report--11111111-2222-3333-4444-555555555555", intel.ReportEntity},
		{"x-misp-galaxy--threat-actor--sofacy", intel.ThreatActor},
		{"x-misp-galaxy--mitre-attack-pattern--command and scripting interpreter - t1059", intel.AttackPattern},
		{"x-misp-galaxy--sector--finance", "x-misp-galaxy-sector"},
		{"x-misp-galaxy--mitre-intrusion-set--apt29 - g0016", intel.IntrusionSet},
	}
	for _, c := range checks {
		if en, ok := byID[c.id]; !ok || en.Type != c.typ {
			t.Errorf("entity %s = %+v, want type %s", c.id, en, c.typ)
		}
	}
	if len(ents) != len(checks) {
		t.Errorf("%d entities, want %d", len(ents), len(checks))
	}
	if a := byID["x-misp-galaxy--mitre-attack-pattern--command and scripting interpreter - t1059"].Attributes["attack_id"]; a != "T1059" {
		t.Errorf("attack_id = %v", a)
	}
	if s := byID["x-misp-galaxy--threat-actor--sofacy"]; s.Attributes["misp_uuid"] != "5b4ee3ea-eee3-4c8e-8323-85ae32658754" || !slices.Contains(s.Aliases, "APT28") {
		t.Errorf("Sofacy = %+v", s)
	}
	// The IP indicates the three event clusters and its own attribute's intrusion set, and is
	// related to the report; the report is related to the four clusters.
	n := map[string]int{}
	for _, r := range rels {
		n[r.Type+" "+strings.SplitN(r.SourceRef, "--", 2)[0]]++
	}
	if n["indicates ipv4:198.51.100.7"] != 4 || n["related-to ipv4:198.51.100.7"] != 1 || n["related-to report"] != 4 || len(rels) != 9 {
		t.Errorf("relationships: %v (%d)", n, len(rels))
	}
}

func TestParseManifest(t *testing.T) {
	in := `{"57c4445b-c548-4654-af0b-4be3950d210f": {"Orgc":{"name":"CIRCL","uuid":"55f6ea5e-2c60-40e5-964f-47a8950d210f"},
	"Tag":[{"name":"tlp:white","colour":"#ffffff"}],"info":"Ransomware - Xorist","date":"2016-08-29","analysis":"2",
	"threat_level_id":3,"timestamp":"1472541011"}}`
	m, err := misp.ParseManifest(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	en := m["57c4445b-c548-4654-af0b-4be3950d210f"]
	if len(m) != 1 || en.Timestamp != 1472541011 || en.Analysis != 2 || en.ThreatLevelID != 3 || en.Orgc.Name != "CIRCL" ||
		en.Info != "Ransomware - Xorist" || len(en.Tag) != 1 || en.Tag[0].Name != "tlp:white" {
		t.Errorf("manifest = %+v", m)
	}
	if m, err := misp.ParseManifest(strings.NewReader("{}")); err != nil || len(m) != 0 {
		t.Errorf("empty manifest: %v, %v", m, err)
	}
}

func TestParseBad(t *testing.T) {
	for _, in := range []string{"", "{", "null", "[]", "<html><body>Not found</body></html>", `{"a":1}`,
		`{"Event":{"timestamp":"soon"}}`, `{"Event":{"Attribute":[{"to_ids":"maybe"}]}}`, `{"Event":{}} {}`, `{"Event":null}`} {
		if _, err := misp.ParseEvent(strings.NewReader(in)); err == nil {
			t.Errorf("ParseEvent(%q): no error", in)
		}
	}
	for _, in := range []string{"", "{", "null", "[]", "<!DOCTYPE html><html></html>", `{"Event":{"uuid":"x"}}`,
		`{"57c4445b-c548-4654-af0b-4be3950d210f":{"timestamp":"x"}}`, `{"../../etc/passwd":{}}`} {
		if _, err := misp.ParseManifest(strings.NewReader(in)); err == nil {
			t.Errorf("ParseManifest(%q): no error", in)
		}
	}
}
