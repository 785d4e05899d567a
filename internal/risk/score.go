// Package risk turns reports into scores and priorities, always with the evidence behind them.
//
// It is arithmetic only: no I/O, no clock of its own (callers pass now), so the same inputs always
// give the same score. The indicator score follows the likelihood part of the omen-prio-1 model in
// docs/soc-integration.md section 3.3; [PriorityModel] builds the whole model on it.
package risk

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// ModelVersion names the scoring model; it is written into every output that carries a score.
const ModelVersion = "omen-prio-1"

// Decay is a decay curve d(t) = max(0, 1 − (t/Lifetime)^(1/Delta)) (the MISP/OpenCTI polynomial;
// OpenCTI's pound p gives Delta = 3p).
type Decay struct {
	Lifetime time.Duration
	Delta    float64
}

// At returns the decay factor after age; 1 at age ≤ 0, 0 at and beyond the lifetime.
func (d Decay) At(age time.Duration) float64 {
	if age <= 0 {
		return 1
	}
	if d.Lifetime <= 0 || age >= d.Lifetime || d.Delta <= 0 {
		return 0
	}
	return math.Max(0, 1-math.Pow(float64(age)/float64(d.Lifetime), 1/d.Delta))
}

const day = 24 * time.Hour

// Model holds the scoring parameters. The zero value is not usable: start from [DefaultModel].
type Model struct {
	// Reliability maps an Admiralty grade to its weight. F means unknown (0.5), not bad.
	Reliability map[intel.Reliability]float64
	// Decay per observable type; types not listed use DefaultDecay.
	Decay        map[intel.Type]Decay
	DefaultDecay Decay
	// Warninglisted is the dampener applied to a value on a warninglist (b in omen-prio-1).
	Warninglisted float64
	// SightingWeight is the evidence term each distinct recent internal sighting adds, up to SightingCap.
	SightingWeight float64
	SightingCap    int
	// PartialMatch is the match quality of a CIDR or parent-domain match (q in omen-prio-1).
	PartialMatch float64
}

// DefaultModel returns omen-prio-1's defaults: OpenCTI's built-in lifetimes and pounds per type.
func DefaultModel() Model {
	ipURL := Decay{Lifetime: 47 * day, Delta: 3 * 0.55}
	return Model{
		Reliability: map[intel.Reliability]float64{
			intel.ReliabilityA: 1.0, intel.ReliabilityB: 0.85, intel.ReliabilityC: 0.7,
			intel.ReliabilityD: 0.45, intel.ReliabilityE: 0.15, intel.ReliabilityF: 0.5,
		},
		Decay: map[intel.Type]Decay{
			intel.IPv4: ipURL, intel.IPv6: ipURL, intel.CIDR: ipURL, intel.URL: ipURL,
			intel.Domain: {Lifetime: 300 * day, Delta: 3 * 0.7},
			intel.MD5:    {Lifetime: 460 * day, Delta: 3 * 0.3},
			intel.SHA1:   {Lifetime: 460 * day, Delta: 3 * 0.3},
			intel.SHA256: {Lifetime: 460 * day, Delta: 3 * 0.3},
			intel.SHA512: {Lifetime: 460 * day, Delta: 3 * 0.3},
		},
		DefaultDecay:   Decay{Lifetime: 470 * day, Delta: 3 * 0.35},
		Warninglisted:  0.1,
		SightingWeight: 0.2,
		SightingCap:    5,
		PartialMatch:   0.4,
	}
}

// DecayFor returns the decay curve of observable type t.
func (m Model) DecayFor(t intel.Type) Decay {
	if d, ok := m.Decay[t]; ok {
		return d
	}
	return m.DefaultDecay
}

// ReliabilityWeight returns the weight of grade r (F's weight for an invalid grade).
func (m Model) ReliabilityWeight(r intel.Reliability) float64 {
	if w, ok := m.Reliability[r]; ok {
		return w
	}
	return m.Reliability[intel.ReliabilityF]
}

// SourceScore is one source's contribution to an indicator score.
type SourceScore struct {
	Name        string            `json:"name"`
	Reliability intel.Reliability `json:"reliability"`
	Confidence  int               `json:"confidence"`
	FirstSeen   time.Time         `json:"first_seen"`
	LastSeen    time.Time         `json:"last_seen"`
	Decay       float64           `json:"decay"`
	Evidence    float64           `json:"evidence"` // confidence × reliability × decay, 0..1
	Expired     bool              `json:"expired"`  // valid-until passed or fully decayed
	ThreatType  string            `json:"threat_type,omitempty"`
	Malware     string            `json:"malware,omitempty"`
}

// Score is an indicator's score with its evidence.
type Score struct {
	Score        int           `json:"score"`      // 0..100
	Likelihood   float64       `json:"likelihood"` // 0..1, after dampening
	Expired      bool          `json:"expired"`    // no live report: the indicator no longer matches
	Sources      []SourceScore `json:"sources"`
	Warninglists []string      `json:"warninglists,omitempty"`
	Evidence     []string      `json:"evidence"`
}

// Input is what [Model.Score] needs besides the indicator.
type Input struct {
	// Reliability returns a source's grade; nil or unknown sources count as F.
	Reliability func(source string) intel.Reliability
	// Sightings of the observable inside the organisation; they reset the decay clock and, when
	// recent, add corroboration.
	Sightings []intel.Sighting
	// Warninglists the value is on (names); non-empty dampens the score.
	Warninglists []string
	Now          time.Time
	// ConfirmedResetOnly, when set, lets only analyst-confirmed sightings (verdict "tp") restart the
	// decay clock; the others still count as corroboration. The zero value keeps MISP's semantics,
	// where every sighting restarts it. [PriorityModel] sets it so that other hosts' unconfirmed hits
	// are not counted twice (as corroboration and as freshness).
	ConfirmedResetOnly bool
	// NoEvidence skips the evidence text (bulk exports score millions of indicators and show none).
	NoEvidence bool
	// ScoreOnly computes Score, Likelihood and Expired only, without Sources and Evidence, and
	// without allocating: a feed regeneration scores a million indicators.
	ScoreOnly bool
}

// Score computes the indicator score: for each source report e = confidence × reliability × decay,
// with the decay clock running from the newer of the report's last-seen and the latest sighting;
// sources combine by noisy-OR, recent distinct sightings add corroboration, and a warninglist dampens
// the result.
func (m Model) Score(in intel.Indicator, x Input) Score {
	now := x.Now
	var lastSighting time.Time
	recent := 0
	for _, s := range x.Sightings {
		if s.Verdict == "fp" {
			continue
		}
		if s.LastSeen.After(lastSighting) && (!x.ConfirmedResetOnly || s.Verdict == "tp") {
			lastSighting = s.LastSeen
		}
		if now.Sub(s.LastSeen) <= day {
			recent++
		}
	}
	decay := m.DecayFor(in.Observable.Type)
	out := Score{Warninglists: x.Warninglists}
	if !x.ScoreOnly {
		out.Sources = make([]SourceScore, 0, len(in.Reports))
	}
	miss := 1.0
	live := 0
	for _, r := range in.Reports {
		rel := intel.ReliabilityF
		if x.Reliability != nil {
			if g := x.Reliability(r.Source); g.Valid() {
				rel = g
			}
		}
		clock := r.LastSeen
		if lastSighting.After(clock) {
			clock = lastSighting
		}
		s := SourceScore{Name: r.Source, Reliability: rel, Confidence: r.Confidence, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
			ThreatType: r.ThreatType, Malware: r.Malware}
		if r.Expired(now) {
			s.Expired = true
		} else {
			s.Decay = decay.At(now.Sub(clock))
			s.Evidence = clamp01(float64(r.Confidence)/100) * m.ReliabilityWeight(rel) * s.Decay
			s.Expired = s.Decay == 0
		}
		if !s.Expired {
			live++
			miss *= 1 - s.Evidence
		}
		if !x.ScoreOnly {
			out.Sources = append(out.Sources, s)
		}
	}
	if len(out.Sources) > 1 {
		slices.SortStableFunc(out.Sources, func(a, b SourceScore) int { return cmp.Compare(b.Evidence, a.Evidence) })
	}
	out.Expired = live == 0 && recent == 0
	if !out.Expired {
		for range min(recent, m.SightingCap) {
			miss *= 1 - m.SightingWeight
		}
	}
	l := 1 - miss
	if len(x.Warninglists) > 0 {
		l *= m.Warninglisted
	}
	out.Likelihood = l
	out.Score = int(math.Round(100 * l))
	if !x.NoEvidence && !x.ScoreOnly {
		out.Evidence = m.evidence(in, out, recent, now)
	}
	return out
}

func (m Model) evidence(in intel.Indicator, s Score, recent int, now time.Time) []string {
	// Built with appends, not fmt: bulk lookups phrase this for thousands of indicators per call.
	ev := make([]string, 0, len(s.Sources)+2)
	var b []byte
	live, dead := 0, 0
	for _, src := range s.Sources {
		if src.Expired {
			dead++
		} else {
			live++
		}
	}
	if live > 0 {
		b = append(b[:0], "Reported by "...)
		b = appendPlural(b, live, "source", "sources")
		b = append(b, ": "...)
		var newest time.Time
		b, newest = appendNamesAndNewest(b, s.Sources, false)
		b = append(b, "; most recent "...)
		b = appendAgo(b, now, newest)
		ev = append(ev, string(append(b, '.')))
		for _, src := range s.Sources {
			if src.Expired {
				continue
			}
			b = appendGraded(b[:0], src)
			b = append(b, ": "...)
			if src.ThreatType != "" || src.Malware != "" {
				b = append(b, "reports it as "...)
				b = append(b, strings.TrimSpace(src.ThreatType+" "+src.Malware)...)
				b = append(b, "; "...)
			}
			b = append(b, "confidence "...)
			b = strconv.AppendInt(b, int64(src.Confidence), 10)
			b = append(b, ", first seen "...)
			b = appendAgo(b, now, src.FirstSeen)
			b = append(b, ", last seen "...)
			b = appendAgo(b, now, src.LastSeen)
			b = append(b, ", decay "...)
			b = strconv.AppendFloat(b, src.Decay, 'f', 2, 64)
			b = append(b, ", contributes "...)
			b = strconv.AppendFloat(b, src.Evidence, 'f', 2, 64)
			ev = append(ev, string(append(b, '.')))
		}
	}
	if dead > 0 {
		b = append(b[:0], "Expired for "...)
		var newest time.Time
		b, newest = appendNamesAndNewest(b, s.Sources, true)
		b = append(b, ": last reported "...)
		b = appendAgo(b, now, newest)
		b = append(b, "; beyond the "...)
		b = strconv.AppendInt(b, int64(m.DecayFor(in.Observable.Type).Lifetime/day), 10)
		b = append(b, "-day "...)
		b = append(b, in.Observable.Type...)
		ev = append(ev, string(append(b, " lifetime or past its valid-until."...)))
	}
	if recent > 0 {
		b = append(b[:0], "Seen inside the organisation by "...)
		b = appendPlural(b, recent, "host or user", "hosts or users")
		ev = append(ev, string(append(b, " in the last 24 hours."...)))
	}
	for _, w := range s.Warninglists {
		ev = append(ev, m.WarninglistEvidence(w))
	}
	return ev
}

// WarninglistEvidence phrases that the value is on warninglist name: `Value is on warninglist
// "name" (score ×0.1).`
func (m Model) WarninglistEvidence(name string) string {
	b := make([]byte, 0, 48+len(name))
	b = append(b, "Value is on warninglist "...)
	b = strconv.AppendQuote(b, name)
	b = append(b, " (score ×"...)
	b = strconv.AppendFloat(b, m.Warninglisted, 'g', -1, 64)
	return string(append(b, ")."...))
}

// appendGraded appends "name [grade]".
func appendGraded(b []byte, src SourceScore) []byte {
	b = append(b, src.Name...)
	b = append(b, " ["...)
	b = append(b, src.Reliability.String()...)
	return append(b, ']')
}

// appendNamesAndNewest appends the sources whose Expired is expired as "name [grade], ..." and
// returns the latest LastSeen among them.
func appendNamesAndNewest(b []byte, srcs []SourceScore, expired bool) ([]byte, time.Time) {
	var newest time.Time
	n := 0
	for _, src := range srcs {
		if src.Expired != expired {
			continue
		}
		if n > 0 {
			b = append(b, ", "...)
		}
		n++
		b = appendGraded(b, src)
		if src.LastSeen.After(newest) {
			newest = src.LastSeen
		}
	}
	return b, newest
}

// Ago phrases the time from t to now: "today", "1 day ago", "12 days ago", "in the future".
func Ago(now, t time.Time) string { return string(appendAgo(nil, now, t)) }

func appendAgo(b []byte, now, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "at an unknown time"...)
	}
	d := now.Sub(t)
	switch {
	case d < -time.Minute:
		return append(b, "in the future"...)
	case d < day:
		return append(b, "today"...)
	case d < 2*day:
		return append(b, "1 day ago"...)
	}
	b = strconv.AppendInt(b, int64(d/day), 10)
	return append(b, " days ago"...)
}

func plural(n int, one, many string) string { return string(appendPlural(nil, n, one, many)) }

func appendPlural(b []byte, n int, one, many string) []byte {
	if n == 1 {
		b = append(b, "1 "...)
		return append(b, one...)
	}
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	return append(b, many...)
}

func clamp01(f float64) float64 { return math.Max(0, math.Min(1, f)) }

// Band is the priority band of a 0..100 score (omen-prio-1): critical (Act) ≥ 80, high (Attend)
// 60–79, medium (Track*) 40–59, low (Track) 20–39, info < 20.
func Band(score int) string {
	switch {
	case score >= 80:
		return "critical"
	case score >= 60:
		return "high"
	case score >= 40:
		return "medium"
	case score >= 20:
		return "low"
	}
	return "info"
}

// Verdicts of a lookup.
const (
	Malicious  = "malicious"
	Suspicious = "suspicious"
	Unknown    = "unknown"
	Benign     = "benign"
)

// Verdict maps a score to a verdict the way Cortex analyzers do: malicious from 60 (high and critical),
// suspicious from 20; below that benign when the value is warninglisted, else unknown.
func Verdict(score int, warninglisted bool) string {
	switch {
	case score >= 60:
		return Malicious
	case score >= 20:
		return Suspicious
	case warninglisted:
		return Benign
	}
	return Unknown
}
