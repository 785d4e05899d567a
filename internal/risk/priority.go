package risk

import (
	"fmt"
	"math"
	"time"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/intel"
)

// Gate identifiers, as written into [Priority.GatesApplied] (docs/soc-integration.md 3.3 E).
const (
	GateBenign    = "G1" // warninglisted, no internal behavioural corroboration: P ≤ 19
	GateUnlikely  = "G2" // L < 0.2: P ≤ 39
	GateExploited = "G3" // KEV or SSVC exploitation active on an asset with E ≥ 1.2: P ≥ 80
	GateVerdict   = "G4" // an analyst marked the value a false positive: P = 0
	GateSharing   = "G5" // TLP:RED or AMBER+STRICT evidence withheld above the recipient's clearance
)

// Match qualities: how exactly the event's value matched the indicator (q in omen-prio-1).
const (
	// MatchExact is an exact hash or full-URL match, and also the subject of a finding that omen
	// raised about the value itself (a brand-monitor lookalike): it is the default.
	MatchExact       = "exact"
	MatchFQDN        = "fqdn"         // exact fully qualified domain name
	MatchDedicatedIP = "dedicated-ip" // exact IP of dedicated hosting
	MatchSharedIP    = "shared-ip"    // exact IP of shared hosting
	MatchPartial     = "partial"      // CIDR or parent-domain match
)

// Brand-abuse visibility (V) and confusability (B) levels of omen-prio-1 3.3 C.
const (
	VisibilityRegistered = "registered" // registered or parked
	VisibilityResolving  = "resolving"
	VisibilityContent    = "content"   // serving brand-like content, or an active MX
	VisibilityTargeting  = "targeting" // observed targeting customers: mails, ads, SMS, app-store clone

	ConfusabilityExact   = "exact" // the exact mark, or a homoglyph of it
	ConfusabilityKeyword = "keyword"
	ConfusabilityWeak    = "weak"
)

// Threat classes, the keys of [PriorityModel.Severity].
const (
	ThreatRansomware = "ransomware" // ransomware, wiper
	ThreatActiveIR   = "active-ir"  // an actor linked to an active incident response
	ThreatC2         = "c2"         // C2, loader, backdoor; data exfiltration
	ThreatPhishing   = "phishing"   // credential phishing; infostealer
	ThreatExploit    = "exploit"    // exploit kit, exploitation attempt
	ThreatMalware    = "malware"    // generic malware, unknown family
	ThreatScanner    = "scanner"    // scanner, brute force, spam
	ThreatPUA        = "pua"        // PUA, adware
)

// Entity attribute keys the model reads (besides "malware_types" and "kill_chain_phases" of STIX).
const (
	AttrKEV             = "kev"                   // bool: in CISA KEV (the KEV collector sets it)
	AttrEPSS            = "epss"                  // float 0..1 (the EPSS collector sets it)
	AttrExploitation    = "ssvc_exploitation"     // none, poc or active
	AttrPublicPoC       = "public_poc"            // bool
	AttrTechnicalImpact = "ssvc_technical_impact" // partial or total
	AttrCVSS            = "cvss"                  // CVSS-BT or -BTE base score 0..10
	AttrActiveIR        = "active_ir"             // bool on an actor: linked to an active incident
	AttrTactic          = "tactic"                // ATT&CK tactic of an attack pattern
)

// BandRule is one priority band: scores from Min up to the next band's Min.
type BandRule struct {
	Min    int    `json:"min"`
	Level  string `json:"level"`
	Action string `json:"action"`
}

// PriorityModel holds every weight of omen-prio-1 (docs/soc-integration.md 3.3), so configuration can
// override any of them. The zero value is not usable: start from [DefaultPriorityModel].
type PriorityModel struct {
	Version string
	// Likelihood holds the indicator part: reliability, decay, warninglist dampener, sightings.
	Likelihood Model
	// ECSConfidence and Credibility map a source's confidence to c when it does not give 0..100.
	ECSConfidence map[string]float64
	Credibility   map[int]float64
	// MatchQuality is q per Match* kind.
	MatchQuality map[string]float64

	// Severity is S per Threat* class; ThreatKeywords maps threat types, tags and malware types
	// (lower case, '-' for '_' and ' ') to a class. UnknownSeverity is S when nothing is known.
	Severity        map[string]float64
	ThreatKeywords  map[string]string
	UnknownSeverity float64
	// TacticBonus is added to S for a linked ATT&CK tactic; the largest one applies, S stays ≤ 1.
	TacticBonus map[string]float64

	// Vulnerabilities: L is KEVLikelihood when exploited, else EPSS floored at PoCFloor with a
	// public proof of concept; S is TechnicalImpact, else CVSS/10.
	KEVLikelihood   float64
	PoCFloor        float64
	TechnicalImpact map[string]float64

	// Consequence parts; the highest stake wins.
	Criticality   map[intel.Criticality]float64
	DataClass     map[string]float64
	ServiceTier   map[string]float64
	Privilege     map[string]float64
	Visibility    map[string]float64
	Confusability map[string]float64
	// UnknownImpact is I when no asset involved has any of the parts above recorded and there is no
	// brand abuse. It is omen's choice, not a 3.3 number: inventories are never complete, and a
	// C2 hit from an unlisted host must not score 0. It defaults to medium criticality.
	UnknownImpact float64

	// Exposure is E per assets.Exposure*; Blocked is E when a control blocked the event;
	// CustomerBrandAbuse is E of brand abuse observed targeting customers; DefaultExposure when
	// nothing is known.
	Exposure           map[string]float64
	Blocked            float64
	CustomerBrandAbuse float64
	DefaultExposure    float64

	// Gates.
	BenignCap          int     // G1
	UnlikelyBelow      float64 // G2 threshold on L
	UnlikelyCap        int     // G2
	ExploitedFloor     int     // G3
	ExploitedExposure  float64 // G3: minimum E
	AutoResponseMinL   float64 // Act is auto-response eligible from this L
	ConfirmedResetOnly bool    // see [Input.ConfirmedResetOnly]

	// Bands, highest Min first.
	Bands []BandRule
}

// DefaultPriorityModel returns omen-prio-1's defaults, the numbers of docs/soc-integration.md 3.3.
//
// Where 3.3 can be read two ways, the defaults take the reading under which its five worked
// examples come out as written:
//   - Only analyst-confirmed sightings restart the decay clock ([Input.ConfirmedResetOnly]); other
//     hosts' hits are corroboration only. Example 1 decays its reports from last_seen (d = 0.811 at
//     3 days) although two other hosts hit the address hours ago.
//   - "Customer-facing brand abuse" (E 1.2) is abuse observed targeting customers (V 1.0). Example 3,
//     brand content and an active MX (V 0.8), uses E 1.0.
//   - Match quality defaults to exact (q 1): example 2 gets L 0.021 for a Cloudflare address with
//     none given, and example 3's lookalike is the subject of omen's own finding.
//   - A gate is listed in gates_applied whenever its condition holds, even if it does not change
//     the score (example 5 lists G2 at 22).
func DefaultPriorityModel() PriorityModel {
	lm := DefaultModel()
	return PriorityModel{
		Version:       ModelVersion,
		Likelihood:    lm,
		ECSConfidence: map[string]float64{"none": 0, "low": 0.3, "medium": 0.6, "high": 0.85},
		Credibility:   map[int]float64{1: 1.0, 2: 0.85, 3: 0.6, 4: 0.35, 5: 0.1, 6: 0.5},
		MatchQuality: map[string]float64{MatchExact: 1.0, MatchFQDN: 0.9, MatchDedicatedIP: 0.9,
			MatchSharedIP: 0.5, MatchPartial: lm.PartialMatch},
		Severity: map[string]float64{ThreatRansomware: 1.0, ThreatActiveIR: 1.0, ThreatC2: 0.9, ThreatPhishing: 0.8,
			ThreatExploit: 0.7, ThreatMalware: 0.5, ThreatScanner: 0.3, ThreatPUA: 0.2},
		ThreatKeywords:  defaultThreatKeywords(),
		UnknownSeverity: 0.5,
		TacticBonus:     map[string]float64{"exfiltration": 0.1, "impact": 0.1},
		KEVLikelihood:   1.0,
		PoCFloor:        0.5,
		TechnicalImpact: map[string]float64{"total": 1.0, "partial": 0.6},
		Criticality: map[intel.Criticality]float64{intel.CriticalityLow: 0.25, intel.CriticalityMedium: 0.5,
			intel.CriticalityHigh: 0.75, intel.CriticalityExtreme: 1.0},
		DataClass: map[string]float64{assets.DataPublic: 0.1, assets.DataInternal: 0.4,
			assets.DataConfidential: 0.7, assets.DataRestricted: 1.0},
		ServiceTier: map[string]float64{"3": 0.3, "2": 0.5, "1": 0.75, "0": 1.0},
		Privilege: map[string]float64{assets.PrivilegeStandard: 0.3, assets.PrivilegeService: 0.75,
			assets.PrivilegePrivileged: 0.75, assets.PrivilegeAdmin: 1.0},
		Visibility: map[string]float64{VisibilityRegistered: 0.2, VisibilityResolving: 0.4,
			VisibilityContent: 0.8, VisibilityTargeting: 1.0},
		Confusability: map[string]float64{ConfusabilityExact: 1.0, ConfusabilityKeyword: 0.7, ConfusabilityWeak: 0.4},
		UnknownImpact: 0.5,
		Exposure: map[string]float64{assets.ExposureInternet: 1.2, assets.ExposureInternal: 1.0,
			assets.ExposureSegmented: 0.8},
		Blocked:            0.5,
		CustomerBrandAbuse: 1.2,
		DefaultExposure:    1.0,
		BenignCap:          19,
		UnlikelyBelow:      0.2,
		UnlikelyCap:        39,
		ExploitedFloor:     80,
		ExploitedExposure:  1.2,
		AutoResponseMinL:   0.8,
		ConfirmedResetOnly: true,
		Bands: []BandRule{
			{80, "critical", "Act"}, {60, "high", "Attend"}, {40, "medium", "Track*"},
			{20, "low", "Track"}, {0, "info", "Enrich"},
		},
	}
}

func defaultThreatKeywords() map[string]string {
	classes := map[string][]string{
		ThreatRansomware: {"ransomware", "wiper"},
		ThreatC2: {"c2", "cc", "c&c", "c2-server", "botnet-cc", "command-and-control", "loader", "backdoor",
			"rat", "remote-access-trojan", "exfiltration", "data-exfiltration"},
		ThreatPhishing: {"phishing", "credential-phishing", "infostealer", "stealer", "credential-theft"},
		ThreatExploit:  {"exploit-kit", "exploit", "exploitation", "exploitation-attempt"},
		ThreatMalware: {"malware", "malware-download", "payload-delivery", "trojan", "dropper", "virus", "worm",
			"generic-malware"},
		ThreatScanner: {"scanner", "scanning", "brute-force", "bruteforce", "spam", "spammer"},
		ThreatPUA:     {"pua", "pup", "adware"},
	}
	m := map[string]string{}
	for class, words := range classes {
		for _, w := range words {
			m[w] = class
		}
	}
	return m
}

// Confidence maps a source's confidence to c: an ECS level (none, low, medium, high) or an
// Admiralty credibility digit ("1".."6"); ok is false for anything else.
func (m PriorityModel) Confidence(s string) (c float64, ok bool) {
	if c, ok := m.ECSConfidence[keyword(s)]; ok {
		return c, true
	}
	if len(s) == 1 && s[0] >= '1' && s[0] <= '6' {
		c, ok := m.Credibility[int(s[0]-'0')]
		return c, ok
	}
	return 0, false
}

// Match is one indicator the event matched.
type Match struct {
	Indicator intel.Indicator
	// Quality is one of the Match* kinds; empty means [MatchExact].
	Quality string
	// Warninglists the value is on, besides those recorded on the indicator.
	Warninglists []string
	// Entities linked to the indicator: malware, actors, attack patterns, vulnerabilities.
	Entities []intel.Entity
}

// BrandAbuse describes a lookalike of one of the organisation's brands (the reputational factor).
type BrandAbuse struct {
	Brand         string
	Visibility    string // a Visibility* level
	Confusability string // a Confusability* level
}

// PriorityInput is what [PriorityModel.Priority] needs.
type PriorityInput struct {
	Matches []Match
	// Where is the host or user of the current event; its own sightings are not corroboration.
	Where string
	// Sightings of the matched values inside the organisation.
	Sightings []intel.Sighting
	// Reliability returns a source's learned Admiralty grade; nil or unknown sources count as F.
	Reliability func(source string) intel.Reliability
	// Upstream returns the upstream list a source redistributes ("" if none); sources with the same
	// upstream count once.
	Upstream func(source string) string
	// Assets involved (host, user, service); the highest stake wins.
	Assets []intel.Asset
	// BrandAbuse is set when the value is a lookalike of one of the organisation's brands.
	BrandAbuse *BrandAbuse
	// Tactics of the detection that produced the event (ATT&CK tactic names), if any.
	Tactics []string
	// Blocked: a security control already blocked it (event.outcome failure, OCSF Blocked/Dropped).
	Blocked bool
	// Corroborated: internal behavioural corroboration (an EDR or IDS detection on the same
	// activity). An analyst-confirmed sighting (verdict "tp") also counts.
	Corroborated bool
	// FalsePositive: an analyst marked the value a false positive (gate G4).
	FalsePositive bool
	// DoNotBlock: the value is on the do-not-block list, so Act is never auto-response eligible.
	DoNotBlock bool
	// Clearance is the recipient's TLP clearance for outbound evidence; nil means internal use,
	// where nothing is withheld (gate G5).
	Clearance *intel.TLP
	Now       time.Time
}

// Factors are the model's factors and their parts.
type Factors struct {
	L float64 `json:"likelihood"`
	S float64 `json:"severity"`
	C float64 `json:"consequence"`
	E float64 `json:"exposure"`

	// Parts of L: the noisy-OR of the evidence, match quality q and dampener b.
	LIntel       float64 `json:"likelihood_intel"`
	MatchQuality float64 `json:"match_quality"`
	Dampener     float64 `json:"dampener"`
	Sources      int     `json:"sources"`   // live source reports, after upstream de-duplication
	Sightings    int     `json:"sightings"` // distinct other hosts or users in the window
	Exploited    bool    `json:"exploited,omitempty"`
	EPSS         float64 `json:"epss,omitempty"`

	// Parts of S.
	Threat      string  `json:"threat,omitempty"` // the threat class or vulnerability rule that set S
	TacticBonus float64 `json:"tactic_bonus,omitempty"`

	// Parts of C = max(I, Rp).
	Impact        float64 `json:"impact"`
	Criticality   float64 `json:"criticality,omitempty"`
	DataClass     float64 `json:"data_classification,omitempty"`
	ServiceTier   float64 `json:"service_tier,omitempty"`
	Privilege     float64 `json:"privilege,omitempty"`
	Reputational  float64 `json:"reputational"`
	Visibility    float64 `json:"visibility,omitempty"`
	Confusability float64 `json:"confusability,omitempty"`

	// Formula is P before the gates.
	Formula int `json:"formula"`
}

// Priority is the business-risk priority of an event or finding, the omen.priority object.
type Priority struct {
	Score        int      `json:"score"` // 0..100
	Level        string   `json:"level"` // critical, high, medium, low, info
	Action       string   `json:"action"`
	AutoResponse bool     `json:"auto_response"` // Act with L ≥ 0.8 and not on the do-not-block list
	ModelVersion string   `json:"model_version"`
	Factors      Factors  `json:"factors"`
	GatesApplied []string `json:"gates_applied"`
	Evidence     []string `json:"evidence"`
}

// Formula is omen-prio-1's P = min(100, round(100 · ∛(L·S·C) · E)), before the gates.
func Formula(l, s, c, e float64) int {
	p := 100 * math.Cbrt(math.Max(0, l*s*c)) * math.Max(0, e)
	return int(math.Min(100, math.Round(p)))
}

// Priority computes omen-prio-1 for each match and returns the highest (ties: the higher L). With no
// match L is 0, and so is the priority.
func (m PriorityModel) Priority(in PriorityInput) Priority {
	matches := in.Matches
	if len(matches) == 0 {
		matches = []Match{{}}
	}
	var best Priority
	for i, mt := range matches {
		p := m.priority(mt, in)
		if i == 0 || p.Score > best.Score || p.Score == best.Score && p.Factors.L > best.Factors.L {
			best = p
		}
	}
	if len(matches) > 1 {
		best.Evidence = append(best.Evidence, fmt.Sprintf("Highest of %d matched indicators.", len(matches)))
	}
	return best
}

// priority scores one match.
func (m PriorityModel) priority(mt Match, in PriorityInput) Priority {
	p := Priority{ModelVersion: m.Version, GatesApplied: []string{}}
	l := m.likelihood(mt, in, &p)
	s := m.severity(mt, in, &p)
	c := m.consequence(in, &p)
	e := m.exposure(in, &p)
	p.Factors.Formula = Formula(l.value, s, c, e)
	p.Score = p.Factors.Formula
	p.Evidence = append(p.Evidence, fmt.Sprintf("Priority %d = 100·∛(L %.3f · S %.2f · C %.2f) · E %.1f.",
		p.Factors.Formula, l.value, s, c, e))
	m.gates(l, in, &p)
	p.Level, p.Action = m.band(p.Score)
	p.AutoResponse = len(m.Bands) > 0 && p.Score >= m.Bands[0].Min && l.value >= m.AutoResponseMinL && !in.DoNotBlock
	return p
}

// band returns the level and action of a score: the first band (highest Min first) it reaches, else
// the last band; [Band]'s level with no action when the model has no bands.
func (m PriorityModel) band(score int) (level, action string) {
	if len(m.Bands) == 0 {
		return Band(score), ""
	}
	for _, b := range m.Bands {
		if score >= b.Min {
			return b.Level, b.Action
		}
	}
	last := m.Bands[len(m.Bands)-1]
	return last.Level, last.Action
}
