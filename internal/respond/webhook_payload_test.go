package respond

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// TheHive 5 alert creation body, from thehive4py's InputAlert and InputObservable TypedDicts
// (testdata/actions/SOURCES.md): required and optional keys.
var (
	theHiveAlertRequired = []string{"type", "source", "sourceRef", "title", "description"}
	theHiveAlertKeys     = append(slices.Clone(theHiveAlertRequired), "date", "externalLink", "severity", "tags", "flag",
		"tlp", "pap", "customFields", "summary", "status", "caseTemplate", "observables")
	theHiveObservableKeys = []string{"dataType", "data", "message", "startDate", "tlp", "pap", "tags", "ioc", "sighted",
		"sightedAt", "ignoreSimilarity", "isZip", "zipPassword"}
	// TheHive 5's default observable types.
	theHiveDataTypes = []string{"autonomous-system", "domain", "file", "filename", "fqdn", "hash", "hostname", "ip", "mail",
		"mail-subject", "other", "regexp", "registry", "uri_path", "url", "user-agent"}
)

func TestTheHiveAlertPayload(t *testing.T) {
	f := testFinding()
	f.TLP = intel.TLPAmberStrict
	a := Action{ID: "act-1", Kind: KindBlock, Finding: f, Requested: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	vals := []intel.Observable{c2, {Type: intel.Domain, Value: "evil.example"}, {Type: intel.SHA256, Value: strings.Repeat("a", 64)},
		{Type: intel.CIDR, Value: "198.51.100.0/24"}, {Type: intel.Email, Value: "x@evil.example"}}
	body, err := WebhookPayload(TemplateTheHiveAlert, a, vals, []string{"Block it."}, "dlv-1")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range theHiveAlertRequired {
		if _, ok := m[k]; !ok {
			t.Errorf("required key %s missing", k)
		}
	}
	for k := range m {
		if !slices.Contains(theHiveAlertKeys, k) {
			t.Errorf("key %s is not an InputAlert field", k)
		}
	}
	var al struct {
		Type, Source, SourceRef, Title, Description string
		Date                                        int64
		Severity, TLP, PAP                          int
		Tags                                        []string
		Observables                                 []map[string]any
	}
	if err := json.Unmarshal(body, &al); err != nil {
		t.Fatal(err)
	}
	if al.Type != "omen-block" || al.Source != "omen" || al.SourceRef != "act-1" || al.Severity != 4 || al.TLP != 3 || al.PAP != 2 ||
		al.Date != a.Requested.UnixMilli() || !strings.Contains(al.Description, "Block it.") || !strings.Contains(al.Description, "feodo") {
		t.Errorf("alert %+v", al)
	}
	wantTypes := []string{"ip", "domain", "hash", "other", "mail"}
	if len(al.Observables) != len(vals) {
		t.Fatalf("%d observables", len(al.Observables))
	}
	for i, o := range al.Observables {
		for k := range o {
			if !slices.Contains(theHiveObservableKeys, k) {
				t.Errorf("observable key %s is not an InputObservable field", k)
			}
		}
		dt, _ := o["dataType"].(string)
		if dt != wantTypes[i] || !slices.Contains(theHiveDataTypes, dt) || o["data"] != vals[i].Value || o["ioc"] != true {
			t.Errorf("observable %d: %v", i, o)
		}
	}
	// TLP numbers as TheHive 5 has them: clear 0, green 1, amber 2, amber+strict 3, red 4.
	for tlp, want := range map[intel.TLP]int{intel.TLPClear: 0, intel.TLPGreen: 1, intel.TLPAmber: 2, intel.TLPAmberStrict: 3, intel.TLPRed: 4} {
		a.Finding.TLP = tlp
		if got := theHiveAlert(a, nil, nil).TLP; got != want {
			t.Errorf("TLP %s -> %d, want %d", tlp, got, want)
		}
	}
	for lvl, want := range map[string]int{"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 1} {
		if got := theHiveSeverity(lvl); got != want {
			t.Errorf("severity %s -> %d, want %d", lvl, got, want)
		}
	}
}

func TestGenericAndFlatPayloads(t *testing.T) {
	a := Action{ID: "act-2", Kind: KindContainAccount, Finding: intel.Finding{ID: 3, Kind: "leaked-credential", Priority: 55},
		Actor: "cli", Requested: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	user := []intel.Observable{{Type: intel.Account, Value: "jdoe"}, {Type: intel.Email, Value: "jdoe@example.org"}}
	body, err := WebhookPayload(TemplateGeneric, a, user, nil, "dlv-2")
	if err != nil {
		t.Fatal(err)
	}
	var g GenericPayload
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatal(err)
	}
	if g.Level != "medium" || !slices.Equal(g.Action.Steps, ContainSteps) || g.Recommendations == nil || g.Evidence == nil ||
		g.Action.Actor != "cli" || len(g.Values) != 2 {
		t.Errorf("generic %s", body)
	}
	for _, tpl := range []Template{TemplateShuffle, TemplateN8N} {
		body, err := WebhookPayload(tpl, a, user, []string{"a", "b"}, "dlv-2")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		for k, v := range m { // flat: no nested objects
			if _, ok := v.(map[string]any); ok {
				t.Errorf("%s: %s is an object", tpl, k)
			}
		}
		if m["values_csv"] != "jdoe,jdoe@example.org" || m["recommendations"] != "a\nb" || m["requested"] != "2026-01-02T03:04:05Z" ||
			m["action"] != "contain-account" {
			t.Errorf("%s: %s", tpl, body)
		}
	}
	if _, err := WebhookPayload("xml", a, user, nil, "k"); err == nil {
		t.Error("unknown template accepted")
	}
}

func TestParseKindTemplate(t *testing.T) {
	for _, s := range []string{"block", " Contain-Account ", "OPEN-CASE"} {
		if _, err := ParseKind(s); err != nil {
			t.Errorf("ParseKind(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "blocks", "contain"} {
		if _, err := ParseKind(s); err == nil {
			t.Errorf("ParseKind(%q) accepted", s)
		}
	}
	for _, s := range []string{"generic", "shuffle", "n8n", "TheHive-Alert"} {
		if _, err := ParseTemplate(s); err != nil {
			t.Errorf("ParseTemplate(%q): %v", s, err)
		}
	}
	if _, err := ParseTemplate("thehive"); err == nil {
		t.Error("ParseTemplate(thehive) accepted")
	}
}

// FuzzWebhookPayload: any finding text and value gives valid JSON in every template, and a
// recommendation list, without panicking.
func FuzzWebhookPayload(f *testing.F) {
	f.Add("C2 contact from pay-gw-01", "indicator-match", "ipv4", "203.0.113.66", "Reported by feodo (B).", 91)
	f.Add("", "lookalike-domain", "domain", "examp1e-login.com", "", 0)
	f.Add("\x00\xff<script>", "vulnerability", "cve", "CVE-2025-48384", "\"quoted\"\n", 101)
	f.Add("x", "leaked-credential", "account", "jdoe", "(Citation: x", -5)
	f.Fuzz(func(t *testing.T, title, kind, typ, value, evidence string, prio int) {
		o := intel.Observable{Type: intel.Type(typ), Value: value}
		fd := intel.Finding{ID: 1, Kind: kind, Title: title, Observable: &o, Priority: prio, Evidence: []string{evidence}}
		recs := Recommend(fd, RecommendInput{Entities: []intel.Entity{{Type: intel.Vulnerability, Name: value,
			Attributes: map[string]any{"kev_due_date": evidence, "vendor": title}}, {Type: intel.AttackPattern, ID: value, Name: title}},
			Mitigations: func(string) []intel.Entity {
				return []intel.Entity{{ID: "m", Type: intel.CourseOfAction, Name: title, Description: evidence}}
			}})
		for _, tpl := range Templates {
			for _, k := range Kinds {
				a := Action{ID: "act-x", Kind: k, Finding: fd}
				body, err := WebhookPayload(tpl, a, []intel.Observable{o}, recs, "dlv")
				if err != nil {
					t.Fatalf("%s: %v", tpl, err)
				}
				if !json.Valid(body) {
					t.Fatalf("%s: invalid JSON %q", tpl, body)
				}
			}
		}
	})
}
