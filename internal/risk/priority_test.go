package risk_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// grades are the Admiralty letters of the sources the tests use.
var grades = rel(map[string]intel.Reliability{
	"abuse.ch": 'B', "vendorx": 'B', "x": 'C', "urlscan": 'C', "omen-brand-monitor": 'A', "lowfeed": 'D',
	"mirror-1": 'B', "mirror-2": 'C', "kev": 'A', "topfeed": 'A',
})

func report(o intel.Observable, src string, conf int, age time.Duration, threat, malware string) intel.Report {
	return intel.Report{Observable: o, Source: src, Confidence: conf, FirstSeen: now.Add(-age - 30*day),
		LastSeen: now.Add(-age), ThreatType: threat, Malware: malware}
}

func indicator(o intel.Observable, reports ...intel.Report) intel.Indicator {
	return intel.Indicator{Observable: o, Reports: reports}
}

func host(name string, crit intel.Criticality, data, exposure string, attrs map[string]string) intel.Asset {
	return intel.Asset{Kind: assets.KindHost, Name: name, Values: []string{name}, Criticality: crit, DataClass: data,
		Exposure: exposure, Attributes: attrs}
}

var (
	c2IP      = intel.Observable{Type: intel.IPv4, Value: "203.0.113.77"}
	cdnIP     = intel.Observable{Type: intel.IPv4, Value: "104.16.1.1"}
	typosquat = intel.Observable{Type: intel.Domain, Value: "acme-supp0rt.com"}
	devDomain = intel.Observable{Type: intel.Domain, Value: "update-check.example.net"}
	cve       = intel.Observable{Type: intel.CVE, Value: "CVE-2024-3400"}
	finLaptop = host("fin-lt-0231", intel.CriticalityHigh, assets.DataConfidential, assets.ExposureInternal, nil)
)

// example1 is worked example 1 of docs/soc-integration.md 3.3: a C2 hit from a finance laptop.
func example1() risk.PriorityInput {
	return risk.PriorityInput{
		Matches: []risk.Match{{Quality: risk.MatchDedicatedIP, Indicator: indicator(c2IP,
			report(c2IP, "abuse.ch", 90, 3*day, "c2", "More_eggs"),
			report(c2IP, "vendorx", 80, 1*day, "", ""))}},
		Where: "fin-lt-0231",
		Sightings: []intel.Sighting{
			{Observable: c2IP, Where: "fin-lt-0231", LastSeen: now}, // the current event: not corroboration
			{Observable: c2IP, Where: "host-a", LastSeen: now.Add(-2 * time.Hour)},
			{Observable: c2IP, Where: "host-b", LastSeen: now.Add(-3 * time.Hour)},
			{Observable: c2IP, Where: "host-b", LastSeen: now.Add(-5 * time.Hour)}, // same host again
		},
		Reliability: grades,
		Assets:      []intel.Asset{finLaptop},
		Now:         now,
	}
}

// example2 is worked example 2: a Cloudflare address reported age ago. 3.3 does not give S, C and
// E for it; the formula's 24 for the 10-day report follows with example 1's context (C2 0.9, a
// high-criticality internal asset), so that is what it uses.
func example2(age time.Duration) risk.PriorityInput {
	return risk.PriorityInput{
		Matches: []risk.Match{{Indicator: indicator(cdnIP, report(cdnIP, "x", 50, age, "c2", "")),
			Warninglists: []string{"Cloudflare IPv4 ranges"}}},
		Reliability: grades,
		Assets:      []intel.Asset{finLaptop},
		Now:         now,
	}
}

// example3 is worked example 3: a homoglyph typosquat serving brand content with an active MX. The
// match is the subject of omen's own brand-monitor finding, so q is 1 as 3.3 says.
func example3() risk.PriorityInput {
	return risk.PriorityInput{
		Matches: []risk.Match{{Indicator: indicator(typosquat,
			report(typosquat, "urlscan", 70, 1*day, "phishing", ""),
			report(typosquat, "omen-brand-monitor", 90, 0, "credential-phishing", ""))}},
		Reliability: grades,
		BrandAbuse:  &risk.BrandAbuse{Brand: "Acme", Visibility: risk.VisibilityContent, Confusability: risk.ConfusabilityExact},
		Now:         now,
	}
}

// example4 is worked example 4: a KEV vulnerability with total technical impact on an
// internet-facing tier-0 VPN gateway.
func example4() risk.PriorityInput {
	vuln := intel.Entity{ID: "vulnerability--cve-2024-3400", Type: intel.Vulnerability, Name: "CVE-2024-3400",
		Attributes: map[string]any{risk.AttrKEV: true, risk.AttrTechnicalImpact: "total", risk.AttrEPSS: 0.94}}
	return risk.PriorityInput{
		Matches: []risk.Match{{Indicator: indicator(cve, intel.Report{Observable: cve, Source: "kev", Confidence: 100,
			LastSeen: now, Tags: []string{"kev"}, ThreatType: "exploited-vulnerability"}), Entities: []intel.Entity{vuln}}},
		Reliability: grades,
		Assets: []intel.Asset{host("vpn-gw-01", intel.CriticalityHigh, "", assets.ExposureInternet,
			map[string]string{assets.AttrServiceTier: "0"})},
		Now: now,
	}
}

// example5 is worked example 5: a low-confidence domain on a segmented development VM.
func example5() risk.PriorityInput {
	return risk.PriorityInput{
		Matches: []risk.Match{{Quality: risk.MatchFQDN, Indicator: indicator(devDomain,
			report(devDomain, "lowfeed", 40, 5*day, "malware", ""))}},
		Reliability: grades,
		Assets:      []intel.Asset{host("dev-vm-17", intel.CriticalityLow, "", assets.ExposureSegmented, nil)},
		Now:         now,
	}
}

// The five worked examples of docs/soc-integration.md 3.3: same inputs, same priority (±1) and band.
func TestPriorityWorkedExamples(t *testing.T) {
	tests := []struct {
		name                string
		in                  risk.PriorityInput
		want                int // as written in 3.3
		level, action       string
		l, s, c, e          float64 // factors as written in 3.3 (l < 0: not checked)
		lTol                float64
		gates               []string
		formula             int
		wantEvidenceContain string
	}{
		{name: "1 C2 hit from a finance laptop", in: example1(), want: 82, level: "critical", action: "Act",
			l: 0.816, s: 0.9, c: 0.75, e: 1.0, lTol: 0.002, gates: []string{}, formula: 82,
			wantEvidenceContain: "2 sources [B,B] report 203.0.113.77 as More_eggs c2; most recent 1 day ago (2026-11-21)."},
		{name: "2 old report of a Cloudflare IP", in: example2(200 * day), want: 0, level: "info", action: "Enrich",
			l: 0, s: 0.9, c: 0.75, e: 1.0, lTol: 0.0005, gates: []string{risk.GateBenign, risk.GateUnlikely}, formula: 0,
			wantEvidenceContain: "Last reported 200 days ago (2026-05-06) by x [C]; beyond the 47-day IP lifetime."},
		{name: "2 same IP reported 10 days ago", in: example2(10 * day), want: 19, level: "info", action: "Enrich",
			l: 0.021, s: 0.9, c: 0.75, e: 1.0, lTol: 0.001, gates: []string{risk.GateBenign, risk.GateUnlikely}, formula: 24,
			wantEvidenceContain: "Value is in warninglist 'Cloudflare IPv4 ranges' (×0.1)."},
		{name: "3 typosquat targeting customers", in: example3(), want: 85, level: "critical", action: "Act",
			l: 0.946, s: 0.8, c: 0.8, e: 1.0, lTol: 0.002, gates: []string{}, formula: 85,
			wantEvidenceContain: "Abuse of brand 'Acme': visibility content (V 0.8) × confusability exact (B 1.0) = Rp 0.80."},
		// 3.3 writes C = 0.9 for "tier-0 remote access", a number none of its tables give; the
		// service-tier table gives tier 0 → 1.0. Either way P = min(100, …) = 100.
		{name: "4 KEV on an internet-facing VPN", in: example4(), want: 100, level: "critical", action: "Act",
			l: 1.0, s: 1.0, c: 1.0, e: 1.2, lTol: 0, gates: []string{risk.GateExploited}, formula: 100,
			wantEvidenceContain: "CVE-2024-3400 is in CISA KEV: exploitation is active (L 1)."},
		// 3.3 writes L = 0.172 for a D source (R 0.45), c 0.4, d 0.858; that product is 0.154 (0.172
		// needs R 0.5, F's weight). With R = 0.45 and q = 0.9 for the exact FQDN, L = 0.139 and P = 21,
		// within the ±1 of the written 22, same band and action.
		{name: "5 low-confidence domain on a dev VM", in: example5(), want: 22, level: "low", action: "Track",
			l: 0.4 * 0.45 * 0.858 * 0.9, s: 0.5, c: 0.25, e: 0.8, lTol: 0.002, gates: []string{risk.GateUnlikely}, formula: 21,
			wantEvidenceContain: "1 source [D] reports update-check.example.net as malware; most recent 5 days ago (2026-11-17)."},
	}
	m := risk.DefaultPriorityModel()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := m.Priority(tc.in)
			if d := p.Score - tc.want; d < -1 || d > 1 {
				t.Errorf("score = %d, want %d ±1\nevidence:\n%s", p.Score, tc.want, strings.Join(p.Evidence, "\n"))
			}
			if p.Level != tc.level || p.Action != tc.action || p.Level != risk.Band(p.Score) {
				t.Errorf("level, action = %s, %s; want %s, %s", p.Level, p.Action, tc.level, tc.action)
			}
			f := p.Factors
			if math.Abs(f.L-tc.l) > tc.lTol || math.Abs(f.S-tc.s) > 1e-9 || math.Abs(f.C-tc.c) > 1e-9 || math.Abs(f.E-tc.e) > 1e-9 {
				t.Errorf("factors L %.4f S %.2f C %.2f E %.2f, want L %.4f S %.2f C %.2f E %.2f", f.L, f.S, f.C, f.E, tc.l, tc.s, tc.c, tc.e)
			}
			if f.Formula != tc.formula {
				t.Errorf("formula = %d, want %d", f.Formula, tc.formula)
			}
			if !slices.Equal(p.GatesApplied, tc.gates) {
				t.Errorf("gates = %q, want %q", p.GatesApplied, tc.gates)
			}
			if !slices.Contains(p.Evidence, tc.wantEvidenceContain) {
				t.Errorf("evidence lacks %q:\n%s", tc.wantEvidenceContain, strings.Join(p.Evidence, "\n"))
			}
			if p.ModelVersion != "omen-prio-1" {
				t.Errorf("model version = %q", p.ModelVersion)
			}
		})
	}
}

// The factor-level arithmetic of the worked examples, straight through the formula.
func TestFormula(t *testing.T) {
	tests := []struct {
		l, s, c, e float64
		want       int
	}{
		{0.816, 0.9, 0.75, 1.0, 82},  // example 1
		{0.021, 0.9, 0.75, 1.0, 24},  // example 2, before G1
		{0.946, 0.8, 0.8, 1.0, 85},   // example 3
		{1.0, 1.0, 0.9, 1.2, 100},    // example 4: 96.5 × 1.2, capped
		{1.0, 1.0, 0.9, 1.0, 97},     // example 4 without exposure: 96.5
		{0.172, 0.5, 0.25, 0.8, 22},  // example 5 as written
		{0, 1, 1, 1.2, 0},            // any zero factor pulls P to 0
		{0.9, 0.9, 0.9, 1.0, 90},     // the geometric mean does not compress
		{-0.1, 0.5, 0.5, 1.0, 0},     // out-of-range input stays in range
		{1.0, 1.0, 1.0, 5.0, 100},    // ...and so does an outsized multiplier
		{0.5, 0.5, 0.5, 1.0, 50},     // exact
		{0.125, 1.0, 1.0, 1.0, 50},   // ∛0.125 = 0.5
		{0.001, 1.0, 1.0, 1.0, 10},   // ∛0.001 = 0.1
		{0.216, 1.0, 1.0, 1.2, 72},   // 0.6 × 1.2
		{0.512, 1.0, 1.0, 0.5, 40},   // blocked
		{0.343, 1.0, 1.0, 0.8, 56},   // segmented
		{0.729, 1.0, 1.0, 1.0, 90},   // 0.9
		{0.027, 1.0, 1.0, 1.0, 30},   // 0.3
		{0.008, 1.0, 1.0, 1.0, 20},   // 0.2
		{0.000001, 1.0, 1.0, 1.0, 1}, // 0.01
	}
	for _, tc := range tests {
		if got := risk.Formula(tc.l, tc.s, tc.c, tc.e); got != tc.want {
			t.Errorf("Formula(%g, %g, %g, %g) = %d, want %d", tc.l, tc.s, tc.c, tc.e, got, tc.want)
		}
	}
}

// A warninglisted CDN address never reaches 20, however recent or strong the reports and however
// critical the asset, unless something inside corroborates it.
func TestGateBenignInfrastructure(t *testing.T) {
	m := risk.DefaultPriorityModel()
	extreme := host("core-db", intel.CriticalityExtreme, assets.DataRestricted, assets.ExposureInternet, nil)
	for _, age := range []time.Duration{0, time.Hour, day, 3 * day, 10 * day, 30 * day, 46 * day, 200 * day} {
		in := example2(age)
		in.Matches[0].Indicator.Reports = append(in.Matches[0].Indicator.Reports,
			report(cdnIP, "topfeed", 100, age, "ransomware", "LockBit"))
		in.Assets = []intel.Asset{extreme}
		in.Sightings = []intel.Sighting{{Where: "host-a", LastSeen: now}, {Where: "host-b", LastSeen: now}}
		p := m.Priority(in)
		if p.Score >= 20 || !slices.Contains(p.GatesApplied, risk.GateBenign) {
			t.Errorf("age %v: score %d gates %q, want < 20 with G1", age, p.Score, p.GatesApplied)
		}
		if p.Level != "info" {
			t.Errorf("age %v: level %s, want info", age, p.Level)
		}
	}
	// Internal behavioural corroboration lifts G1 (G2 still applies to the dampened L).
	in := example2(0)
	in.Assets = []intel.Asset{extreme}
	in.Corroborated = true
	if p := m.Priority(in); slices.Contains(p.GatesApplied, risk.GateBenign) || p.Score != p.Factors.Formula || p.Score < 20 {
		t.Errorf("corroborated: score %d (formula %d) gates %q, want the formula's, above 19, without G1",
			p.Score, p.Factors.Formula, p.GatesApplied)
	}
	// So does an analyst-confirmed sighting.
	in.Corroborated = false
	in.Sightings = []intel.Sighting{{Where: "host-a", LastSeen: now.Add(-48 * time.Hour), Verdict: "tp"}}
	if p := m.Priority(in); slices.Contains(p.GatesApplied, risk.GateBenign) {
		t.Errorf("confirmed sighting: gates %q, want no G1", p.GatesApplied)
	}
}

// A fresh C2 hit on an extreme-criticality internet-facing asset reaches Act, and is eligible for
// auto-response unless the value is on the do-not-block list.
func TestFreshC2OnExtremeAssetActs(t *testing.T) {
	in := risk.PriorityInput{
		Matches: []risk.Match{{Quality: risk.MatchDedicatedIP, Indicator: indicator(c2IP,
			report(c2IP, "abuse.ch", 90, time.Hour, "c2", "Cobalt Strike"), report(c2IP, "vendorx", 80, 0, "botnet_cc", ""))}},
		Reliability: grades,
		Assets:      []intel.Asset{host("dc-01", intel.CriticalityExtreme, "", assets.ExposureInternet, nil)},
		Now:         now,
	}
	m := risk.DefaultPriorityModel()
	p := m.Priority(in)
	if p.Score < 80 || p.Action != "Act" || p.Level != "critical" || !p.AutoResponse {
		t.Fatalf("score %d %s %s auto %v, want ≥ 80 critical Act auto\n%s", p.Score, p.Level, p.Action, p.AutoResponse,
			strings.Join(p.Evidence, "\n"))
	}
	in.DoNotBlock = true
	if p := m.Priority(in); p.AutoResponse || p.Action != "Act" {
		t.Errorf("do-not-block: auto %v action %s, want Act without auto-response", p.AutoResponse, p.Action)
	}
}

// KEV (or SSVC exploitation active) on an internet-facing asset is at least 80; on an internal one
// G3 does not apply.
func TestGateKnownExploited(t *testing.T) {
	m := risk.DefaultPriorityModel()
	for _, attrs := range []map[string]any{
		{risk.AttrKEV: true, risk.AttrTechnicalImpact: "partial"},
		{risk.AttrExploitation: "active", risk.AttrCVSS: 5.0},
	} {
		in := example4()
		in.Matches[0].Indicator.Reports[0].Tags = nil
		in.Matches[0].Entities[0].Attributes = attrs
		in.Assets = []intel.Asset{host("web-01", intel.CriticalityLow, "", assets.ExposureInternet, nil)}
		p := m.Priority(in)
		if p.Score < 80 || !slices.Contains(p.GatesApplied, risk.GateExploited) || p.Factors.Formula >= 80 {
			t.Errorf("%v internet-facing: score %d formula %d gates %q, want ≥ 80 by G3", attrs, p.Score, p.Factors.Formula, p.GatesApplied)
		}
		in.Assets[0].Exposure = assets.ExposureInternal
		p = m.Priority(in)
		if p.Score >= 80 || slices.Contains(p.GatesApplied, risk.GateExploited) {
			t.Errorf("%v internal: score %d gates %q, want < 80 without G3", attrs, p.Score, p.GatesApplied)
		}
	}
}

// L below 0.2 caps P at 39 even when severity, consequence and exposure are all at their top.
func TestGateUnlikely(t *testing.T) {
	in := risk.PriorityInput{
		Matches:     []risk.Match{{Indicator: indicator(c2IP, report(c2IP, "topfeed", 19, 0, "ransomware", ""))}},
		Reliability: grades,
		Assets:      []intel.Asset{host("core-db", intel.CriticalityExtreme, "", assets.ExposureInternet, nil)},
		Now:         now,
	}
	p := risk.DefaultPriorityModel().Priority(in)
	if p.Factors.L >= 0.2 || p.Factors.Formula <= 39 || p.Score != 39 || !slices.Equal(p.GatesApplied, []string{risk.GateUnlikely}) {
		t.Errorf("L %.3f formula %d score %d gates %q, want L < 0.2, formula > 39, score 39 by G2",
			p.Factors.L, p.Factors.Formula, p.Score, p.GatesApplied)
	}
	if p.Level != "low" || p.Action != "Track" {
		t.Errorf("level %s action %s, want low Track", p.Level, p.Action)
	}
}

// An analyst's false-positive verdict sets P to 0.
func TestGateVerdict(t *testing.T) {
	in := example1()
	in.FalsePositive = true
	p := risk.DefaultPriorityModel().Priority(in)
	if p.Score != 0 || p.Factors.Formula != 82 || !slices.Contains(p.GatesApplied, risk.GateVerdict) || p.Action != "Enrich" {
		t.Errorf("score %d formula %d gates %q action %s, want 0 from 82 by G4, Enrich", p.Score, p.Factors.Formula, p.GatesApplied, p.Action)
	}
}

// TLP:RED evidence is withheld from a recipient cleared for AMBER, but still counts in the score.
func TestGateSharing(t *testing.T) {
	in := example1()
	in.Matches[0].Indicator.Reports[1].TLP = intel.TLPRed
	m := risk.DefaultPriorityModel()
	internal := m.Priority(in)
	amber := intel.TLPAmber
	in.Clearance = &amber
	p := m.Priority(in)
	if p.Score != internal.Score || !slices.Contains(p.GatesApplied, risk.GateSharing) {
		t.Errorf("score %d (internal %d) gates %q, want the same score with G5", p.Score, internal.Score, p.GatesApplied)
	}
	all := strings.Join(p.Evidence, "\n")
	if strings.Contains(all, "vendorx") || !strings.Contains(all, "Evidence of 1 source withheld: above the recipient's clearance TLP:AMBER.") {
		t.Errorf("evidence leaks or lacks the withheld note:\n%s", all)
	}
	if slices.Contains(internal.GatesApplied, risk.GateSharing) || !strings.Contains(strings.Join(internal.Evidence, "\n"), "vendorx [B]") {
		t.Errorf("internal use withholds: gates %q", internal.GatesApplied)
	}
	red := intel.TLPRed
	in.Clearance = &red
	if p := m.Priority(in); slices.Contains(p.GatesApplied, risk.GateSharing) {
		t.Errorf("cleared for RED: gates %q, want no G5", p.GatesApplied)
	}
}

// Raising criticality, data classification, service tier, privilege or exposure never lowers P.
func TestPriorityMonotone(t *testing.T) {
	m := risk.DefaultPriorityModel()
	// Unrecorded criticality is not on the scale (it scores as UnknownImpact), so the scale starts at low.
	crits := []intel.Criticality{intel.CriticalityLow, intel.CriticalityMedium, intel.CriticalityHigh, intel.CriticalityExtreme}
	exposures := []string{assets.ExposureSegmented, assets.ExposureInternal, assets.ExposureInternet}
	datas := []string{"", assets.DataPublic, assets.DataInternal, assets.DataConfidential, assets.DataRestricted}
	bases := map[string]func() risk.PriorityInput{
		"example1": example1, "example3": example3, "example4": example4, "example5": example5,
		"example2-fresh": func() risk.PriorityInput { return example2(day) },
		"unlikely": func() risk.PriorityInput {
			in := example5()
			in.Matches[0].Indicator.Reports[0].Confidence = 10
			return in
		},
	}
	for name, base := range bases {
		for _, data := range datas {
			prevByExposure := map[string]int{}
			for _, crit := range crits {
				prev := -1
				for _, x := range exposures {
					in := base()
					in.Assets = []intel.Asset{host("h", crit, data, x, nil)}
					p := m.Priority(in).Score
					if p < prev {
						t.Errorf("%s crit %q data %q: exposure %s lowers P to %d from %d", name, crit, data, x, p, prev)
					}
					if p < prevByExposure[x] {
						t.Errorf("%s data %q exposure %s: criticality %q lowers P to %d from %d", name, data, x, crit, p, prevByExposure[x])
					}
					prev, prevByExposure[x] = p, p
				}
			}
		}
	}
	// Service tier and privilege, through the assets package's attribute keys.
	for name, base := range bases {
		prev := -1
		for _, tier := range []string{"", "3", "2", "1", "0"} {
			in := base()
			in.Assets = []intel.Asset{host("h", intel.CriticalityLow, "", assets.ExposureInternal, map[string]string{assets.AttrServiceTier: tier})}
			if p := m.Priority(in).Score; p < prev {
				t.Errorf("%s: service tier %q lowers P to %d from %d", name, tier, p, prev)
			} else {
				prev = p
			}
		}
		prev = -1
		for _, priv := range []string{"", assets.PrivilegeStandard, assets.PrivilegePrivileged, assets.PrivilegeAdmin} {
			in := base()
			in.Assets = []intel.Asset{{Kind: assets.KindPerson, Name: "jdoe", Criticality: intel.CriticalityLow,
				Exposure: assets.ExposureInternal, Attributes: map[string]string{assets.AttrPrivilege: priv}}}
			if p := m.Priority(in).Score; p < prev {
				t.Errorf("%s: privilege %q lowers P to %d from %d", name, priv, p, prev)
			} else {
				prev = p
			}
		}
	}
}

// The evidence names its counts, sources with reliability letters, dates and "N days ago".
func TestPriorityEvidence(t *testing.T) {
	p := risk.DefaultPriorityModel().Priority(example1())
	want := []string{
		"2 sources [B,B] report 203.0.113.77 as More_eggs c2; most recent 1 day ago (2026-11-21).",
		"abuse.ch [B]: confidence 90, last seen 3 days ago (2026-11-19), decay 0.81, contributes 0.62.",
		"vendorx [B]: confidence 80, last seen 1 day ago (2026-11-21), decay 0.90, contributes 0.61.",
		"Seen by 2 other internal hosts or users in the last 24 hours (corroboration 0.36).",
		"Likelihood L 0.816 = L_intel 0.906 × match quality 0.9 (dedicated-ip) × 1.",
		`Threat severity S 0.90: c2 ("c2" from abuse.ch).`,
		"Asset 'fin-lt-0231' (host): criticality high (0.75), data confidential (0.70); impact 0.75.",
		"Consequence C 0.75 = max(internal impact 0.75, reputational 0.00).",
		"Exposure E 1.0: asset 'fin-lt-0231' is internal.",
		"Priority 82 = 100·∛(L 0.816 · S 0.90 · C 0.75) · E 1.0.",
	}
	if !slices.Equal(p.Evidence, want) {
		t.Errorf("evidence:\n%s\nwant:\n%s", strings.Join(p.Evidence, "\n"), strings.Join(want, "\n"))
	}
	if p.Factors.Sightings != 2 || p.Factors.Sources != 2 || math.Abs(p.Factors.LIntel-0.906) > 0.001 {
		t.Errorf("factors %+v, want 2 sightings, 2 sources, L_intel 0.906", p.Factors)
	}
	// Gates explain themselves.
	p = risk.DefaultPriorityModel().Priority(example2(10 * day))
	all := strings.Join(p.Evidence, "\n")
	for _, s := range []string{"Gate G1: warninglisted with no internal behavioural corroboration; priority at most 19.",
		"Gate G2: likelihood 0.021 below 0.2; priority at most 39.", "Priority 24 ="} {
		if !strings.Contains(all, s) {
			t.Errorf("evidence lacks %q:\n%s", s, all)
		}
	}
}

// omen.priority carries the fields the issue names.
func TestPriorityJSON(t *testing.T) {
	b, err := json.Marshal(risk.DefaultPriorityModel().Priority(example2(10 * day)))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"score", "level", "action", "model_version", "factors", "gates_applied", "evidence"} {
		if _, ok := got[k]; !ok {
			t.Errorf("omen.priority lacks %q: %s", k, b)
		}
	}
	f, _ := got["factors"].(map[string]any)
	for _, k := range []string{"likelihood", "severity", "consequence", "exposure", "match_quality", "dampener", "formula"} {
		if _, ok := f[k]; !ok {
			t.Errorf("factors lack %q: %s", k, b)
		}
	}
	if g, _ := json.Marshal(risk.DefaultPriorityModel().Priority(example1())); !strings.Contains(string(g), `"gates_applied":[]`) {
		t.Errorf("no gates must marshal as [], got %s", g)
	}
}

// Copies of one upstream list count once.
func TestPriorityUpstreamDedup(t *testing.T) {
	o := c2IP
	in := risk.PriorityInput{
		Matches:     []risk.Match{{Indicator: indicator(o, report(o, "mirror-1", 80, day, "c2", ""), report(o, "mirror-2", 80, day, "c2", ""))}},
		Reliability: grades,
		Assets:      []intel.Asset{finLaptop},
		Now:         now,
	}
	m := risk.DefaultPriorityModel()
	both := m.Priority(in)
	in.Upstream = func(string) string { return "feodo" }
	once := m.Priority(in)
	if once.Factors.L >= both.Factors.L || once.Factors.Sources != 1 {
		t.Errorf("deduplicated L %.3f sources %d, want below %.3f and 1", once.Factors.L, once.Factors.Sources, both.Factors.L)
	}
	if !slices.Contains(once.Evidence, "Upstream 'feodo' counted once; copies from mirror-2 dropped.") {
		t.Errorf("evidence:\n%s", strings.Join(once.Evidence, "\n"))
	}
}

// Severity comes from linked entities too; Exfiltration and Impact tactics add 0.1.
func TestPrioritySeverity(t *testing.T) {
	m := risk.DefaultPriorityModel()
	tests := []struct {
		name     string
		threat   string
		entities []intel.Entity
		tactics  []string
		want     float64
	}{
		{"unknown", "", nil, nil, 0.5},
		{"scanner", "scanner", nil, nil, 0.3},
		{"adware", "adware", nil, nil, 0.2},
		{"exploit kit", "exploit_kit", nil, nil, 0.7},
		{"infostealer malware type", "", []intel.Entity{{Type: intel.Malware, Name: "Lumma",
			Attributes: map[string]any{"malware_types": []any{"infostealer"}}}}, nil, 0.8},
		{"malware without type", "scanner", []intel.Entity{{Type: intel.Malware, Name: "X"}}, nil, 0.5},
		{"ransomware", "", []intel.Entity{{Type: intel.Malware, Name: "LockBit",
			Attributes: map[string]any{"malware_types": []any{"ransomware"}}}}, nil, 1.0},
		{"active IR actor", "scanner", []intel.Entity{{Type: intel.IntrusionSet, Name: "FIN7",
			Attributes: map[string]any{risk.AttrActiveIR: true}}}, nil, 1.0},
		{"exfiltration tactic", "c2", nil, []string{"Exfiltration"}, 1.0},
		{"impact via attack pattern", "exploit", []intel.Entity{{Type: intel.AttackPattern, Name: "T1486",
			Attributes: map[string]any{"kill_chain_phases": []any{map[string]any{"kill_chain_name": "mitre-attack", "phase_name": "impact"}}}}}, nil, 0.8},
		{"bonus capped at 1", "ransomware", nil, []string{"impact", "exfiltration"}, 1.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := example1()
			in.Matches[0].Indicator.Reports = []intel.Report{report(c2IP, "abuse.ch", 90, day, tc.threat, "")}
			in.Matches[0].Entities, in.Tactics = tc.entities, tc.tactics
			if p := m.Priority(in); math.Abs(p.Factors.S-tc.want) > 1e-9 {
				t.Errorf("S = %.2f (%s), want %.2f", p.Factors.S, p.Factors.Threat, tc.want)
			}
		})
	}
}

// Without KEV, a vulnerability's likelihood is EPSS, floored at 0.5 with a public proof of concept.
func TestPriorityEPSS(t *testing.T) {
	m := risk.DefaultPriorityModel()
	in := example4()
	in.Matches[0].Indicator.Reports[0].Tags = nil
	in.Matches[0].Entities[0].Attributes = map[string]any{risk.AttrEPSS: 0.12, risk.AttrCVSS: 9.8}
	p := m.Priority(in)
	if p.Factors.L != 0.12 || math.Abs(p.Factors.S-0.98) > 1e-9 || slices.Contains(p.GatesApplied, risk.GateExploited) {
		t.Errorf("L %.2f S %.2f gates %q, want 0.12, 0.98, no G3", p.Factors.L, p.Factors.S, p.GatesApplied)
	}
	in.Matches[0].Entities[0].Attributes[risk.AttrExploitation] = "poc"
	if p := m.Priority(in); p.Factors.L != 0.5 {
		t.Errorf("with PoC L %.2f, want 0.5", p.Factors.L)
	}
}

// Several matches: the highest priority wins, and the evidence says so.
func TestPriorityHighestMatch(t *testing.T) {
	in := example1()
	weak := indicator(devDomain, report(devDomain, "lowfeed", 30, 20*day, "spam", ""))
	in.Matches = append([]risk.Match{{Indicator: weak, Quality: risk.MatchPartial}}, in.Matches...)
	p := risk.DefaultPriorityModel().Priority(in)
	if p.Score != 82 || !slices.Contains(p.Evidence, "Highest of 2 matched indicators.") {
		t.Errorf("score %d, want 82 from the C2 match\n%s", p.Score, strings.Join(p.Evidence, "\n"))
	}
}

// Blocked events and unknown assets.
func TestPriorityExposureAndUnknownAsset(t *testing.T) {
	m := risk.DefaultPriorityModel()
	in := example1()
	in.Blocked = true
	if p := m.Priority(in); p.Factors.E != 0.5 || p.Score != 41 {
		t.Errorf("blocked: E %.1f score %d, want 0.5 and 41", p.Factors.E, p.Score)
	}
	in = example1()
	in.Assets = nil
	p := m.Priority(in)
	if p.Factors.C != 0.5 || p.Factors.E != 1.0 || p.Score != 72 {
		t.Errorf("unknown asset: C %.2f E %.1f score %d, want 0.5, 1.0, 72", p.Factors.C, p.Factors.E, p.Score)
	}
	// Brand abuse observed targeting customers is customer-facing: E 1.2.
	in = example3()
	in.BrandAbuse.Visibility = risk.VisibilityTargeting
	if p := m.Priority(in); p.Factors.E != 1.2 || p.Factors.C != 1.0 || p.Score != 100 {
		t.Errorf("targeting customers: E %.1f C %.2f score %d, want 1.2, 1.0, 100", p.Factors.E, p.Factors.C, p.Score)
	}
}

// The model's weights are configuration: overriding one changes the outcome, and the default is
// not shared between models.
func TestPriorityModelOverride(t *testing.T) {
	m := risk.DefaultPriorityModel()
	m.Criticality[intel.CriticalityHigh] = 1.0
	m.Version = "omen-prio-1+local"
	p := m.Priority(example1())
	if p.Factors.C != 1.0 || p.ModelVersion != "omen-prio-1+local" || p.Score != 90 {
		t.Errorf("override: C %.2f version %s score %d, want 1.0, omen-prio-1+local, 90", p.Factors.C, p.ModelVersion, p.Score)
	}
	if d := risk.DefaultPriorityModel(); d.Criticality[intel.CriticalityHigh] != 0.75 {
		t.Error("overriding a model changed the defaults")
	}
}

func TestConfidenceMapping(t *testing.T) {
	m := risk.DefaultPriorityModel()
	for in, want := range map[string]float64{"High": 0.85, "medium": 0.6, "Low": 0.3, "None": 0, "1": 1.0, "4": 0.35, "6": 0.5} {
		if got, ok := m.Confidence(in); !ok || got != want {
			t.Errorf("Confidence(%q) = %g %v, want %g", in, got, ok, want)
		}
	}
	if _, ok := m.Confidence("7"); ok {
		t.Error("Confidence(7) ok")
	}
}
