package respond

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
)

// Removal reasons of the selection; they are counted in [Report.Removed], not listed one by one.
const (
	ReasonType    = "type"    // the format or the selection does not take the observable type
	ReasonTLP     = "tlp"     // every report is above the TLP ceiling
	ReasonSource  = "source"  // no visible report from a selected source
	ReasonTag     = "tag"     // no visible report with a selected tag
	ReasonSince   = "since"   // last seen before Selection.Since
	ReasonExpired = "expired" // every report expired or fully decayed
	ReasonScore   = "score"   // scores below Selection.MinScore
	ReasonCap     = "cap"     // ranked below Selection.Max
)

// selector applies a [Selection] to one indicator at a time.
type selector struct {
	sel    Selection
	f      Format
	types  map[intel.Type]bool // nil: every type the format accepts
	tags   map[string]bool
	srcs   map[string]bool
	model  risk.Model
	grades func(string) intel.Reliability
	now    time.Time
}

func newSelector(sel Selection, f Format, model risk.Model, grades map[string]intel.Reliability, now time.Time) *selector {
	s := &selector{sel: sel, f: f, model: model, now: now, grades: func(name string) intel.Reliability { return grades[name] }}
	if len(sel.Types) > 0 {
		s.types = map[intel.Type]bool{}
		for _, t := range sel.Types {
			s.types[t] = true
		}
	}
	s.tags = set(sel.Tags)
	s.srcs = set(sel.Sources)
	return s
}

func set(xs []string) map[string]bool {
	if len(xs) == 0 {
		return nil
	}
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// typeOK reports whether the export takes observables of type t.
func (s *selector) typeOK(t intel.Type) bool {
	if s.types != nil && !s.types[t] {
		return false
	}
	return s.f.Accepts(t)
}

// visible returns the indicator as the export may see it: the reports under the TLP ceiling, from
// the selected sources; reason says why nothing is left.
func (s *selector) visible(in intel.Indicator) (intel.Indicator, string) {
	if !s.typeOK(in.Observable.Type) {
		return in, ReasonType
	}
	vis, ok := in.Visible(s.sel.TLP)
	if !ok {
		return in, ReasonTLP
	}
	if s.srcs != nil {
		vis.Reports = slices.DeleteFunc(vis.Reports, func(r intel.Report) bool { return !s.srcs[r.Source] })
		if len(vis.Reports) == 0 {
			return in, ReasonSource
		}
	}
	if s.tags != nil && !slices.ContainsFunc(vis.Reports, func(r intel.Report) bool {
		return slices.ContainsFunc(r.Tags, func(t string) bool { return s.tags[t] })
	}) {
		return in, ReasonTag
	}
	first, last := vis.Reports[0].FirstSeen, vis.Reports[0].LastSeen
	for _, r := range vis.Reports[1:] {
		if !r.FirstSeen.IsZero() && (first.IsZero() || r.FirstSeen.Before(first)) {
			first = r.FirstSeen
		}
		if r.LastSeen.After(last) {
			last = r.LastSeen
		}
	}
	vis.FirstSeen, vis.LastSeen = first, last
	if !s.sel.Since.IsZero() && vis.LastSeen.Before(s.sel.Since) {
		return in, ReasonSince
	}
	return vis, ""
}

// admit returns the indicator as the export may see it, or why it is out: a selection reason, or
// the guard's (with its removal, r.Reason set).
func (s *selector) admit(in intel.Indicator, g *Guard) (vis intel.Indicator, why string, r Removal) {
	vis, why = s.visible(in)
	if why != "" {
		return vis, why, Removal{}
	}
	if r, bad := g.Check(in.Observable); bad {
		return vis, r.Reason, r
	}
	return vis, "", Removal{}
}

// score scores the visible indicator and makes its entry; reason says why it is not exported.
func (s *selector) score(vis intel.Indicator) (Entry, string) {
	p, ok := parseEntryPrefix(vis.Observable)
	return s.scoreWith(vis, p, ok)
}

// scoreWith is score with the indicator's address or network already parsed (ok false for other
// types, see entryPrefix).
func (s *selector) scoreWith(vis intel.Indicator, p netip.Prefix, ok bool) (Entry, string) {
	sc := s.model.Score(vis, risk.Input{Reliability: s.grades, Warninglists: vis.Warninglists, Now: s.now, ScoreOnly: true})
	if sc.Expired {
		return Entry{}, ReasonExpired
	}
	if sc.Score < s.sel.MinScore {
		return Entry{}, ReasonScore
	}
	e := entryOf(vis, sc.Score, s.now)
	e.setPrefix(p, ok)
	return e, ""
}

// entryOf makes the entry of a visible indicator.
func entryOf(vis intel.Indicator, score int, now time.Time) Entry {
	e := Entry{Observable: vis.Observable, Score: score, TLP: vis.TLP(), FirstSeen: vis.FirstSeen,
		LastSeen: vis.LastSeen, ID: vis.ID}
	rs := vis.Reports
	if len(rs) == 1 { // the common case, without allocations
		r := rs[0]
		e.Tags, e.ThreatType, e.Malware = r.Tags, r.ThreatType, r.Malware
		if !r.Expired(now) {
			e.Sources = []string{r.Source}
		}
		return e
	}
	e.Tags = vis.Tags()
	rs = slices.Clone(rs)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].LastSeen.After(rs[j].LastSeen) })
	for _, r := range rs {
		if r.Expired(now) {
			continue
		}
		if !slices.Contains(e.Sources, r.Source) {
			e.Sources = append(e.Sources, r.Source)
		}
		if e.ThreatType == "" {
			e.ThreatType = r.ThreatType
		}
		if e.Malware == "" {
			e.Malware = r.Malware
		}
	}
	return e
}

// rank orders entries by score, highest first, then by value (then type). Entries are large, so
// it sorts small keys and moves each entry once.
func rank(es []Entry) {
	if len(es) < 2 {
		return
	}
	type key struct {
		v     string
		t     intel.Type
		score int32
		i     int32
	}
	keys := make([]key, len(es))
	for i := range es {
		keys[i] = key{v: es[i].Observable.Value, t: es[i].Observable.Type, score: int32(es[i].Score), i: int32(i)}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.score != b.score {
			return int(b.score - a.score)
		}
		if c := strings.Compare(a.v, b.v); c != 0 {
			return c
		}
		return strings.Compare(string(a.t), string(b.t))
	})
	out := make([]Entry, len(es))
	for i, k := range keys {
		out[i] = es[k.i]
	}
	copy(es, out)
}
