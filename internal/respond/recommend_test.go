package respond

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect/attack"
	"github.com/omen-tip/omen/internal/collect/kev"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
)

// kb.Graph, the store graph in memory, is what the lead passes to GraphMitigations.
var _ EntityGraph = (*kb.Graph)(nil)

// memGraph is an EntityGraph over parsed bundles (the shape of kb.Graph).
type memGraph struct {
	byID     map[string]intel.Entity
	from, to map[string][]intel.Relationship
}

func (g *memGraph) Entity(id string) (intel.Entity, bool) { e, ok := g.byID[id]; return e, ok }
func (g *memGraph) From(ref string) []intel.Relationship  { return g.from[ref] }
func (g *memGraph) To(ref string) []intel.Relationship    { return g.to[ref] }

// attackGraph loads the genuine ATT&CK subset the attack collector tests use (see
// internal/collect/attack/testdata/SOURCES.md).
func attackGraph(t *testing.T) *memGraph {
	t.Helper()
	g := &memGraph{byID: map[string]intel.Entity{}, from: map[string][]intel.Relationship{}, to: map[string][]intel.Relationship{}}
	dir := filepath.Join("..", "collect", "attack", "testdata", "enterprise-subset-stix20")
	for _, name := range []string{"techniques.json", "mitigations.json", "rel-mitigates-subtechnique.json"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		es, rs, _, err := attack.Parse(f, "mitre-attack")
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, e := range es {
			g.byID[e.ID] = e
		}
		for _, r := range rs {
			g.from[r.SourceRef] = append(g.from[r.SourceRef], r)
			g.to[r.TargetRef] = append(g.to[r.TargetRef], r)
		}
	}
	return g
}

const (
	t1059     = "attack-pattern--7385dfaf-6886-4229-9ecd-6fd678040830" // Command and Scripting Interpreter
	t1003     = "attack-pattern--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22" // OS Credential Dumping
	t1070_004 = "attack-pattern--d63a3fb8-9452-4e9d-a60a-54be68d5998c" // File Deletion (sub-technique)
)

func TestRecommendATTACKMitigations(t *testing.T) {
	g := attackGraph(t)
	ents := []intel.Entity{g.byID[t1059], g.byID[t1003]}
	if ents[0].Name != "Command and Scripting Interpreter" || ents[1].Name != "OS Credential Dumping" {
		t.Fatalf("fixture techniques %q %q", ents[0].Name, ents[1].Name)
	}
	f := testFinding()
	recs := Recommend(f, RecommendInput{Entities: ents, Mitigations: GraphMitigations(g), MaxMitigations: 20})
	var mits []string
	for _, r := range recs {
		if strings.HasPrefix(r, "ATT&CK mitigation ") {
			mits = append(mits, r)
		}
	}
	// T1059 has 9 mitigations and T1003 9, sharing M1026 and M1040: 16 in all, shared ones first.
	if len(mits) != 16 {
		t.Fatalf("%d mitigations, want 16:\n%s", len(mits), strings.Join(mits, "\n"))
	}
	if !strings.HasPrefix(mits[0], "ATT&CK mitigation M1026 Privileged Account Management (against T1059 Command and Scripting Interpreter, T1003 OS Credential Dumping)") ||
		!strings.HasPrefix(mits[1], "ATT&CK mitigation M1040 Behavior Prevention on Endpoint (against T1059") {
		t.Errorf("first mitigations:\n%s\n%s", mits[0], mits[1])
	}
	for _, m := range mits {
		if strings.Contains(m, "(Citation:") || len(m) > 400 {
			t.Errorf("mitigation text not trimmed: %s", m)
		}
	}
	if !slices.ContainsFunc(mits, func(s string) bool {
		return strings.HasPrefix(s, "ATT&CK mitigation M1043 Credential Access Protection (against T1003 OS Credential Dumping)")
	}) {
		t.Errorf("M1043 missing:\n%s", strings.Join(mits, "\n"))
	}
	if n := len(Recommend(f, RecommendInput{Entities: ents, Mitigations: GraphMitigations(g)})); n != len(recs)-16+6 {
		t.Errorf("default cap: %d recommendations", n)
	}

	// A sub-technique without its own mitigations gets its parent's (T1070 Indicator Removal).
	sub := Recommend(f, RecommendInput{Entities: []intel.Entity{g.byID[t1070_004]}, Mitigations: GraphMitigations(g)})
	if !slices.ContainsFunc(sub, func(s string) bool { return strings.Contains(s, "(against T1070.004 File Deletion)") }) {
		t.Errorf("sub-technique fallback:\n%s", strings.Join(sub, "\n"))
	}
}

func TestRecommendPlaybooks(t *testing.T) {
	ip := testFinding()
	host := &intel.Asset{Kind: "host", Name: "pay-gw-01", Values: []string{"10.178.98.102"}}
	exports := []ExportRef{{Name: "paloalto", Format: "plain-ip"}, {Name: "resolvers", Format: "rpz"}}
	recs := Recommend(ip, RecommendInput{Asset: host, Exports: exports})
	wantSub(t, recs, "Block 203.0.113.66 at egress", "`omen export --format plain-ip`", `feed "paloalto" at /feeds/paloalto`,
		"omen findings act 42 --kind block", "Isolate host pay-gw-01 (10.178.98.102)")

	dom := intel.Observable{Type: intel.Domain, Value: "evil.example"}
	recs = Recommend(intel.Finding{ID: 7, Kind: "indicator-match", Observable: &dom}, RecommendInput{Exports: exports})
	wantSub(t, recs, "Block evil.example and its subdomains at the DNS resolvers", "`omen export --format rpz`",
		`feed "resolvers" at /feeds/resolvers`, "`omen export --format plain-domain`")

	u := intel.Observable{Type: intel.URL, Value: "http://evil.example/x"}
	wantSub(t, Recommend(intel.Finding{Kind: "indicator-match", Observable: &u}, RecommendInput{}), "`omen export --format plain-url`")
	h := intel.Observable{Type: intel.SHA256, Value: strings.Repeat("ab", 32)}
	wantSub(t, Recommend(intel.Finding{Kind: "indicator-match", Observable: &h}, RecommendInput{}), "Quarantine files with SHA256")

	look := intel.Observable{Type: intel.Domain, Value: "examp1e-login.com"}
	wantSub(t, Recommend(intel.Finding{Kind: "lookalike-domain", Observable: &look}, RecommendInput{}),
		"Request the takedown of examp1e-login.com", "`omen export --format rpz`")

	acct := intel.Observable{Type: intel.Account, Value: "jdoe"}
	wantSub(t, Recommend(intel.Finding{ID: 9, Kind: "leaked-credential", Observable: &acct}, RecommendInput{}),
		"Reset the credentials of jdoe", "revoke its sessions", "omen findings act 9 --kind contain-account")
	person := &intel.Asset{Kind: "person", Name: "Jane Doe", Values: []string{"jdoe@example.org"}}
	wantSub(t, Recommend(intel.Finding{Kind: "leaked-credential"}, RecommendInput{Asset: person}),
		"Reset the credentials of the account of Jane Doe (jdoe@example.org)")
}

func TestRecommendKEVPatch(t *testing.T) {
	cat, err := kev.Parse(filepath.Join("..", "collect", "kev", "testdata", "known_exploited_vulnerabilities.head.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := cat.Vulnerabilities[0] // genuine CISA entry: CVE-2025-48384, Git, due 2025-09-15
	vuln := intel.Entity{ID: kev.EntityID(e.CVE), Type: intel.Vulnerability, Name: e.CVE, Attributes: map[string]any{
		"cve": e.CVE, "vendor": e.Vendor, "product": e.Product, "kev_due_date": e.DueDate, "required_action": e.RequiredAction, "kev": true}}
	o := intel.Observable{Type: intel.CVE, Value: e.CVE}
	f := intel.Finding{Kind: "vulnerability", Observable: &o}
	due, _ := time.Parse(time.DateOnly, e.DueDate)
	srv := &intel.Asset{Kind: "host", Name: "build-01"}
	recs := Recommend(f, RecommendInput{Entities: []intel.Entity{vuln}, Asset: srv, Now: due.Add(-10 * 24 * time.Hour)})
	wantSub(t, recs, "Patch "+e.CVE+" (Git Git) on build-01 before "+e.DueDate+", its CISA KEV due date (10 days left)",
		"Required action: Apply mitigations per vendor instructions")
	recs = Recommend(f, RecommendInput{Entities: []intel.Entity{vuln}, Now: due.Add(3 * 24 * time.Hour)})
	wantSub(t, recs, "due date "+e.DueDate+" passed 3 days ago")
	wantSub(t, Recommend(f, RecommendInput{}), "Patch "+e.CVE+", or apply the vendor's mitigation")
}

func wantSub(t *testing.T, recs []string, subs ...string) {
	t.Helper()
	all := strings.Join(recs, "\n")
	for _, s := range subs {
		if !strings.Contains(all, s) {
			t.Errorf("recommendations lack %q:\n%s", s, all)
		}
	}
}

func TestFirstSentence(t *testing.T) {
	for in, want := range map[string]string{
		"Use intrusion detection signatures to block traffic at network boundaries.": "Use intrusion detection signatures to block traffic at network boundaries.",
		"Limit privileges. (Citation: X) More text.":                                 "Limit privileges.",
		"Do this (Citation: A)(Citation: B). Then that.":                             "Do this.",
		"Unclosed (Citation: x":                                                      "Unclosed",
		"":                                                                           "",
	} {
		if got := firstSentence(in); got != want {
			t.Errorf("firstSentence(%q) = %q, want %q", in, got, want)
		}
	}
	if got := firstSentence(strings.Repeat("é", 500)); len([]rune(got)) != 240 {
		t.Errorf("long description: %d runes", len([]rune(got)))
	}
}
