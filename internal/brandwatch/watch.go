// Package brandwatch turns observed domain names (Certificate Transparency entries, newly seen
// domains) into lookalike findings: each name is checked against the organisation's brands
// (assets of kind brand and domain) with the brand matcher, and a lookalike is recorded as an
// indicator of omen's brand monitor and raised as a finding whose priority carries omen-prio-1's
// reputational factor.
package brandwatch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/brand"
	"github.com/omen-tip/omen/internal/collect/ctlog"
	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
)

// Source is the store source lookalikes are reported under.
const Source = "omen-brand-monitor"

// FindingKind is the kind of the findings a lookalike raises.
const FindingKind = "lookalike-domain"

// Brands returns the brands of the organisation's assets (kind brand: its domains and keywords;
// kind domain: the domain), and for each brand name the asset it comes from. Values the matcher
// cannot use are reported through warn.
func Brands(as []intel.Asset, warn func(asset, value string, err error)) ([]brand.Brand, map[string]intel.Asset) {
	var out []brand.Brand
	byName := map[string]intel.Asset{}
	for _, a := range as {
		if a.Kind != assets.KindBrand && a.Kind != assets.KindDomain {
			continue
		}
		b := brand.Brand{Name: a.Name}
		vals := assets.Values(a)
		if a.Kind == assets.KindDomain && len(vals) == 0 {
			vals = []assets.Value{{Type: assets.Domain, Value: a.Name}}
		}
		for _, v := range vals {
			switch v.Type {
			case assets.Domain:
				if err := brand.ValidDomain(v.Value); err != nil {
					if warn != nil {
						warn(a.Name, v.Value, err)
					}
					continue
				}
				b.Domains = append(b.Domains, v.Value)
			case assets.Keyword:
				b.Keywords = append(b.Keywords, v.Value)
			}
		}
		if len(b.Domains) > 0 || len(b.Keywords) > 0 {
			out = append(out, b)
			byName[a.Name] = a
		}
	}
	return out, byName
}

// Watcher checks names against the brands and records what imitates them. It is safe for
// concurrent use (the CT monitor calls Handle from one goroutine per log).
type Watcher struct {
	st    store.Store
	fs    *findings.Service
	model risk.PriorityModel
	log   *slog.Logger
	now   func() time.Time
	// Recommend adds recommendations to a lookalike finding (takedown, RPZ); nil adds none.
	Recommend func(f intel.Finding) []string
	// Liveness, when set, probes each lookalike (DNS A/MX, the page and whether it shows the
	// brand) to set the visibility of the brand abuse; nil takes every lookalike as resolving (a
	// certificate was issued for it).
	Liveness *Prober

	mu      sync.Mutex
	matcher *brand.Matcher
	assets  map[string]intel.Asset
	brands  map[string]brand.Brand
	allow   []string
}

// New returns a Watcher; call Reload before the first Handle. allow lists known-good partner
// domains that never match.
func New(st store.Store, fs *findings.Service, model risk.PriorityModel, log *slog.Logger, allow []string) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{st: st, fs: fs, model: model, log: log, now: time.Now, allow: allow}
}

// SetClock replaces the clock (tests).
func (w *Watcher) SetClock(now func() time.Time) { w.now = now }

// Reload reads the brands from the assets again; with none, names are not checked.
func (w *Watcher) Reload(ctx context.Context) error {
	as, err := w.st.ListAssets(ctx, "")
	if err != nil {
		return fmt.Errorf("listing assets: %w", err)
	}
	brands, byName := Brands(as, func(asset, value string, err error) {
		w.log.Warn("brand monitor: skipping an asset domain", "asset", asset, "value", value, "err", err)
	})
	var m *brand.Matcher
	if len(brands) > 0 {
		if m, err = brand.NewMatcher(brands, brand.Options{Allow: w.allow}); err != nil {
			return err
		}
	}
	if _, err := w.st.Source(ctx, Source); err != nil {
		if _, err := w.st.PutSource(ctx, intel.Source{Name: Source, Kind: "brand-monitor", Reliability: intel.ReliabilityB,
			Confidence: 80, TLP: intel.TLPAmber, Enabled: true}); err != nil {
			return fmt.Errorf("creating source %s: %w", Source, err)
		}
	}
	byBrand := map[string]brand.Brand{}
	for _, b := range brands {
		byBrand[b.Name] = b
	}
	w.mu.Lock()
	w.matcher, w.assets, w.brands = m, byName, byBrand
	w.mu.Unlock()
	return nil
}

// Observation is one observed name and where it was seen.
type Observation struct {
	Name     string
	Evidence string    // "certificate in CT log argon2026h1 at index 123 (issuer CN=R3,O=Let's Encrypt)"
	Seen     time.Time // when it was observed (the log's timestamp)
}

// Lookalike is a name that imitates a brand, as recorded.
type Lookalike struct {
	Observation
	Hit      brand.Hit
	Priority risk.Priority
	Finding  intel.Finding
	Created  bool
}

// Handle checks the names of CT entries (the ctlog.Monitor handler).
func (w *Watcher) Handle(ctx context.Context, entries []ctlog.Entry) error {
	var obs []Observation
	for _, e := range entries {
		kind := "certificate"
		if e.Precert {
			kind = "precertificate"
		}
		ev := fmt.Sprintf("%s in CT log %s at index %d (issuer %s)", kind, e.Log, e.Index, e.Issuer)
		for _, n := range e.Names {
			obs = append(obs, Observation{Name: n, Evidence: ev, Seen: e.Logged})
		}
	}
	_, err := w.Check(ctx, obs)
	return err
}

// Check matches each observation, records the lookalikes as reports of [Source] (one ingest for
// the batch), and raises a finding for each.
func (w *Watcher) Check(ctx context.Context, obs []Observation) ([]Lookalike, error) {
	w.mu.Lock()
	m, byName, brands := w.matcher, w.assets, w.brands
	w.mu.Unlock()
	if m == nil {
		return nil, nil
	}
	var found []Lookalike
	seen := map[string]bool{}
	for _, o := range obs {
		name := strings.ToLower(strings.TrimSuffix(o.Name, "."))
		if seen[name] {
			continue
		}
		hits := m.Match(name)
		if len(hits) == 0 {
			continue
		}
		seen[name] = true
		o.Name = name
		found = append(found, Lookalike{Observation: o, Hit: hits[0]})
	}
	if len(found) == 0 {
		return nil, nil
	}
	now := w.now().UTC()
	ing, err := w.st.NewIngester(ctx, store.IngestOptions{Source: Source})
	if err != nil {
		return nil, err
	}
	var keep []Lookalike
	var vals []intel.Observable
	for _, l := range found {
		o, err := intel.Normalize(intel.Domain, l.Name)
		if err != nil {
			w.log.Debug("brand monitor: lookalike is not a valid domain", "name", l.Name, "err", err)
			continue
		}
		seenAt := l.Seen
		if seenAt.IsZero() {
			seenAt = now
		}
		if err := ing.Add(ctx, intel.Report{Observable: o, Confidence: int(l.Hit.Score*100 + 0.5), TLP: intel.TLPAmber,
			FirstSeen: seenAt, LastSeen: seenAt, ThreatType: "phishing", Tags: []string{"lookalike", "brand:" + l.Hit.Brand, l.Hit.Technique}}); err != nil {
			ing.Abort()
			return nil, err
		}
		keep = append(keep, l)
		vals = append(vals, o)
	}
	if _, err := ing.Close(ctx); err != nil {
		return nil, err
	}
	ins, err := w.st.Indicators(ctx, vals)
	if err != nil {
		return nil, err
	}
	byObs := map[intel.Observable]intel.Indicator{}
	for _, in := range ins {
		byObs[in.Observable] = in
	}
	learned, err := findings.LearnedGrades(ctx, w.st)
	if err != nil {
		return nil, err
	}
	grades := func(s string) intel.Reliability { return learned[s] }
	for i := range keep {
		l := &keep[i]
		in := byObs[vals[i]]
		asset, ok := byName[l.Hit.Brand]
		vis, live := risk.VisibilityResolving, []string(nil)
		if w.Liveness != nil {
			lv := w.Liveness.Probe(ctx, l.Name, brands[l.Hit.Brand])
			vis, live = lv.Visibility, lv.Evidence
		}
		in2 := risk.PriorityInput{Matches: []risk.Match{{Indicator: in}}, Reliability: grades, Now: now,
			BrandAbuse: &risk.BrandAbuse{Brand: l.Hit.Brand, Visibility: vis, Confusability: confusability(l.Hit)}}
		if ok {
			in2.Assets = []intel.Asset{asset}
		}
		l.Priority = w.model.Priority(in2)
		if w.fs == nil {
			continue
		}
		o := vals[i]
		ev := append(append([]string{l.Hit.Explanation + ".", "Observed: " + l.Evidence + "."}, live...), l.Priority.Evidence...)
		c := findings.Candidate{Kind: FindingKind, Title: fmt.Sprintf("Lookalike of %s: %s (%s)", l.Hit.Domain, o.Value, l.Hit.Technique),
			Observable: o, Priority: l.Priority.Score, Level: l.Priority.Level, Evidence: ev, TLP: intel.TLPAmber,
			Sources: []string{Source}, At: l.Seen}
		if ok {
			a := asset
			c.Asset = &a
		}
		if w.Recommend != nil {
			c.Recommendations = w.Recommend(intel.Finding{Kind: FindingKind, Observable: &o, Priority: l.Priority.Score})
		}
		f, created, err := w.fs.Raise(ctx, c)
		if err != nil {
			return nil, err
		}
		l.Finding, l.Created = f, created
	}
	return keep, nil
}

// confusability maps a hit to omen-prio-1's confusability levels: the exact mark or a homoglyph
// of it, a keyword use (combosquats and near-exact typos), or weak.
func confusability(h brand.Hit) string {
	switch {
	case h.Score >= 0.9:
		return risk.ConfusabilityExact
	case h.Score >= 0.7:
		return risk.ConfusabilityKeyword
	}
	return risk.ConfusabilityWeak
}
