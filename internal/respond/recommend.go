package respond

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// EntityGraph is the part of the knowledge graph recommendations read; *kb.Graph is one.
type EntityGraph interface {
	Entity(id string) (intel.Entity, bool)
	// From returns the relationships whose source is ref.
	From(ref string) []intel.Relationship
	// To returns the relationships whose target is ref.
	To(ref string) []intel.Relationship
}

// ExportRef names a configured export a recommendation can point to.
type ExportRef struct {
	Name   string // the feed name, served at /feeds/{name}
	Format string // its format (plain-ip, rpz, ...)
}

// RecommendInput is what [Recommend] knows besides the finding.
type RecommendInput struct {
	// Entities are the entities linked to the finding's indicator: ATT&CK techniques
	// (attack-pattern), vulnerabilities (with their KEV attributes), malware, actors.
	Entities []intel.Entity
	// Mitigations returns the course-of-action entities that mitigate the technique id (see
	// [GraphMitigations]); nil: no ATT&CK mitigations.
	Mitigations func(techniqueID string) []intel.Entity
	// Asset is the organisation's asset involved, when known.
	Asset *intel.Asset
	// Exports are the configured exports, so block advice can name the feed a control pulls.
	Exports []ExportRef
	// Now dates KEV due dates (default time.Now).
	Now time.Time
	// MaxMitigations caps the ATT&CK mitigations listed (default 6).
	MaxMitigations int
}

// GraphMitigations returns a Mitigations lookup over g: the course-of-action entities with a
// "mitigates" relationship to the technique, or, when it has none, to the technique it is a
// sub-technique of.
func GraphMitigations(g EntityGraph) func(string) []intel.Entity {
	return func(id string) []intel.Entity {
		out := mitigationsOf(g, id)
		if len(out) == 0 {
			for _, r := range g.From(id) {
				if r.Type == "subtechnique-of" {
					out = append(out, mitigationsOf(g, r.TargetRef)...)
				}
			}
		}
		return out
	}
}

func mitigationsOf(g EntityGraph, id string) []intel.Entity {
	var out []intel.Entity
	for _, r := range g.To(id) {
		if r.Type != "mitigates" {
			continue
		}
		if e, ok := g.Entity(r.SourceRef); ok && e.Type == intel.CourseOfAction {
			out = append(out, e)
		}
	}
	return out
}

// Recommend returns the concrete measures for finding f: the built-in playbook of its kind
// (block at egress with the export to use, isolate the host, reset credentials and revoke
// sessions, request a lookalike domain's takedown, patch a KEV vulnerability before its due date),
// then the ATT&CK mitigations of its techniques.
func Recommend(f intel.Finding, g RecommendInput) []string {
	if g.Now.IsZero() {
		g.Now = time.Now()
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	var o intel.Observable
	if f.Observable != nil {
		o = *f.Observable
	}
	switch {
	case f.Kind == "vulnerability" || o.Type == intel.CVE:
		out = append(out, patchAdvice(f, o, g)...)
	case f.Kind == "lookalike-domain":
		d := o.Value
		if d == "" {
			d = "the lookalike domain"
		}
		add("Request the takedown of %s: report it to its registrar's and hosting provider's abuse contacts (RDAP), citing the brand it imitates.", d)
		add("Add %s to the DNS response policy zone so it resolves nowhere inside the organisation: %s.", d, exportAdvice(g, "rpz", intel.Domain))
		add("Block %s at the mail gateway and web proxy, and warn users who may receive mail or links from it.", d)
	case f.Kind == "leaked-credential" || o.Type == intel.Account || (o.Type == intel.Email && f.Kind != "indicator-match"):
		out = append(out, credentialAdvice(f, o, g)...)
	default: // indicator-match and anything else about a value
		out = append(out, blockAdvice(f, o, g)...)
		if a := g.Asset; a != nil && a.Kind == "host" {
			add("Isolate host %s%s from the network (EDR network containment) until it is triaged, and collect its volatile evidence first.",
				a.Name, assetValues(a))
		}
		if a := g.Asset; a != nil && a.Kind == "person" {
			out = append(out, credentialAdvice(f, o, g)...)
		}
	}
	return append(out, mitigationAdvice(g)...)
}

func assetValues(a *intel.Asset) string {
	if len(a.Values) == 0 {
		return ""
	}
	return " (" + strings.Join(a.Values, ", ") + ")"
}

// exportAdvice names the export a control should pull for values of type t, preferring a
// configured feed of format.
func exportAdvice(g RecommendInput, format string, t intel.Type) string {
	cmd := fmt.Sprintf("the %s export (`omen export --format %s`)", format, format)
	for _, e := range g.Exports {
		if e.Format == format {
			return fmt.Sprintf("%s, served as feed %q at /feeds/%s", cmd, e.Name, e.Name)
		}
	}
	for _, e := range g.Exports {
		if f, ok := Lookup(e.Format); ok && f.Accepts(t) && e.Format != "stix" && e.Format != "misp-feed" {
			return fmt.Sprintf("%s, or feed %q (%s) at /feeds/%s", cmd, e.Name, e.Format, e.Name)
		}
	}
	return cmd
}

func blockAdvice(f intel.Finding, o intel.Observable, g RecommendInput) []string {
	if o.Value == "" {
		return nil
	}
	act := ""
	if f.ID != 0 {
		act = fmt.Sprintf(" Send it to the SOAR with `omen findings act %d --kind block`.", f.ID)
	}
	switch {
	case o.Type.IsIP():
		return []string{fmt.Sprintf("Block %s at egress: it is in %s that the firewall pulls as an external dynamic list.%s",
			o.Value, exportAdvice(g, "plain-ip", o.Type), act)}
	case o.Type == intel.Domain:
		return []string{
			fmt.Sprintf("Block %s and its subdomains at the DNS resolvers: %s.%s", o.Value, exportAdvice(g, "rpz", intel.Domain), act),
			fmt.Sprintf("Block %s at the web proxy or firewall: %s.", o.Value, exportAdvice(g, "plain-domain", intel.Domain)),
		}
	case o.Type == intel.URL:
		return []string{fmt.Sprintf("Block %s at the web proxy: %s.%s", o.Value, exportAdvice(g, "plain-url", intel.URL), act)}
	case o.Type.IsHash():
		return []string{fmt.Sprintf("Quarantine files with %s %s in the EDR, add it to the EDR's blocklist and sweep every endpoint for it.",
			strings.ToUpper(string(o.Type)), o.Value)}
	case o.Type == intel.Email:
		return []string{fmt.Sprintf("Block sender %s at the mail gateway and purge the messages it delivered.", o.Value)}
	case o.Type == intel.JA3:
		return []string{fmt.Sprintf("Alert on or block TLS clients with JA3 %s at the IDS: %s.", o.Value, exportAdvice(g, "suricata-rules", o.Type))}
	}
	return nil
}

func credentialAdvice(f intel.Finding, o intel.Observable, g RecommendInput) []string {
	who := o.Value
	if who == "" || (o.Type != intel.Account && o.Type != intel.Email) {
		who = "the account"
		if a := g.Asset; a != nil && a.Kind == "person" {
			who = "the account of " + a.Name + assetValues(a)
		}
	}
	act := ""
	if f.ID != 0 {
		act = fmt.Sprintf(" (`omen findings act %d --kind contain-account`)", f.ID)
	}
	return []string{
		fmt.Sprintf("Reset the credentials of %s: force a password reset and revoke its sessions and tokens%s.", who, act),
		fmt.Sprintf("Check %s's recent sign-ins, MFA enrolment and mailbox rules for signs of takeover; disable it if any are found.", who),
	}
}

func patchAdvice(f intel.Finding, o intel.Observable, g RecommendInput) []string {
	var out []string
	cve := ""
	if o.Type == intel.CVE {
		cve = o.Value
	}
	for _, e := range g.Entities {
		if e.Type != intel.Vulnerability || (cve != "" && !strings.EqualFold(e.Name, cve)) {
			continue
		}
		what := e.Name
		if v, p := attrText(e.Attributes, "vendor"), attrText(e.Attributes, "product"); v != "" || p != "" {
			what += " (" + strings.TrimSpace(v+" "+p) + ")"
		}
		where := ""
		if a := g.Asset; a != nil {
			where = " on " + a.Name + assetValues(a)
		}
		due := attrText(e.Attributes, "kev_due_date")
		req := attrText(e.Attributes, "required_action")
		s := fmt.Sprintf("Patch %s%s", what, where)
		if t, err := time.Parse(time.DateOnly, due); err == nil {
			days := int(t.Sub(g.Now.UTC().Truncate(24*time.Hour)).Hours() / 24)
			switch {
			case days < 0:
				s += fmt.Sprintf(": it is exploited in the wild (CISA KEV) and its due date %s passed %d days ago", due, -days)
			default:
				s += fmt.Sprintf(" before %s, its CISA KEV due date (%d days left): it is exploited in the wild", due, days)
			}
		}
		if req != "" {
			s += ". Required action: " + strings.TrimSuffix(req, ".")
		}
		out = append(out, s+".")
	}
	if len(out) == 0 {
		target := cve
		if target == "" {
			target = "the vulnerability"
		}
		out = append(out, fmt.Sprintf("Patch %s, or apply the vendor's mitigation, on every affected asset; internet-facing ones first.", target))
	}
	return out
}

func attrText(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return strings.TrimSpace(s)
}

// attackID returns an entity's ATT&CK ID (T1566.001, M1049), or its name.
func attackID(e intel.Entity) string {
	if id := attrText(e.Attributes, "attack_id"); id != "" {
		return id
	}
	return e.Name
}

// mitigationAdvice lists the ATT&CK mitigations of the input's techniques, those covering most
// techniques first.
func mitigationAdvice(g RecommendInput) []string {
	if g.Mitigations == nil {
		return nil
	}
	type mit struct {
		e     intel.Entity
		techs []string
	}
	byID := map[string]*mit{}
	var order []*mit
	seenTech := map[string]bool{}
	for _, t := range g.Entities {
		if t.Type != intel.AttackPattern || seenTech[t.ID] {
			continue
		}
		seenTech[t.ID] = true
		tech := attackID(t)
		if t.Name != "" && tech != t.Name {
			tech += " " + t.Name
		}
		for _, m := range g.Mitigations(t.ID) {
			x, ok := byID[m.ID]
			if !ok {
				x = &mit{e: m}
				byID[m.ID] = x
				order = append(order, x)
			}
			if !slices.Contains(x.techs, tech) {
				x.techs = append(x.techs, tech)
			}
		}
	}
	slices.SortStableFunc(order, func(a, b *mit) int {
		if c := cmp.Compare(len(b.techs), len(a.techs)); c != 0 {
			return c
		}
		return cmp.Compare(attackID(a.e), attackID(b.e))
	})
	limit := g.MaxMitigations
	if limit <= 0 {
		limit = 6
	}
	var out []string
	for _, x := range order[:min(limit, len(order))] {
		s := fmt.Sprintf("ATT&CK mitigation %s %s (against %s)", attackID(x.e), x.e.Name, strings.Join(x.techs, ", "))
		if d := firstSentence(x.e.Description); d != "" {
			s += ": " + d
		}
		out = append(out, s)
	}
	return out
}

// firstSentence returns the first sentence of an ATT&CK description, without citations, at most
// 240 characters.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for { // drop "(Citation: ...)" markers
		i := strings.Index(s, "(Citation:")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], ")")
		if j < 0 {
			s = s[:i]
			break
		}
		s = strings.TrimSpace(s[:i]) + s[i+j+1:]
	}
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if r := []rune(s); len(r) > 240 {
		s = string(r[:239]) + "…"
	}
	return strings.TrimSpace(s)
}
