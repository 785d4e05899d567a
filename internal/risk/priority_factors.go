package risk

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/intel"
)

// likely is the outcome of the likelihood factor, with what the gates need.
type likely struct {
	value         float64
	warninglisted bool // b < 1
	corroborated  bool // internal behavioural corroboration, for G1
	exploited     bool // KEV or SSVC exploitation active, for G3
	withheld      int  // source reports kept out of the evidence, for G5
}

// likelihood computes L for one match: the vulnerability rule when the match is a vulnerability
// with exploitation data, else the indicator rule of [Model.Score] times the match quality.
func (m PriorityModel) likelihood(mt Match, in PriorityInput, p *Priority) likely {
	lk := likely{corroborated: in.Corroborated}
	others := otherSightings(in.Sightings, in.Where)
	for _, s := range others {
		lk.corroborated = lk.corroborated || s.Verdict == "tp"
	}
	q := m.matchQuality(mt.Quality)
	p.Factors.MatchQuality = q
	if v, ok := m.vulnLikelihood(mt, p); ok {
		lk.value, lk.exploited, p.Factors.Dampener = v*q, p.Factors.Exploited, 1
		p.Factors.LIntel, p.Factors.L = v, lk.value
		return lk
	}
	ind := m.dedupUpstream(mt.Indicator, in, p)
	wl := union(ind.Warninglists, mt.Warninglists)
	sc := m.Likelihood.Score(ind, Input{Reliability: in.Reliability, Sightings: others, Warninglists: wl,
		Now: in.Now, ConfirmedResetOnly: m.ConfirmedResetOnly})
	b := 1.0
	if len(wl) > 0 {
		b, lk.warninglisted = m.Likelihood.Warninglisted, true
	}
	recent := recentCount(others, in.Now)
	p.Factors.Dampener, p.Factors.Sightings = b, min(recent, m.Likelihood.SightingCap)
	if b > 0 {
		p.Factors.LIntel = sc.Likelihood / b
	}
	lk.value = sc.Likelihood * q
	p.Factors.L = lk.value
	lk.withheld = m.sourceEvidence(ind, sc, in, p)
	if recent > 0 {
		p.Evidence = append(p.Evidence, fmt.Sprintf("Seen by %s in the last 24 hours (corroboration %.2f).",
			plural(recent, "other internal host or user", "other internal hosts or users"),
			1-math.Pow(1-m.Likelihood.SightingWeight, float64(p.Factors.Sightings))))
	}
	for _, w := range wl {
		p.Evidence = append(p.Evidence, fmt.Sprintf("Value is in warninglist '%s' (×%g).", w, b))
	}
	p.Evidence = append(p.Evidence, fmt.Sprintf("Likelihood L %.3f = L_intel %.3f × match quality %g (%s) × %g.",
		lk.value, p.Factors.LIntel, q, matchName(mt.Quality), b))
	return lk
}

func (m PriorityModel) matchQuality(kind string) float64 {
	if q, ok := m.MatchQuality[matchName(kind)]; ok {
		return q
	}
	return 1
}

func matchName(kind string) string {
	if kind == "" {
		return MatchExact
	}
	return kind
}

// otherSightings keeps the latest sighting of each host or user other than where, dropping those an
// analyst marked false positive: corroboration counts distinct others, never the current one.
func otherSightings(ss []intel.Sighting, where string) []intel.Sighting {
	latest := map[string]intel.Sighting{}
	var order []string
	for _, s := range ss {
		if s.Verdict == "fp" || (where != "" && strings.EqualFold(s.Where, where)) {
			continue
		}
		k := strings.ToLower(s.Where)
		prev, seen := latest[k]
		if !seen {
			order = append(order, k)
		}
		if !seen || s.LastSeen.After(prev.LastSeen) || s.Verdict == "tp" && prev.Verdict != "tp" {
			if prev.Verdict == "tp" {
				s.Verdict = "tp"
			}
			latest[k] = s
		}
	}
	out := make([]intel.Sighting, 0, len(order))
	for _, k := range order {
		out = append(out, latest[k])
	}
	return out
}

// recentCount counts the sightings of the last 24 hours, the window [Model.Score] uses.
func recentCount(ss []intel.Sighting, now time.Time) int {
	n := 0
	for _, s := range ss {
		if now.Sub(s.LastSeen) <= day {
			n++
		}
	}
	return n
}

// dedupUpstream keeps, of the reports whose sources redistribute the same upstream list, only the
// strongest: copies of one list are one piece of evidence.
func (m PriorityModel) dedupUpstream(ind intel.Indicator, in PriorityInput, p *Priority) intel.Indicator {
	if in.Upstream == nil || len(ind.Reports) < 2 {
		return ind
	}
	best := map[string]int{} // upstream → index into kept
	var kept []intel.Report
	dropped := map[string][]string{}
	for _, r := range ind.Reports {
		up := in.Upstream(r.Source)
		i, dup := best[up]
		if up == "" || !dup {
			if up != "" {
				best[up] = len(kept)
			}
			kept = append(kept, r)
			continue
		}
		loser := r
		if m.reportEvidence(ind, r, in) > m.reportEvidence(ind, kept[i], in) {
			loser, kept[i] = kept[i], r
		}
		dropped[up] = append(dropped[up], loser.Source)
	}
	for up, names := range dropped {
		slices.Sort(names)
		p.Evidence = append(p.Evidence, fmt.Sprintf("Upstream '%s' counted once; copies from %s dropped.",
			up, strings.Join(names, ", ")))
	}
	slices.Sort(p.Evidence[len(p.Evidence)-len(dropped):])
	ind.Reports = kept
	return ind
}

// reportEvidence is e of one report alone.
func (m PriorityModel) reportEvidence(ind intel.Indicator, r intel.Report, in PriorityInput) float64 {
	one := ind
	one.Reports = []intel.Report{r}
	return m.Likelihood.Score(one, Input{Reliability: in.Reliability, Now: in.Now}).Likelihood
}

// sourceEvidence writes the evidence of the source reports, withholding those above the recipient's
// clearance (G5), and returns how many were withheld.
func (m PriorityModel) sourceEvidence(ind intel.Indicator, sc Score, in PriorityInput, p *Priority) int {
	tlp := map[string]intel.TLP{}
	for _, r := range ind.Reports {
		tlp[r.Source] = max(tlp[r.Source], r.TLP)
	}
	var live, dead []SourceScore
	withheld := 0
	for _, s := range sc.Sources {
		switch {
		case !m.shareable(tlp[s.Name], in.Clearance):
			withheld++
		case s.Expired:
			dead = append(dead, s)
		default:
			live = append(live, s)
		}
	}
	for _, s := range sc.Sources {
		if !s.Expired {
			p.Factors.Sources++
		}
	}
	if len(live) > 0 {
		p.Evidence = append(p.Evidence, summary(ind.Observable.Value, live, in.Now))
		for _, s := range live {
			p.Evidence = append(p.Evidence, fmt.Sprintf("%s [%s]: confidence %d, last seen %s (%s), decay %.2f, contributes %.2f.",
				s.Name, s.Reliability, s.Confidence, Ago(in.Now, s.LastSeen), date(s.LastSeen), s.Decay, s.Evidence))
		}
	}
	if len(dead) > 0 {
		p.Evidence = append(p.Evidence, m.expired(ind.Observable.Type, dead, in.Now))
	}
	if len(ind.Reports) == 0 {
		p.Evidence = append(p.Evidence, "No source reports this value.")
	}
	if withheld > 0 {
		p.Evidence = append(p.Evidence, fmt.Sprintf("Evidence of %s withheld: above the recipient's clearance TLP:%s.",
			plural(withheld, "source", "sources"), strings.ToUpper(in.Clearance.String())))
	}
	return withheld
}

// shareable reports whether evidence marked t may go to a recipient cleared for c (G5): only
// TLP:RED and AMBER+STRICT are ever withheld, and nil clearance is internal use.
func (m PriorityModel) shareable(t intel.TLP, c *intel.TLP) bool {
	return c == nil || t < intel.TLPAmberStrict || c.Allows(t)
}

// summary phrases the live reports as 3.3's example does: "2 sources [B,B] report 203.0.113.77 as
// More_eggs C2; most recent 3 days ago (2026-11-19)."
func summary(value string, live []SourceScore, now time.Time) string {
	grades := make([]string, len(live))
	var claims []string
	newest := live[0].LastSeen
	for i, s := range live {
		grades[i] = string(s.Reliability)
		if c := strings.TrimSpace(s.Malware + " " + s.ThreatType); c != "" && !slices.Contains(claims, c) {
			claims = append(claims, c)
		}
		if s.LastSeen.After(newest) {
			newest = s.LastSeen
		}
	}
	verb := "reports"
	if len(live) > 1 {
		verb = "report"
	}
	as := ""
	if len(claims) > 0 {
		as = " as " + strings.Join(claims, ", ")
	}
	return fmt.Sprintf("%s [%s] %s %s%s; most recent %s (%s).", plural(len(live), "source", "sources"),
		strings.Join(grades, ","), verb, value, as, Ago(now, newest), date(newest))
}

// expired phrases the reports that no longer count: "Last reported 200 days ago (2026-05-06);
// beyond the 47-day IP lifetime."
func (m PriorityModel) expired(t intel.Type, dead []SourceScore, now time.Time) string {
	newest := dead[0].LastSeen
	names := make([]string, len(dead))
	for i, s := range dead {
		names[i] = fmt.Sprintf("%s [%s]", s.Name, s.Reliability)
		if s.LastSeen.After(newest) {
			newest = s.LastSeen
		}
	}
	d := m.Likelihood.DecayFor(t)
	why := fmt.Sprintf("beyond the %d-day %s lifetime", int(d.Lifetime/day), typeLabel(t))
	if now.Sub(newest) < d.Lifetime {
		why = "past its valid-until date"
	}
	return fmt.Sprintf("Last reported %s (%s) by %s; %s.", Ago(now, newest), date(newest), strings.Join(names, ", "), why)
}

func typeLabel(t intel.Type) string {
	switch t {
	case intel.IPv4, intel.IPv6:
		return "IP"
	case intel.MD5, intel.SHA1, intel.SHA256, intel.SHA512:
		return "file-hash"
	}
	return string(t)
}

func date(t time.Time) string {
	if t.IsZero() {
		return "date unknown"
	}
	return t.UTC().Format(time.DateOnly)
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// vulnLikelihood applies the vulnerability rule (3.1.8 synthesis): KEV or SSVC exploitation active
// gives KEVLikelihood; otherwise EPSS, floored at PoCFloor with a public proof of concept. ok is
// false when the match carries no exploitation data, and the indicator rule applies instead.
func (m PriorityModel) vulnLikelihood(mt Match, p *Priority) (float64, bool) {
	name := mt.Indicator.Observable.Value
	kev, active, poc, epss, hasEPSS := false, false, false, 0.0, false
	for _, r := range mt.Indicator.Reports {
		kev = kev || slices.Contains(r.Tags, "kev")
	}
	for _, e := range mt.Entities {
		if e.Type != intel.Vulnerability {
			continue
		}
		name = e.Name
		kev = kev || attrBool(e.Attributes, AttrKEV)
		switch keyword(attrString(e.Attributes, AttrExploitation)) {
		case "active":
			active = true
		case "poc", "public-poc":
			poc = true
		}
		poc = poc || attrBool(e.Attributes, AttrPublicPoC)
		if v, ok := attrFloat(e.Attributes, AttrEPSS); ok {
			epss, hasEPSS = math.Max(epss, v), true
		}
	}
	switch {
	case kev || active:
		p.Factors.Exploited = true
		why := "SSVC exploitation active"
		if kev {
			why = "in CISA KEV"
		}
		p.Evidence = append(p.Evidence, fmt.Sprintf("%s is %s: exploitation is active (L %g).", name, why, m.KEVLikelihood))
		return m.KEVLikelihood, true
	case hasEPSS:
		p.Factors.EPSS = epss
		l := clamp01(epss)
		msg := fmt.Sprintf("%s has EPSS %.3f (probability of exploitation in the next 30 days)", name, epss)
		if poc && l < m.PoCFloor {
			l = m.PoCFloor
			msg += fmt.Sprintf(", floored at %g for a public proof of concept", m.PoCFloor)
		}
		p.Evidence = append(p.Evidence, msg+".")
		return l, true
	}
	return 0, false
}

// severity computes S: the most severe linked threat, plus the tactic bonus.
func (m PriorityModel) severity(mt Match, in PriorityInput, p *Priority) float64 {
	s, why, ok := m.vulnSeverity(mt)
	if !ok {
		s, why = m.threatSeverity(mt, in)
	}
	p.Factors.Threat = why
	bonus, tactic := m.tacticBonus(mt, in)
	p.Factors.TacticBonus = bonus
	total := math.Min(1, s+bonus)
	msg := fmt.Sprintf("Threat severity S %.2f: %s", total, why)
	if bonus > 0 {
		msg += fmt.Sprintf(" (%.2f) + %.2f for ATT&CK tactic %s", s, bonus, tactic)
	}
	p.Evidence = append(p.Evidence, msg+".")
	p.Factors.S = total
	return total
}

// vulnSeverity is SSVC technical impact, else CVSS/10, of the linked vulnerabilities.
func (m PriorityModel) vulnSeverity(mt Match) (float64, string, bool) {
	best, why, ok := 0.0, "", false
	for _, e := range mt.Entities {
		if e.Type != intel.Vulnerability {
			continue
		}
		if v, found := m.TechnicalImpact[keyword(attrString(e.Attributes, AttrTechnicalImpact))]; found && v > best {
			best, why, ok = v, fmt.Sprintf("%s has %s technical impact", e.Name, keyword(attrString(e.Attributes, AttrTechnicalImpact))), true
		} else if c, found := attrFloat(e.Attributes, AttrCVSS); found && c/10 > best {
			best, why, ok = clamp01(c/10), fmt.Sprintf("%s has CVSS %.1f", e.Name, c), true
		}
	}
	return best, why, ok
}

// threatSeverity is the most severe threat class among the reports' threat types, tags and malware
// families and the linked entities; UnknownSeverity when none is known.
func (m PriorityModel) threatSeverity(mt Match, in PriorityInput) (float64, string) {
	best, why := -1.0, ""
	consider := func(class, word, from string) {
		if s, ok := m.Severity[class]; ok && s > best {
			best, why = s, fmt.Sprintf("%s (%q from %s)", class, word, from)
		}
	}
	word := func(w, from string) { consider(m.ThreatKeywords[keyword(w)], w, from) }
	for _, r := range mt.Indicator.Reports {
		from := "a restricted source"
		if m.shareable(r.TLP, in.Clearance) {
			from = r.Source
		}
		word(r.ThreatType, from)
		for _, t := range r.Tags {
			word(t, from)
		}
		if r.Malware != "" {
			consider(ThreatMalware, r.Malware, from)
		}
	}
	for _, e := range mt.Entities {
		from := fmt.Sprintf("%s %s", e.Type, e.Name)
		switch e.Type {
		case intel.Malware, intel.Tool:
			for _, t := range attrStrings(e.Attributes, "malware_types") {
				word(t, from)
			}
			if e.Type == intel.Malware {
				consider(ThreatMalware, e.Name, from)
			}
		case intel.ThreatActor, intel.IntrusionSet, intel.Campaign:
			if attrBool(e.Attributes, AttrActiveIR) {
				consider(ThreatActiveIR, "active incident", from)
			}
		}
	}
	if best < 0 {
		return m.UnknownSeverity, "no threat type known, scored as generic malware"
	}
	return best, why
}

// tacticBonus is the largest bonus of the tactics of the event and of linked attack patterns.
func (m PriorityModel) tacticBonus(mt Match, in PriorityInput) (float64, string) {
	tactics := slices.Clone(in.Tactics)
	for _, e := range mt.Entities {
		if e.Type != intel.AttackPattern {
			continue
		}
		tactics = append(tactics, attrStrings(e.Attributes, AttrTactic)...)
		if phases, ok := e.Attributes["kill_chain_phases"].([]any); ok {
			for _, ph := range phases {
				if ph, ok := ph.(map[string]any); ok {
					tactics = append(tactics, attrString(ph, "phase_name"))
				}
			}
		}
	}
	best, name := 0.0, ""
	for _, t := range tactics {
		if b := m.TacticBonus[keyword(t)]; b > best {
			best, name = b, keyword(t)
		}
	}
	return best, name
}

// consequence computes C = max(I, Rp), I the highest stake of the assets involved.
func (m PriorityModel) consequence(in PriorityInput, p *Priority) float64 {
	f := &p.Factors
	for _, a := range in.Assets {
		f.Impact = math.Max(f.Impact, m.assetImpact(a, p))
	}
	if b := in.BrandAbuse; b != nil {
		f.Visibility, f.Confusability = m.Visibility[keyword(b.Visibility)], m.Confusability[keyword(b.Confusability)]
		f.Reputational = f.Visibility * f.Confusability
		p.Evidence = append(p.Evidence, fmt.Sprintf("Abuse of brand '%s': visibility %s (V %.1f) × confusability %s (B %.1f) = Rp %.2f.",
			b.Brand, b.Visibility, f.Visibility, b.Confusability, f.Confusability, f.Reputational))
	}
	if f.Impact == 0 && f.Reputational == 0 {
		f.Impact = m.UnknownImpact
		p.Evidence = append(p.Evidence, fmt.Sprintf("No asset impact or brand abuse recorded; impact scored as %.2f.", m.UnknownImpact))
	}
	f.C = math.Max(f.Impact, f.Reputational)
	p.Evidence = append(p.Evidence, fmt.Sprintf("Consequence C %.2f = max(internal impact %.2f, reputational %.2f).",
		f.C, f.Impact, f.Reputational))
	return f.C
}

// assetImpact is the highest of an asset's criticality, data classification, service tier and
// identity privilege, read with the assets package's parsers.
func (m PriorityModel) assetImpact(a intel.Asset, p *Priority) float64 {
	f := &p.Factors
	var parts []string
	best := 0.0
	add := func(field, raw string, parse func(string) (string, error), table func(string) (float64, bool), dst *float64) {
		if raw == "" {
			return
		}
		v, err := parse(raw)
		if err != nil {
			return
		}
		w, ok := table(v)
		if !ok {
			return
		}
		*dst = math.Max(*dst, w)
		best = math.Max(best, w)
		parts = append(parts, fmt.Sprintf("%s %s (%.2f)", field, v, w))
	}
	add("criticality", string(a.Criticality), func(s string) (string, error) {
		c, err := assets.ParseCriticality(s)
		return string(c), err
	}, func(s string) (float64, bool) { w, ok := m.Criticality[intel.Criticality(s)]; return w, ok }, &f.Criticality)
	add("data", a.DataClass, assets.ParseDataClass, lookup(m.DataClass), &f.DataClass)
	add("service tier", a.Attributes[assets.AttrServiceTier], assets.ParseServiceTier, lookup(m.ServiceTier), &f.ServiceTier)
	add("privilege", a.Attributes[assets.AttrPrivilege], assets.ParsePrivilege, lookup(m.Privilege), &f.Privilege)
	what := "no criticality, data classification, service tier or privilege recorded"
	if len(parts) > 0 {
		what = strings.Join(parts, ", ")
	}
	svc := ""
	if a.Service != "" {
		svc = fmt.Sprintf(", service '%s'", a.Service)
	}
	p.Evidence = append(p.Evidence, fmt.Sprintf("Asset '%s' (%s%s): %s; impact %.2f.", a.Name, a.Kind, svc, what, best))
	return best
}

func lookup(t map[string]float64) func(string) (float64, bool) {
	return func(s string) (float64, bool) { w, ok := t[s]; return w, ok }
}

// exposure computes E: Blocked when a control blocked it, else the most exposed asset, with
// customer-targeting brand abuse counting as internet-facing.
func (m PriorityModel) exposure(in PriorityInput, p *Priority) float64 {
	e, why := 0.0, ""
	for _, a := range in.Assets {
		x, err := assets.ParseExposure(a.Exposure)
		if err != nil {
			continue
		}
		if w, ok := m.Exposure[x]; ok && w > e {
			e, why = w, fmt.Sprintf("asset '%s' is %s", a.Name, x)
		}
	}
	if b := in.BrandAbuse; b != nil && keyword(b.Visibility) == VisibilityTargeting && m.CustomerBrandAbuse > e {
		e, why = m.CustomerBrandAbuse, "the brand abuse targets customers"
	}
	if e == 0 {
		e, why = m.DefaultExposure, "exposure unknown, scored as internal and routable"
	}
	if in.Blocked {
		e, why = m.Blocked, "a security control already blocked it"
	}
	p.Factors.E = e
	p.Evidence = append(p.Evidence, fmt.Sprintf("Exposure E %.1f: %s.", e, why))
	return e
}

// gates applies G3 (a floor), then the caps G2 and G1, then G4, and lists G5; every gate whose
// condition holds is listed in GatesApplied, whether or not it changed the score.
func (m PriorityModel) gates(lk likely, in PriorityInput, p *Priority) {
	applied := map[string]string{}
	if lk.exploited && p.Factors.E >= m.ExploitedExposure {
		applied[GateExploited] = fmt.Sprintf("Gate G3: known exploited on an asset with exposure %.1f; priority at least %d.",
			p.Factors.E, m.ExploitedFloor)
		p.Score = max(p.Score, m.ExploitedFloor)
	}
	if lk.value < m.UnlikelyBelow {
		applied[GateUnlikely] = fmt.Sprintf("Gate G2: likelihood %.3f below %g; priority at most %d.",
			lk.value, m.UnlikelyBelow, m.UnlikelyCap)
		p.Score = min(p.Score, m.UnlikelyCap)
	}
	if lk.warninglisted && !lk.corroborated {
		applied[GateBenign] = fmt.Sprintf("Gate G1: warninglisted with no internal behavioural corroboration; priority at most %d.",
			m.BenignCap)
		p.Score = min(p.Score, m.BenignCap)
	}
	if in.FalsePositive {
		applied[GateVerdict] = "Gate G4: an analyst marked this value a false positive; priority 0."
		p.Score = 0
	}
	if lk.withheld > 0 {
		applied[GateSharing] = "Gate G5: TLP:RED or AMBER+STRICT evidence withheld."
	}
	for _, g := range []string{GateBenign, GateUnlikely, GateExploited, GateVerdict, GateSharing} {
		if msg, ok := applied[g]; ok {
			p.GatesApplied = append(p.GatesApplied, g)
			p.Evidence = append(p.Evidence, msg)
		}
	}
}

// keyword folds a vocabulary word: lower case, '-' for '_' and ' '.
func keyword(s string) string {
	return strings.NewReplacer("_", "-", " ", "-").Replace(strings.ToLower(strings.TrimSpace(s)))
}

func attrString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// attrStrings reads a string or a list of strings.
func attrStrings(m map[string]any, k string) []string {
	switch v := m[k].(type) {
	case string:
		return []string{v}
	case []string:
		return v
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func attrBool(m map[string]any, k string) bool {
	switch v := m[k].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b || strings.EqualFold(v, "yes")
	}
	return false
}

func attrFloat(m map[string]any, k string) (float64, bool) {
	switch v := m[k].(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	case interface{ Float64() (float64, error) }:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}
