package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
)

// IndicatorIndex is the matched.index omen writes: the name under which SIEMs know omen's
// indicator collection.
const IndicatorIndex = "omen-indicators"

// FindingKind is the kind of the findings enrichment opens.
const FindingKind = "indicator-match"

// Options configures an [Enricher].
type Options struct {
	KB    *kb.KB
	Model risk.PriorityModel
	// Findings records internal sightings and opens findings; nil records nothing (a dry run).
	Findings *findings.Service
	// Clearance is the most restrictive TLP the output may carry: reports above it are left out,
	// and an indicator with none left does not match. Enrichment output stays inside the
	// organisation, so the default is amber+strict (TLP:RED stays with its named recipients).
	Clearance *intel.TLP
	Logger    *slog.Logger
	Now       func() time.Time
	// Recommend returns recommendations beyond the built-in ones (ATT&CK mitigations of the
	// linked techniques, playbooks naming the exports to use); nil adds none.
	Recommend func(f intel.Finding, linked []intel.Entity, asset *intel.Asset) []string
	// OnNewFinding is called after an event opened a finding (the automatic-response policy
	// decides there); nil does nothing.
	OnNewFinding func(ctx context.Context, f intel.Finding, p risk.Priority)
}

// Enricher enriches events. It is safe for concurrent use; each goroutine uses its own [Worker].
type Enricher struct {
	kb        *kb.KB
	model     risk.PriorityModel
	findings  *findings.Service
	clearance intel.TLP
	log       *slog.Logger
	now       func() time.Time
	recommend func(f intel.Finding, linked []intel.Entity, asset *intel.Asset) []string
	onNew     func(ctx context.Context, f intel.Finding, p risk.Priority)
	*shared
}

// shared is the state the enrichers of every clearance share.
type shared struct {
	recent *recentSightings
	grades atomic.Pointer[map[string]intel.Reliability]
	allow  atomic.Pointer[map[intel.Observable]bool]
	// stats are sharded so that workers on different cores do not write one cache line per event.
	stats   [statShards]counters
	workers atomic.Uint32
}

const statShards = 16

type counters struct {
	events, matched, findings, errors atomic.Int64
	_                                 [32]byte // pad to a cache line
}

// WithClearance returns an enricher sharing e's state whose output carries nothing above c (the
// API uses the caller's clearance).
func (e *Enricher) WithClearance(c intel.TLP) *Enricher {
	n := *e
	n.clearance = c
	return &n
}

// New returns an Enricher; it reads the sources' learned reliabilities and the allowlist once
// now, and again on every [Enricher.Refresh] (which [Enricher.Run] calls periodically).
func New(ctx context.Context, o Options) (*Enricher, error) {
	if o.KB == nil {
		return nil, fmt.Errorf("enrich: no knowledge base")
	}
	if o.Model.Version == "" {
		o.Model = risk.DefaultPriorityModel()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := intel.TLPAmberStrict
	if o.Clearance != nil {
		c = *o.Clearance
	}
	e := &Enricher{kb: o.KB, model: o.Model, findings: o.Findings, clearance: c, log: o.Logger, now: o.Now,
		recommend: o.Recommend, onNew: o.OnNewFinding,
		shared: &shared{recent: newRecentSightings(o.KB.Store())}}
	if err := e.Refresh(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Refresh re-reads the sources' reliabilities (lowered by the analysts' false-positive verdicts)
// and the allowlist.
func (e *Enricher) Refresh(ctx context.Context) error {
	st := e.kb.Store()
	g, err := findings.LearnedGrades(ctx, st)
	if err != nil {
		return err
	}
	e.grades.Store(&g)
	al, err := st.Allowlist(ctx)
	if err != nil {
		return fmt.Errorf("reading the allowlist: %w", err)
	}
	a := make(map[intel.Observable]bool, len(al))
	for _, x := range al {
		a[x.Observable] = true
	}
	e.allow.Store(&a)
	return nil
}

// Run refreshes every interval until ctx is done.
func (e *Enricher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.Refresh(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("refreshing enrichment settings", "err", err)
			}
		}
	}
}

// Stats counts the events enriched so far.
type Stats struct {
	Events   int64 `json:"events"`
	Matched  int64 `json:"matched"`
	Findings int64 `json:"findings_opened"`
	Errors   int64 `json:"errors"`
}

// Stats returns the counts so far.
func (e *Enricher) Stats() Stats {
	var st Stats
	for i := range e.stats {
		c := &e.stats[i]
		st.Events += c.events.Load()
		st.Matched += c.matched.Load()
		st.Findings += c.findings.Load()
		st.Errors += c.errors.Load()
	}
	return st
}

func (e *Enricher) reliability(source string) intel.Reliability {
	if g := e.grades.Load(); g != nil {
		if r, ok := (*g)[source]; ok {
			return r
		}
	}
	return intel.ReliabilityF
}

func (e *Enricher) allowlisted(o intel.Observable) bool {
	a := e.allow.Load()
	return a != nil && (*a)[o]
}

// Result is the outcome of enriching one event.
type Result struct {
	// Out is the event to pass on: the event itself (unchanged bytes for JSON input) when nothing
	// matched, else the event with threat.enrichments, event.risk_score(_norm) and omen.* added.
	// It is only valid until the worker's next call.
	Out      []byte
	Matched  bool
	Priority int    // 0 when nothing matched
	Level    string // "" when nothing matched
	// Finding is the ID of the finding the event opened or updated, 0 for none.
	Finding int64
}

// Worker enriches events one at a time, reusing its buffers. It is not safe for concurrent use.
type Worker struct {
	e    *Enricher
	st   *counters // this worker's shard of the enricher's counts
	dec  *Decoder
	ev   Event
	ms   []match.Match
	hits []fieldMatch
	all  []match.Match
	out  []byte
	// output is the shape written (default ECS).
	output Output
}

type fieldMatch struct {
	field int // index in ev.Fields
	m     match.Match
}

// NewWorker returns a worker decoding with dec.
func (e *Enricher) NewWorker(dec *Decoder) *Worker {
	return &Worker{e: e, dec: dec, st: &e.stats[e.workers.Add(1)%statShards]}
}

// Enrich decodes line and enriches it. A line that does not decode is an error (the caller counts
// it and goes on); so is a store failure while reading a matched indicator's details.
func (w *Worker) Enrich(ctx context.Context, line []byte) (Result, error) {
	w.st.events.Add(1)
	ev := &w.ev
	if err := w.dec.Decode(line, ev); err != nil {
		w.st.errors.Add(1)
		return Result{}, err
	}
	snap := w.e.kb.Snapshot()
	w.hits, w.all = w.hits[:0], w.all[:0]
	for i := range ev.Fields {
		w.ms = snap.Match(ev.Fields[i].Observable, w.ms[:0])
		for _, m := range w.ms {
			w.hits = append(w.hits, fieldMatch{field: i, m: m})
			w.all = append(w.all, m)
		}
	}
	if len(w.hits) == 0 {
		return w.unmatched(), nil
	}
	r, err := w.matched(ctx, snap)
	if err != nil {
		w.st.errors.Add(1)
	}
	return r, err
}

// unmatched is the result of an event that matched nothing: the event itself, or nothing in OCSF
// (a Detection Finding needs a detection).
func (w *Worker) unmatched() Result {
	if w.output == OutputOCSF {
		return Result{}
	}
	return Result{Out: w.ev.Raw}
}

// indicatorMatch is one matched indicator and the fields of the event that matched it.
type indicatorMatch struct {
	hit    *kb.Hit
	ind    intel.Indicator // the reports the output may carry
	kind   match.MatchKind // the best kind over its fields
	fields []int
}

func (w *Worker) matched(ctx context.Context, snap *match.Snapshot) (Result, error) {
	e, ev := w.e, &w.ev
	details, err := e.kb.Hits(ctx, w.all)
	if err != nil {
		return Result{}, err
	}
	now := e.now().UTC()
	at := ev.Context.Timestamp
	if at.IsZero() {
		at = now
	}
	where := w.where()

	// Group the matches by indicator, keeping document order.
	var inds []*indicatorMatch
	byID := map[int64]*indicatorMatch{}
	for _, h := range w.hits {
		d := details[h.m.ID]
		if d == nil {
			continue // gone from the store since the snapshot was built
		}
		im := byID[h.m.ID]
		if im == nil {
			vis, ok := d.Indicator.Visible(e.clearance)
			if !ok {
				continue
			}
			im = &indicatorMatch{hit: d, ind: vis, kind: h.m.Kind}
			byID[h.m.ID] = im
			inds = append(inds, im)
		}
		im.kind = min(im.kind, h.m.Kind)
		if len(im.fields) == 0 || im.fields[len(im.fields)-1] != h.field {
			im.fields = append(im.fields, h.field)
		}
	}
	if len(inds) == 0 {
		return w.unmatched(), nil
	}
	w.st.matched.Add(1)

	// The organisation's assets the event involves, and the values that are its own.
	involved := w.assets(snap)
	in := risk.PriorityInput{Where: where, Reliability: e.reliability, Tactics: ev.Context.Tactics, Now: now,
		Blocked: blocked(ev.Context), Corroborated: ev.Context.Kind == "alert"}
	for _, a := range involved {
		in.Assets = append(in.Assets, a.asset)
	}
	var sighted []intel.Observable
	g := e.kb.Graph()
	for _, im := range inds {
		mt := risk.Match{Indicator: im.ind, Quality: quality(im.ind.Observable, im.kind, snap),
			Entities: linked(g, im.hit, e.clearance)}
		for _, f := range im.fields {
			o := ev.Fields[f].Observable
			for _, h := range snap.Warninglisted(o) {
				mt.Warninglists = appendNew(mt.Warninglists, h.List)
			}
			if e.allowlisted(o) || e.allowlisted(im.ind.Observable) {
				in.FalsePositive = true
			}
			sighted = appendObs(sighted, o)
		}
		in.Matches = append(in.Matches, mt)
	}
	for _, o := range sighted {
		if own(o, involved) {
			in.DoNotBlock = true
		}
	}
	// The details of an exact match already carry its value's stored sightings.
	known := make(map[intel.Observable][]intel.Sighting, len(inds))
	for _, im := range inds {
		known[im.ind.Observable] = im.hit.Sightings
	}
	in.Sightings = e.recent.seen(ctx, sighted, known, where, at, e.log)
	if e.findings != nil && where != "" {
		for _, o := range sighted {
			e.findings.Sight(o, where, at)
		}
	}
	p := e.model.Priority(in)

	// The finding first (the OCSF output names it), then the output.
	top := topAsset(involved)
	recs := recommend(p, inds, ev, top, in.DoNotBlock || in.FalsePositive)
	subject := ev.Fields[inds[0].fields[0]].Observable
	if e.recommend != nil && p.Score >= 20 && !in.FalsePositive {
		var linkedAll []intel.Entity
		for _, mt := range in.Matches {
			linkedAll = append(linkedAll, mt.Entities...)
		}
		for _, r := range e.recommend(intel.Finding{Kind: FindingKind, Observable: &subject, Priority: p.Score}, linkedAll, assetOf(top)) {
			recs = appendNew(recs, r)
		}
	}
	pj, err := json.Marshal(p)
	if err != nil {
		return Result{}, err
	}
	res := Result{Matched: true, Priority: p.Score, Level: p.Level}
	if e.findings != nil && !in.FalsePositive {
		f, created, err := e.findings.Raise(ctx, findings.Candidate{Kind: FindingKind, Title: title(inds[0], ev, where, top),
			Observable: subject, Asset: assetOf(top), Priority: p.Score, Level: p.Level,
			Evidence: p.Evidence, Recommendations: recs, Detail: pj, TLP: tlpOf(inds), Sources: sources(inds), At: at})
		if err != nil {
			return Result{}, fmt.Errorf("raising a finding: %w", err)
		}
		res.Finding = f.ID
		if created {
			w.st.findings.Add(1)
			if e.onNew != nil {
				e.onNew(ctx, f, p)
			}
		}
	}
	if w.output == OutputOCSF {
		if w.out, err = w.ocsf(w.out[:0], p, inds, top, recs, now, res.Finding); err != nil {
			return Result{}, err
		}
		res.Out = w.out
		return res, nil
	}
	omen := omenObject{Priority: pj, Recommendations: recs}
	if top != nil {
		omen.Asset = assetView(*top)
	}
	oj, err := json.Marshal(omen)
	if err != nil {
		return Result{}, err
	}
	score := strconv.Itoa(p.Score)
	w.out, err = Merge(w.out[:0], ev.Raw, []Addition{
		{Path: "threat.enrichments", Value: w.enrichments(inds, now), Append: true},
		{Path: "event.risk_score", Value: json.RawMessage(score)},
		{Path: "event.risk_score_norm", Value: json.RawMessage(score)},
		{Path: "omen", Value: oj},
	})
	if err != nil {
		return Result{}, fmt.Errorf("writing the enrichment: %w", err)
	}
	res.Out = w.out
	return res, nil
}

// where names the host or user of the event, whose own sightings are not corroboration.
func (w *Worker) where() string {
	c := &w.ev.Context
	switch {
	case c.HostName != "":
		return c.HostName
	case c.UserName != "":
		return c.UserName
	case len(c.HostIPs) > 0:
		return c.HostIPs[0].String()
	}
	for _, f := range w.ev.Fields {
		if f.ECS == "source.ip" || f.ECS == "client.ip" {
			return f.Observable.Value
		}
	}
	return ""
}

// blocked reports whether a security control already stopped the activity.
func blocked(c Context) bool {
	switch c.Action {
	case "blocked", "block", "denied", "deny", "drop", "dropped", "reject", "rejected", "quarantined", "prevented":
		return true
	}
	return false
}

// quality is the omen-prio-1 match quality of an indicator matched with kind k.
func quality(o intel.Observable, k match.MatchKind, snap *match.Snapshot) string {
	if k != match.MatchExact {
		return risk.MatchPartial
	}
	switch o.Type {
	case intel.Domain:
		return risk.MatchFQDN
	case intel.IPv4, intel.IPv6:
		// An address on a warninglist of shared infrastructure (CDNs, clouds) hosts many sites.
		if len(snap.Warninglisted(o)) > 0 {
			return risk.MatchSharedIP
		}
		return risk.MatchDedicatedIP
	}
	return risk.MatchExact
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func appendObs(s []intel.Observable, o intel.Observable) []intel.Observable {
	for _, x := range s {
		if x == o {
			return s
		}
	}
	return append(s, o)
}
