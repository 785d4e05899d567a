package stix_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/omen-tip/omen/internal/collect/attack"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
)

const (
	indID  = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	malID  = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
	relID  = "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"
	actID  = "threat-actor--56f3f0db-b5d5-431c-ae56-c18f02caf500"
	sigID  = "sighting--ee20065d-2555-424f-ad9e-0f8fd34e0f87"
	idtyID = "identity--311b2d2d-f010-4473-83ec-1edf84858f4c"
	custID = "x-acme-widget--f1bd3f6c-2d1a-4a4d-8c7b-3a3f0e4f1c11"
)

func bundle(objs ...string) []byte {
	return []byte(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + strings.Join(objs, ",") + `]}`)
}

func indicator(modified, pattern string, extra string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-01T00:00:00.000Z","modified":%q,
		"name":"C2","indicator_types":["malicious-activity","c2"],"pattern":%q,"pattern_type":"stix",
		"valid_from":"2026-01-01T00:00:00Z","confidence":85%s}`, indID, modified, pattern, extra)
}

func malware(modified, name, extra string) string {
	return fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":%q,"created":"2025-01-01T00:00:00.000Z","modified":%q,
		"name":%q,"is_family":true%s}`, malID, modified, name, extra)
}

const indicates = `{"type":"relationship","spec_version":"2.1","id":"` + relID + `","created":"2026-01-01T00:00:00.000Z",
	"modified":"2026-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"` + indID + `","target_ref":"` + malID + `"}`

func lookupOne(t *testing.T, e *env, v string, clearance intel.TLP) lookup.Result {
	t.Helper()
	res, err := e.svc.Lookup(context.Background(), []string{v}, clearance)
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func hasEntity(ms []lookup.Match, name string) bool {
	for _, m := range ms {
		for _, en := range m.Indicator.Entities {
			if en.Name == name {
				return true
			}
		}
	}
	return false
}

// An indicator's relationships are followed from its observables, whichever comes first.
func TestImportLinksObservablesToEntities(t *testing.T) {
	e := newEnv(t)
	c := e.importBytes(t, bundle(indicates, malware("2025-01-01T00:00:00.000Z", "Emotet", ""),
		indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.7' OR domain-name:value = 'badhost-c2.net']", "")), stix.Options{})
	if c.Reducible != 1 || c.Observables != 2 || c.Linked != 2 || c.Entities != 1 || c.Relationships != 1 {
		t.Fatalf("counts %+v", c)
	}
	for _, v := range []string{"203.0.113.7", "badhost-c2.net"} {
		r := lookupOne(t, e, v, intel.TLPRed)
		if len(r.Matches) != 1 || !hasEntity(r.Matches, "Emotet") {
			t.Errorf("lookup %s: want a match linked to Emotet, got %+v", v, r)
		}
		src := r.Matches[0].Indicator.Sources[0]
		if src.Confidence != 85 || src.ThreatType != "c2" {
			t.Errorf("lookup %s: source %+v, want confidence 85 and threat type c2", v, src)
		}
	}
	// A relationship arriving in a later import is linked too.
	e2 := newEnv(t)
	e2.importBytes(t, bundle(indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.7']", ""), malware("2025-01-01T00:00:00.000Z", "Emotet", "")), stix.Options{})
	e2.importBytes(t, bundle(indicates), stix.Options{})
	if r := lookupOne(t, e2, "203.0.113.7", intel.TLPRed); !hasEntity(r.Matches, "Emotet") {
		t.Errorf("relationship imported after its indicator: not linked: %+v", r)
	}
	// And before it: the indicator's import links the stored relationship, as does a new version
	// of the indicator with a new pattern.
	e3 := newEnv(t)
	e3.importBytes(t, bundle(malware("2025-01-01T00:00:00.000Z", "Emotet", ""), indicates), stix.Options{})
	e3.importBytes(t, bundle(indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.7']", "")), stix.Options{})
	e3.importBytes(t, bundle(indicator("2026-02-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.8']", "")), stix.Options{})
	for _, v := range []string{"203.0.113.7", "203.0.113.8"} {
		if r := lookupOne(t, e3, v, intel.TLPRed); !hasEntity(r.Matches, "Emotet") {
			t.Errorf("%s: relationship imported before its indicator: not linked: %+v", v, r)
		}
	}
}

// A pattern value that is no observable is left out and said so; the pattern's other values count.
func TestImportInvalidPatternValue(t *testing.T) {
	e := newEnv(t)
	// As in the OASIS poisonivy.json example: a domain with a space in it.
	c := e.importBytes(t, bundle(indicator("2026-01-01T00:00:00.000Z",
		"[domain-name:value = 'domain autuo.xicp.net' OR ipv4-addr:value = '60.10.1.115']", "")), stix.Options{})
	if c.Reducible != 1 || c.Observables != 1 || c.InvalidValues != 1 || c.Rejected != 0 ||
		len(c.Errors) != 1 || !strings.Contains(c.Errors[0], "autuo.xicp.net") {
		t.Fatalf("counts %+v", c)
	}
}

// An older version never overwrites a newer one; the older version is still kept verbatim.
func TestImportVersions(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	e.importBytes(t, bundle(malware("2026-02-01T00:00:00.000Z", "Emotet v2", "")), stix.Options{})
	c := e.importBytes(t, bundle(malware("2026-01-01T00:00:00.000Z", "Emotet v1", "")), stix.Options{})
	if c.Outdated != 1 || c.Stored != 1 {
		t.Errorf("counts %+v, want 1 outdated and 1 stored", c)
	}
	en, err := e.st.Entity(ctx, malID)
	if err != nil || en.Name != "Emotet v2" {
		t.Errorf("entity %+v %v: the older version overwrote the newer", en, err)
	}
	// Both versions in one bundle, newer first: the newer one wins.
	e2 := newEnv(t)
	e2.importBytes(t, bundle(malware("2026-02-01T00:00:00.000Z", "new", ""), malware("2026-01-01T00:00:00.000Z", "old", "")), stix.Options{})
	if en, _ := e2.st.Entity(ctx, malID); en.Name != "new" {
		t.Errorf("entity name %q, want new", en.Name)
	}
	// The same version again is unchanged.
	c = e2.importBytes(t, bundle(malware("2026-02-01T00:00:00.000Z", "new", "")), stix.Options{})
	if c.Unchanged != 1 || c.Stored != 0 {
		t.Errorf("re-import counts %+v, want 1 unchanged", c)
	}
	// An older indicator version does not bring back its old confidence.
	e3 := newEnv(t)
	e3.importBytes(t, bundle(indicator("2026-03-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.9']", "")), stix.Options{})
	old := strings.Replace(indicator("2026-02-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.9']", ""), `"confidence":85`, `"confidence":10`, 1)
	e3.importBytes(t, bundle(old), stix.Options{})
	if r := lookupOne(t, e3, "203.0.113.9", intel.TLPRed); r.Matches[0].Indicator.Sources[0].Confidence != 85 {
		t.Errorf("older indicator version applied: %+v", r.Matches[0].Indicator.Sources[0])
	}
}

// Revoked indicators stop matching; revoked entities are flagged.
func TestImportRevoked(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	e.importBytes(t, bundle(indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.7']", ""), malware("2025-01-01T00:00:00.000Z", "Emotet", "")), stix.Options{})
	if r := lookupOne(t, e, "203.0.113.7", intel.TLPRed); len(r.Matches) != 1 {
		t.Fatalf("before revocation: %+v", r)
	}
	// The revoked version carries no pattern: the one held is used.
	revoked := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-01T00:00:00.000Z","modified":"2026-03-01T00:00:00.000Z","revoked":true}`, indID)
	c := e.importBytes(t, bundle(revoked, malware("2026-03-01T00:00:00.000Z", "Emotet", `,"revoked":true`)), stix.Options{})
	if c.Revoked != 2 || c.Rejected != 0 {
		t.Fatalf("counts %+v", c)
	}
	r := lookupOne(t, e, "203.0.113.7", intel.TLPRed)
	if len(r.Matches) != 0 || len(r.Expired) != 1 {
		t.Errorf("after revocation: want only an expired match, got %+v", r)
	}
	en, err := e.st.Entity(ctx, malID)
	if err != nil || en.Attributes["revoked"] != true {
		t.Errorf("revoked malware: %+v %v", en, err)
	}
}

// Markings set the TLP; unmarked objects take the import's.
func TestImportMarkings(t *testing.T) {
	e := newEnv(t)
	red := `,"object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]`
	other := strings.ReplaceAll(indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.8']", ""), indID, "indicator--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061")
	// A TLP 1.0 marking defined in the bundle under an id of its own.
	own := `{"type":"marking-definition","id":"marking-definition--2f1a8a6e-4b3c-4d5e-8f90-1a2b3c4d5e6f","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"amber"}}`
	third := strings.ReplaceAll(indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.10']", `,"object_marking_refs":["marking-definition--2f1a8a6e-4b3c-4d5e-8f90-1a2b3c4d5e6f"]`), indID, "indicator--1c7b5b88-8ff7-4a4d-aa9d-feb398cd0061")
	e.importBytes(t, bundle(indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.7']", red), other, own, third), stix.Options{TLP: intel.TLPGreen})
	for _, tc := range []struct {
		v         string
		clearance intel.TLP
		visible   bool
	}{
		{"203.0.113.7", intel.TLPAmber, false},
		{"203.0.113.7", intel.TLPRed, true},
		{"203.0.113.8", intel.TLPGreen, true},
		{"203.0.113.8", intel.TLPClear, false},
		{"203.0.113.10", intel.TLPGreen, false},
		{"203.0.113.10", intel.TLPAmber, true},
	} {
		if r := lookupOne(t, e, tc.v, tc.clearance); (len(r.Matches) == 1) != tc.visible {
			t.Errorf("lookup %s with clearance %s: visible %v, want %v", tc.v, tc.clearance, len(r.Matches) == 1, tc.visible)
		}
	}
	page, err := e.st.STIXObjects(t.Context(), store.STIXQuery{Collection: store.STIXPool, IDs: []string{indID}, MaxTLP: intel.TLPAmber})
	if err != nil || len(page.Objects) != 0 {
		t.Errorf("the TLP:RED object is visible at amber: %+v %v", page.Objects, err)
	}
}

// Custom objects and properties are kept; SDO-like ones become entities; sightings become
// "sighted" relationships; pattern-only indicators become entities.
func TestImportCustomSightingsPatternOnly(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t)
	custom := `{"type":"x-acme-widget","spec_version":"2.1","id":"` + custID + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"widget","x_acme_colour":"blue"}`
	sighting := `{"type":"sighting","spec_version":"2.1","id":"` + sigID + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","sighting_of_ref":"` + indID + `","where_sighted_refs":["` + idtyID + `"]}`
	yara := indicator("2026-01-01T00:00:00.000Z", "rule x { condition: true }", "")
	yara = strings.Replace(yara, `"pattern_type":"stix"`, `"pattern_type":"yara"`, 1)
	c := e.importBytes(t, bundle(custom, sighting, yara), stix.Options{})
	if c.Custom != 1 || c.Sightings != 1 || c.PatternOnly != 1 || c.Entities != 2 {
		t.Fatalf("counts %+v", c)
	}
	en, err := e.st.Entity(ctx, custID)
	if err != nil || en.Type != "x-acme-widget" || en.Name != "widget" {
		t.Errorf("custom entity %+v %v", en, err)
	}
	if en, err := e.st.Entity(ctx, indID); err != nil || en.Type != stix.IndicatorEntity || en.Attributes["pattern_type"] != "yara" {
		t.Errorf("pattern-only indicator entity %+v %v", en, err)
	}
	rels, err := e.st.Relationships(ctx, indID)
	if err != nil || len(rels) != 1 || rels[0].Type != "sighted" || rels[0].SourceRef != idtyID {
		t.Errorf("sighting relationships %+v %v", rels, err)
	}
	page, err := e.st.STIXObjects(ctx, store.STIXQuery{Collection: store.STIXPool, IDs: []string{custID}, MaxTLP: intel.TLPRed})
	if err != nil || len(page.Objects) != 1 || !strings.Contains(string(page.Objects[0].Raw), `"x_acme_colour":"blue"`) {
		t.Errorf("custom object not kept verbatim: %+v %v", page.Objects, err)
	}
}

// STIX 2.0 objects (no spec_version) are stored as 2.0; ATT&CK attributes come through.
func TestImportSpecVersionAndATTACK(t *testing.T) {
	ctx := t.Context()
	for _, dir := range []string{"enterprise-subset-stix20", "enterprise-subset-stix21-derived"} {
		e := newEnv(t)
		e.importFile(t, attackData+"/"+dir+"/techniques.json", stix.Options{})
		page, err := e.st.STIXObjects(ctx, store.STIXQuery{Collection: store.STIXPool, Types: []string{"attack-pattern"}, MaxTLP: intel.TLPRed})
		if err != nil || len(page.Objects) == 0 {
			t.Fatalf("%s: %v", dir, err)
		}
		want := "2.1"
		if dir == "enterprise-subset-stix20" {
			want = "2.0"
		}
		for _, o := range page.Objects {
			if o.SpecVersion != want {
				t.Errorf("%s: %s has spec_version %s, want %s", dir, o.ID, o.SpecVersion, want)
			}
		}
		es, err := e.st.ListEntities(ctx, store.EntityFilter{Type: intel.AttackPattern})
		if err != nil || len(es) == 0 {
			t.Fatalf("%s: %v", dir, err)
		}
		n := 0
		for _, en := range es {
			if id, _ := en.Attributes["attack_id"].(string); strings.HasPrefix(id, "T") {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no technique has its ATT&CK id", dir)
		}
	}
}

// Broken objects are rejected with their position and id; the rest is imported.
func TestImportBroken(t *testing.T) {
	good := indicator("2026-01-01T00:00:00.000Z", "[ipv4-addr:value = '203.0.113.7']", "")
	for _, tc := range []struct {
		name  string
		input []byte
		want  []string // in Counts.Errors
		good  int      // objects that must still be imported
	}{
		{"missing id", bundle(`{"type":"malware","created":"2026-01-01T00:00:00Z","name":"x"}`, good), []string{"object 0: missing id"}, 1},
		{"missing type", bundle(`{"id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"}`, good), []string{"object 0 (malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b): missing type"}, 1},
		{"bad timestamp", bundle(good, malware("yesterday", "x", "")), []string{"object 1 (" + malID + "): invalid modified timestamp \"yesterday\""}, 1},
		{"wrong property type", bundle(good, strings.Replace(malware("2026-01-01T00:00:00Z", "x", ""), `"is_family":true`, `"is_family":"yes"`, 1)), []string{"object 1: decoding: property is_family"}, 1},
		{"id of another type", bundle(good, strings.Replace(malware("2026-01-01T00:00:00Z", "x", ""), `"id":"malware--`, `"id":"tool--`, 1)), []string{`object 1 (tool--31b940d4-6f7f-459a-80ea-9c1f17b5891b): id "tool--31b940d4-6f7f-459a-80ea-9c1f17b5891b" does not start with "malware--"`}, 1},
		{"not an object", bundle(good, `42`), []string{"object 1: decoding"}, 1},
		{"truncated", truncate(bundle(good, malware("2026-01-01T00:00:00Z", "x", "")), 60), []string{"object 1: reading the input"}, 1},
		{"indicator without pattern", bundle(strings.Replace(good, `"pattern":`, `"x_pattern":`, 1), malware("2026-01-01T00:00:00Z", "x", "")), []string{"object 0 (" + indID + "): indicator without a pattern"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c, err := e.im.Bundle(t.Context(), strings.NewReader(string(tc.input)), stix.Options{Source: "test"})
			if err != nil {
				t.Fatalf("Bundle: %v", err)
			}
			if c.Rejected != len(tc.want) || c.Stored != tc.good {
				t.Errorf("counts %+v, want %d rejected and %d stored", c, len(tc.want), tc.good)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(c.Errors, func(s string) bool { return strings.HasPrefix(s, w) }) {
					t.Errorf("errors %q: none starts with %q", c.Errors, w)
				}
			}
		})
	}
	for _, bad := range []string{"", "not json", "[1,2]", `{"foo":1}`, `{"objects":5}`} {
		e := newEnv(t)
		if _, err := e.im.Bundle(t.Context(), strings.NewReader(bad), stix.Options{Source: "test"}); err == nil {
			t.Errorf("Bundle(%q): no error", bad)
		}
	}
}

// truncate cuts n bytes off the end of b.
func truncate(b []byte, n int) []byte { return b[:len(b)-n] }

// Members after the objects array, and a second objects array, are read too.
func TestImportMembersAfterObjects(t *testing.T) {
	e := newEnv(t)
	in := `{"objects":[` + malware("2026-01-01T00:00:00.000Z", "one", "") + `] , "spec_version":"2.0", "objects":[` +
		strings.ReplaceAll(malware("2026-01-01T00:00:00.000Z", "two", ""), malID, "malware--41b940d4-6f7f-459a-80ea-9c1f17b5891b") + `], "id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","type":"bundle"}`
	c := e.importBytes(t, []byte(in), stix.Options{})
	if c.Stored != 2 || c.Rejected != 0 {
		t.Errorf("counts %+v, want 2 stored", c)
	}
}

// The ATT&CK subsets give the entities internal/collect/attack makes of them, with the same
// attributes, and keep what it skips (revoked, deprecated) flagged or verbatim.
func TestImportMatchesATTACKCollector(t *testing.T) {
	ctx := t.Context()
	for _, dir := range []string{"enterprise-subset-stix20", "enterprise-subset-stix21-derived"} {
		e := newEnv(t)
		files, _ := filepath.Glob(attackData + "/" + dir + "/*.json")
		for _, f := range files {
			e.importFile(t, f, stix.Options{})
			r, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			es, rels, _, err := attack.Parse(r, "test")
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range es {
				got, err := e.st.Entity(ctx, want.ID)
				if err != nil {
					t.Errorf("%s: %s: %v", f, want.ID, err)
					continue
				}
				if got.Name != want.Name || got.Type != want.Type || !reflect.DeepEqual(got.Aliases, want.Aliases) {
					t.Errorf("%s: %s: got %s %q %v, attack has %s %q %v", f, want.ID, got.Type, got.Name, got.Aliases, want.Type, want.Name, want.Aliases)
				}
				for k, v := range want.Attributes {
					if !jsonEqual(got.Attributes[k], v) {
						t.Errorf("%s: %s: attribute %s = %v, attack has %v", f, want.ID, k, got.Attributes[k], v)
					}
				}
			}
			for _, want := range rels {
				got, err := e.st.Relationships(ctx, want.SourceRef)
				if err != nil || !slices.ContainsFunc(got, func(r intel.Relationship) bool { return r.ID == want.ID && r.TargetRef == want.TargetRef }) {
					t.Errorf("%s: relationship %s missing: %v", f, want.ID, err)
				}
			}
		}
	}
}
