package stix_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/stix/pattern"
	"github.com/omen-tip/omen/internal/store"
)

// The test vectors of formats.md 1.3 (checked against python-stix2).
func TestSCOIDVectors(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		props map[string]any
		want  string
	}{
		{"domain-name", map[string]any{"value": "mitre.org"}, "domain-name--5b5803bf-a7eb-5076-b799-96aa574c44eb"},
		{"ipv4-addr", map[string]any{"value": "198.51.100.3"}, "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
		{"domain-name", map[string]any{"value": "example.com"}, "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
		{"url", map[string]any{"value": "https://example.com/research/index.html"}, "url--47c3cf9a-5027-5bf0-997a-017c7edc7c55"},
		{"file", map[string]any{"hashes": map[string]any{"SHA-256": "841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649"}}, "file--4c4d56c1-a5a7-5016-95ab-7785fdfb7641"},
		// Only one hash counts, MD5 first: adding a SHA-256 to an MD5 does not change the id.
		{"file", map[string]any{"hashes": map[string]any{"SHA-256": "841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649"}, "size": 5}, "file--4c4d56c1-a5a7-5016-95ab-7785fdfb7641"},
	} {
		got, ok := stix.SCOID(tc.typ, tc.props)
		if !ok || got != tc.want {
			t.Errorf("SCOID(%s, %v) = %s, %v; want %s", tc.typ, tc.props, got, ok, tc.want)
		}
	}
	a, _ := stix.SCOID("file", map[string]any{"hashes": map[string]any{"MD5": "d41d8cd98f00b204e9800998ecf8427e"}})
	b, _ := stix.SCOID("file", map[string]any{"hashes": map[string]any{"MD5": "d41d8cd98f00b204e9800998ecf8427e", "SHA-256": "841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649"}})
	if a != b {
		t.Errorf("file ids differ with an extra SHA-256: %s %s", a, b)
	}
	if _, ok := stix.SCOID("process", map[string]any{"pid": 4}); ok {
		t.Error("process has no contributing property, want ok false")
	}
}

// schemaBase is the $id base of the schemas under testdata/schemas (see its SOURCES.md).
const schemaBase = "https://raw.githubusercontent.com/707eric/cti-stix2-json-schemas/refs/heads/master/schemas/"

// validators compiles the STIX 2.1 schemas, by object type; "core" and "sco" are the fallbacks.
// Every file under sdos/, sros/ and observables/ is the schema of the type it is named after, so
// that a schema added to testdata/schemas validates its type with no change here.
func validators(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	paths := map[string]string{"core": "common/core.json", "sco": "common/cyber-observable-core.json",
		"marking-definition": "common/marking-definition.json"}
	err := filepath.WalkDir("testdata/schemas", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel := strings.TrimPrefix(filepath.ToSlash(p), "testdata/schemas/")
		if dir, file := path.Split(rel); dir == "sdos/" || dir == "sros/" || dir == "observables/" {
			paths[strings.TrimSuffix(file, ".json")] = rel
		}
		return c.AddResource(schemaBase+rel, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for typ, rel := range paths {
		s, err := c.Compile(schemaBase + rel)
		if err != nil {
			t.Fatalf("compiling %s: %v", rel, err)
		}
		out[typ] = s
	}
	return out
}

// schemaFor returns the validator of an object of type typ and the name of its schema; ok is
// false when typ is a STIX type with no schema of its own in testdata/schemas (custom x- types
// are checked against the common core, as the specification has nothing more to say of them).
func schemaFor(vs map[string]*jsonschema.Schema, typ string) (v *jsonschema.Schema, name string, ok bool) {
	if v := vs[typ]; v != nil && typ != "core" && typ != "sco" {
		return v, typ, true
	}
	if scoTypes[typ] {
		return vs["sco"], "cyber-observable-core", false
	}
	return vs["core"], "core", strings.HasPrefix(typ, "x-")
}

// schemaReport lists where an object breaks its schema: one line per failed keyword, with the
// property (a JSON pointer into the object) and the schema's message.
func schemaReport(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return " " + err.Error()
	}
	var b strings.Builder
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			// A cause-less copy prints as "at '<property>': <message>".
			leaf := &jsonschema.ValidationError{InstanceLocation: e.InstanceLocation, ErrorKind: e.ErrorKind}
			fmt.Fprintf(&b, "\n\tproperty %s [%s]", strings.TrimPrefix(leaf.Error(), "at "), strings.Join(e.ErrorKind.KeywordPath(), "/"))
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return b.String()
}

var scoTypes = map[string]bool{"ipv4-addr": true, "ipv6-addr": true, "domain-name": true, "url": true, "email-addr": true,
	"file": true, "autonomous-system": true, "user-account": true}

// listReports are reports of every observable type, as a list source would write them.
var listReports = []intel.Report{
	{Observable: intel.Observable{Type: intel.IPv4, Value: "203.0.113.50"}, Confidence: 90, TLP: intel.TLPGreen, ThreatType: "c2", Tags: []string{"emotet", "botnet"}},
	{Observable: intel.Observable{Type: intel.CIDR, Value: "198.51.100.0/24"}, Confidence: 60, TLP: intel.TLPAmber, ThreatType: "scanner"},
	{Observable: intel.Observable{Type: intel.IPv6, Value: "2001:db8::1"}, Confidence: 50, TLP: intel.TLPClear},
	{Observable: intel.Observable{Type: intel.Domain, Value: "badhost-c2.net"}, Confidence: 80, TLP: intel.TLPGreen, ThreatType: "phishing"},
	{Observable: intel.Observable{Type: intel.URL, Value: "http://badhost-c2.net/it's\\here.php"}, Confidence: 75, TLP: intel.TLPGreen},
	{Observable: intel.Observable{Type: intel.Email, Value: "boss@badhost-c2.net"}, Confidence: 40, TLP: intel.TLPRed},
	{Observable: intel.Observable{Type: intel.MD5, Value: "d41d8cd98f00b204e9800998ecf8427e"}, Confidence: 70, TLP: intel.TLPAmberStrict},
	{Observable: intel.Observable{Type: intel.SHA1, Value: "da39a3ee5e6b4b0d3255bfef95601890afd80709"}, Confidence: 70, TLP: intel.TLPGreen},
	{Observable: intel.Observable{Type: intel.SHA256, Value: "841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649"}, Confidence: 70, TLP: intel.TLPGreen, ValidUntil: now.Add(48 * time.Hour)},
	{Observable: intel.Observable{Type: intel.SHA512, Value: strings.Repeat("ab", 64)}, Confidence: 70, TLP: intel.TLPGreen},
	{Observable: intel.Observable{Type: intel.ASN, Value: "AS64500"}, Confidence: 30, TLP: intel.TLPClear, ThreatType: "anonymizer"},
	{Observable: intel.Observable{Type: intel.Account, Value: "svc-backup"}, Confidence: 30, TLP: intel.TLPGreen},
}

// loaded is a store holding STIX fixtures and list reports of every type.
func loaded(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	e := newEnv(t)
	for _, f := range []string{"oasis-examples/indicators-for-C2-with-COA.json", "oasis-examples/indicator-to-campaign-relationship.json",
		"oasis-examples/infrastructure.json", "../" + attackData + "/enterprise-subset-stix21-derived/groups-software.json",
		"../" + attackData + "/enterprise-subset-stix21-derived/rel-software-uses-1.json", "python-stix2-expected/report--expected.json",
		"python-stix2-expected/location--expected-location-1.json", "python-stix2-expected/vulnerability--expected.json",
		"python-stix2-expected/grouping--expected-grouping.json", "python-stix2-expected/threat-actor--expected.json",
		"python-stix2-expected/sighting--expected-sighting.json", "python-stix2-expected/identity--expected.json",
		"oasis-examples/malicious-email-indicator-with-attachment.json"} {
		c := e.importFile(t, "testdata/"+f, stix.Options{TLP: intel.TLPGreen})
		if c.Rejected > 0 {
			t.Fatalf("%s: %v", f, c.Errors)
		}
	}
	if _, err := e.st.PutSource(ctx, intel.Source{Name: "list", Kind: "list", Reliability: 'C', Confidence: 50, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	ing, err := e.st.NewIngester(ctx, store.IngestOptions{Source: "list"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range listReports {
		r.FirstSeen, r.LastSeen = now.Add(-time.Hour), now
		if err := ing.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ing.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

func export(t *testing.T, e *env, sel stix.Selection, clearance intel.TLP) ([]byte, stix.ExportCounts) {
	t.Helper()
	var b bytes.Buffer
	c, err := stix.Export(t.Context(), e.st, sel, clearance, &b)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), c
}

var bundleID = regexp.MustCompile(`^bundle--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// checkBundle validates an exported bundle: the envelope, every object against its schema, every
// reference inside the bundle, patterns, and SCO ids.
func checkBundle(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	vs := validators(t)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var typ, id string
	json.Unmarshal(top["type"], &typ)
	json.Unmarshal(top["id"], &id)
	if typ != "bundle" || !bundleID.MatchString(id) || top["spec_version"] != nil || len(top) != 3 {
		t.Errorf("bundle envelope: type %q id %q keys %d", typ, id, len(top))
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(top["objects"], &raws); err != nil || len(raws) == 0 {
		t.Fatalf("objects: %v (%d)", err, len(raws))
	}
	ids := map[string]bool{}
	var objs []map[string]any
	for _, raw := range raws {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var o map[string]any
		json.Unmarshal(raw, &o)
		objs = append(objs, o)
		ot := str(o, "type")
		if ids[str(o, "id")] {
			t.Errorf("duplicate id %s", str(o, "id"))
		}
		ids[str(o, "id")] = true
		v, name, ok := schemaFor(vs, ot)
		if !ok {
			t.Errorf("%s: type %q has no STIX 2.1 schema in testdata/schemas (add it, see SOURCES.md); checked against %s only",
				str(o, "id"), ot, name)
		}
		if err := v.Validate(inst); err != nil {
			t.Errorf("%s (type %s) does not validate against the %s schema:%s\n%s", str(o, "id"), ot, name, schemaReport(err), raw)
		}
	}
	for _, o := range objs {
		for _, k := range []string{"created_by_ref", "source_ref", "target_ref"} {
			if r := str(o, k); r != "" && !ids[r] {
				t.Errorf("%s: %s %s is not in the bundle", str(o, "id"), k, r)
			}
		}
		if ms, ok := o["object_marking_refs"].([]any); ok {
			for _, m := range ms {
				if !ids[m.(string)] {
					t.Errorf("%s: marking %s is not in the bundle", str(o, "id"), m)
				}
			}
		}
		checkObject(t, o)
	}
	return objs
}

// checkObject checks what the schemas do not: patterns parse and SCO ids are deterministic.
func checkObject(t *testing.T, o map[string]any) {
	t.Helper()
	switch typ := str(o, "type"); {
	case typ == "indicator" && str(o, "pattern_type") == "stix" && str(o, "name") != "":
		p, err := pattern.Parse(str(o, "pattern"))
		if err != nil {
			t.Errorf("%s: pattern %q: %v", str(o, "id"), str(o, "pattern"), err)
			return
		}
		if _, ok := o["x_omen_attributes"]; ok {
			return // a pattern-only indicator from an import
		}
		red := p.Reduce()
		if !red.Reducible || len(red.Atoms) != 1 || red.Atoms[0].Observable.Value != str(o, "name") {
			t.Errorf("%s: pattern %q does not reduce to %s: %+v", str(o, "id"), str(o, "pattern"), str(o, "name"), red)
		}
	case scoTypes[typ]:
		props := map[string]any{}
		for k, v := range o {
			if k == "object_marking_refs" {
				continue
			}
			if k == "number" {
				v = int64(v.(float64))
			}
			props[k] = v
		}
		if id, _ := stix.SCOID(typ, props); id != str(o, "id") {
			t.Errorf("SCO %v: id is not the deterministic %s", o, id)
		}
		if typ == "file" {
			if h, ok := o["hashes"].(map[string]any); !ok || len(h) != 1 {
				t.Errorf("file SCO without one hash: %v", o)
			}
		}
	}
}

func TestExportValidates(t *testing.T) {
	e := loaded(t)
	b, c := export(t, e, stix.Selection{All: true}, intel.TLPRed)
	objs := checkBundle(t, b)
	// One test value is on a warninglist: withheld, as omen never exports known-benign infrastructure.
	if c.Indicators < len(listReports)+1 || c.Skipped != 0 || c.Withheld != 1 || c.Entities == 0 || c.Markings == 0 {
		t.Errorf("counts %+v", c)
	}
	n := map[string]int{}
	for _, o := range objs {
		n[str(o, "type")]++
	}
	for _, typ := range []string{"identity", "indicator", "malware", "campaign", "course-of-action", "attack-pattern",
		"intrusion-set", "tool", "report", "location", "vulnerability", "grouping", "threat-actor", "infrastructure",
		"relationship", "marking-definition", "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file",
		"autonomous-system", "user-account"} {
		if n[typ] == 0 {
			t.Errorf("no %s in the export (%v)", typ, n)
		}
	}
	// A selection: two observables and one entity.
	b, c = export(t, e, stix.Selection{Observables: []intel.Observable{listReports[0].Observable, listReports[3].Observable},
		EntityIDs: []string{"campaign--b549a58c-afd9-4847-85c3-5be13d56d3cc"}}, intel.TLPRed)
	checkBundle(t, b)
	if c.Indicators != 2 || c.Entities != 1 {
		t.Errorf("selection counts %+v", c)
	}
}

func TestExportClearance(t *testing.T) {
	e := loaded(t)
	b, _ := export(t, e, stix.Selection{All: true}, intel.TLPGreen)
	objs := checkBundle(t, b)
	allowed := map[string]bool{stix.TLPMarkingID(intel.TLPClear): true, stix.TLPMarkingID(intel.TLPGreen): true}
	for _, o := range objs {
		if ms, ok := o["object_marking_refs"].([]any); ok && !allowed[ms[0].(string)] {
			t.Errorf("%s is marked %s, above the clearance", str(o, "id"), ms[0])
		}
		if str(o, "name") == "boss@badhost-c2.net" || str(o, "name") == "198.51.100.0/24" {
			t.Errorf("%s (red or amber) exported at green", str(o, "name"))
		}
	}
}

// An export imported into a fresh store loses no indicator, entity or relationship.
func TestExportRoundTrip(t *testing.T) {
	ctx := t.Context()
	e := loaded(t)
	b, _ := export(t, e, stix.Selection{All: true}, intel.TLPRed)
	f := newEnv(t)
	c := f.importBytes(t, b, stix.Options{})
	if c.Rejected > 0 {
		t.Fatalf("re-import rejected %v", c.Errors)
	}
	// Indicators: every observable, with its TLP, confidence, threat type and tags.
	var orig []intel.Indicator
	e.st.ScanIndicators(ctx, func(in intel.Indicator) error {
		if len(in.Warninglists) == 0 { // warninglisted values are never exported
			orig = append(orig, in)
		}
		return nil
	})
	obs := make([]intel.Observable, len(orig))
	for i, in := range orig {
		obs[i] = in.Observable
	}
	back, err := f.st.Indicators(ctx, obs)
	if err != nil || len(back) != len(orig) {
		t.Fatalf("re-imported %d of %d indicators: %v", len(back), len(orig), err)
	}
	for i, in := range orig {
		r, want := back[i].Reports[0], in
		first, _, conf, _, _ := summary(want)
		if r.TLP != want.TLP() || r.Confidence != conf || !r.FirstSeen.Equal(first) {
			t.Errorf("%s: re-imported as %+v, want tlp %s confidence %d first seen %s", in.Observable, r, want.TLP(), conf, first)
		}
		for _, tag := range want.Tags() {
			if !strings.Contains(strings.Join(r.Tags, ","), tag) {
				t.Errorf("%s: tag %s lost: %v", in.Observable, tag, r.Tags)
			}
		}
		if tt := latestThreat(want); tt != "" && r.ThreatType != tt {
			t.Errorf("%s: threat type %q, want %q", in.Observable, r.ThreatType, tt)
		}
	}
	// Entities: same ids, types, names, aliases, descriptions; attributes kept.
	ents, _ := e.st.ListEntities(ctx, store.EntityFilter{})
	for _, en := range ents {
		got, err := f.st.Entity(ctx, en.ID)
		if err != nil {
			t.Errorf("entity %s lost: %v", en.ID, err)
			continue
		}
		if got.Type != en.Type || got.Name != en.Name || got.Description != en.Description || !reflect.DeepEqual(got.Aliases, en.Aliases) || got.TLP != en.TLP {
			t.Errorf("entity %s: got %+v, want %+v", en.ID, got, en)
		}
		for k, v := range en.Attributes {
			if !jsonEqual(got.Attributes[k], v) {
				t.Errorf("entity %s: attribute %s = %v, want %v", en.ID, k, got.Attributes[k], v)
			}
		}
	}
	// Relationships between entities and observables.
	refs := map[string]bool{}
	for _, en := range ents {
		refs[en.ID] = true
	}
	for _, o := range obs {
		refs[o.String()] = true
	}
	for ref := range refs {
		want := triples(t, e.st, ref, refs)
		got := triples(t, f.st, ref, refs)
		for k := range want {
			if !got[k] {
				t.Errorf("relationship %s lost", k)
			}
		}
	}
}

// summary is what the export takes from an indicator's reports.
func summary(in intel.Indicator) (first, last time.Time, conf int, until time.Time, threat string) {
	for _, r := range in.Reports {
		if first.IsZero() || r.FirstSeen.Before(first) {
			first = r.FirstSeen
		}
		conf = max(conf, r.Confidence)
	}
	return first.Truncate(time.Millisecond), last, conf, until, threat
}

func latestThreat(in intel.Indicator) string {
	var last time.Time
	tt := ""
	for _, r := range in.Reports {
		if !r.LastSeen.Before(last) {
			last, tt = r.LastSeen, r.ThreatType
		}
	}
	return tt
}

// triples lists ref's relationships whose two ends are in refs, as "type src dst".
func triples(t *testing.T, st store.Store, ref string, refs map[string]bool) map[string]bool {
	t.Helper()
	rels, err := st.Relationships(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range rels {
		if refs[r.SourceRef] && refs[r.TargetRef] {
			out[r.Type+" "+r.SourceRef+" "+r.TargetRef] = true
		}
	}
	return out
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// The validators do reject what STIX 2.1 does not allow (so that TestExportValidates means
// something).
func TestSchemasReject(t *testing.T) {
	vs := validators(t)
	for _, tc := range []struct{ typ, obj string }{
		{"indicator", `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[x:y = 'z']","valid_from":"2026-01-01T00:00:00Z"}`},
		{"indicator", `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[x:y = 'z']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`},
		{"malware", `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x"}`},
		{"relationship", `{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"Uses","source_ref":"x","target_ref":"y"}`},
		{"ipv4-addr", `{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"300.1.1.1"}`},
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.obj))
		if err != nil {
			t.Fatal(err)
		}
		if vs[tc.typ].Validate(inst) == nil {
			t.Errorf("%s validates: %s", tc.typ, tc.obj)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the golden files")

// The export of a known store, against testdata/golden/export.json (the bundle id aside, which
// is random). Run with -update after a deliberate change.
func TestExportGolden(t *testing.T) {
	e := newEnv(t)
	e.importFile(t, "testdata/oasis-examples/indicators-for-C2-with-COA.json", stix.Options{TLP: intel.TLPAmber})
	ctx := t.Context()
	ing, err := e.st.NewIngester(ctx, store.IngestOptions{Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range listReports[:4] {
		r.FirstSeen, r.LastSeen = now.Add(-time.Hour), now
		if err := ing.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ing.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b, _ := export(t, e, stix.Selection{All: true}, intel.TLPRed)
	b = bundleIDs.ReplaceAll(b, []byte(`"id":"bundle--00000000-0000-4000-8000-000000000000"`))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden", "export.json")
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("the export differs from %s (run with -update after a deliberate change):\n%s", golden, pretty.Bytes())
	}
	checkBundle(t, b)
}

var bundleIDs = regexp.MustCompile(`"id":"bundle--[0-9a-f-]{36}"`)
