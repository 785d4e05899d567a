// Package lookup answers "what does omen know about this value?" for the CLI and the REST API: it
// detects and canonicalises each query, finds exact, network (CIDR) and parent-domain matches in the
// store, scores them, applies warninglists and the caller's TLP clearance, and explains the verdict.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
)

// MaxValues is the most values one call may look up.
const MaxValues = 10000

// Match kinds.
const (
	Exact        = "exact"
	Network      = "cidr"
	ParentDomain = "parent-domain"
)

// Result is the answer for one queried value; the CLI's --json and the API print the same shape.
type Result struct {
	Query   string     `json:"query"`
	Type    intel.Type `json:"type,omitempty"`
	Value   string     `json:"value,omitempty"` // canonical
	Verdict string     `json:"verdict"`
	Score   int        `json:"score"`
	Band    string     `json:"band"`
	Matches []Match    `json:"matches"`
	// Expired lists indicators that match but have expired (past their valid-until, or fully
	// decayed): they no longer count towards the verdict, but their history and context stay
	// visible for an investigation.
	Expired      []Match          `json:"expired,omitempty"`
	Warninglists []WarninglistHit `json:"warninglists"`
	Evidence     []string         `json:"evidence"`
	ModelVersion string           `json:"model_version"`
	Error        string           `json:"error,omitempty"` // why the query is not a valid observable
}

// Match is one indicator that matched the query.
type Match struct {
	Match     string    `json:"match"` // exact, cidr or parent-domain
	Indicator Indicator `json:"indicator"`
}

// Indicator is the view of a matched indicator, limited to what the caller may see.
type Indicator struct {
	Type      intel.Type  `json:"type"`
	Value     string      `json:"value"`
	Score     int         `json:"score"`
	FirstSeen time.Time   `json:"first_seen"`
	LastSeen  time.Time   `json:"last_seen"`
	TLP       intel.TLP   `json:"tlp"`
	Tags      []string    `json:"tags"`
	Sources   []Source    `json:"sources"`
	Entities  []EntityRef `json:"entities"`
}

// Source is one source's report in a match.
type Source struct {
	Name        string            `json:"name"`
	Reliability intel.Reliability `json:"reliability"`
	Confidence  int               `json:"confidence"`
	FirstSeen   time.Time         `json:"first_seen"`
	LastSeen    time.Time         `json:"last_seen"`
	ThreatType  string            `json:"threat_type,omitempty"`
}

// EntityRef names an entity linked to an indicator: directly (a relationship, a malware family a
// source names), or through one of those (the ATT&CK techniques a linked malware or group uses,
// with Via naming it).
type EntityRef struct {
	Type       intel.EntityType `json:"type"`
	Name       string           `json:"name"`
	ID         string           `json:"id,omitempty"`
	Via        string           `json:"via,omitempty"`
	Attributes map[string]any   `json:"attributes,omitempty"` // ATT&CK id, CVE's EPSS score and KEV dates, ...
}

// MaxTechniques caps the ATT&CK techniques listed per linked malware, tool or group.
const MaxTechniques = 25

// WarninglistHit names a warninglist the queried value is on.
type WarninglistHit struct {
	Name  string `json:"name"`
	Entry string `json:"entry,omitempty"`
}

// Service answers lookups. It is safe for concurrent use; warninglists can be swapped at run time.
type Service struct {
	store store.Store
	model risk.Model
	lists atomic.Pointer[match.WarninglistSet]
	kb    *kb.KB
	now   func() time.Time
	// grades caches the sources' reliabilities for gradesTTL: they change rarely, and reading them
	// would cost a query per lookup.
	grades atomic.Pointer[gradeCache]
	// answers holds recent answers of the knowledge base path (see answerTTL).
	answers *answerCache
}

// NewWithKB returns a Service that answers from k: matches come from its engine (no store read
// for a value nothing matches), details of matched indicators from its cache, entities from its
// graph, warninglists from its snapshot.
func NewWithKB(k *kb.KB, model risk.Model) *Service {
	return &Service{store: k.Store(), model: model, kb: k, now: time.Now, answers: newAnswerCache(answerCacheSize)}
}

// New returns a Service over st. lists may be nil (no warninglists).
func New(st store.Store, lists *match.WarninglistSet, model risk.Model) *Service {
	s := &Service{store: st, model: model, now: time.Now}
	s.lists.Store(lists)
	return s
}

// SetWarninglists swaps the warninglists used by later lookups.
func (s *Service) SetWarninglists(l *match.WarninglistSet) { s.lists.Store(l) }

// NoAnswerCache makes the Service compute every answer afresh (benchmarks of the full path).
func (s *Service) NoAnswerCache() { s.answers = nil }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// candidate is one stored observable that would answer a query, and how.
type candidate struct {
	obs  intel.Observable
	kind string
	id   int64 // the indicator's ID when the engine matched it
}

// call is the state of one Lookup call.
type call struct {
	s         *Service
	ctx       context.Context
	values    []string
	results   []Result
	cands     [][]candidate
	snap      *match.Snapshot // nil: answer from the store
	clearance intel.TLP
	now       time.Time

	ents   entities
	grades func(string) intel.Reliability
	lists  *match.WarninglistSet
	// With a knowledge base, details holds the matched indicators by ID; without one, byObs
	// holds the stored indicators that answer and sighted the sightings of the queried ones.
	details map[int64]*kb.Hit
	byObs   map[intel.Observable]intel.Indicator
	sighted map[intel.Observable][]intel.Sighting
}

// find returns the stored indicator a candidate names and the sightings of its value.
func (c *call) find(cd candidate) (intel.Indicator, []intel.Sighting, bool) {
	if c.snap != nil {
		h := c.details[cd.id]
		if h == nil {
			return intel.Indicator{}, nil, false
		}
		return h.Indicator, h.Sightings, true
	}
	in, ok := c.byObs[cd.obs]
	return in, c.sighted[cd.obs], ok
}

// detect canonicalises values[lo:hi] and, with a knowledge base, matches them, appending the
// matches to dst; without one it lists the stored observables that would answer.
func (c *call) detect(lo, hi int, dst []match.Match) []match.Match {
	for i := lo; i < hi; i++ {
		r := &c.results[i]
		v := c.values[i]
		r.Query, r.ModelVersion = v, risk.ModelVersion
		r.Matches, r.Warninglists, r.Evidence = []Match{}, []WarninglistHit{}, []string{}
		o, err := intel.Detect(v)
		if err != nil {
			r.Verdict, r.Band, r.Error = risk.Unknown, risk.Band(0), err.Error()
			continue
		}
		r.Type, r.Value = o.Type, o.Value
		if c.snap != nil {
			n := len(dst)
			dst = c.snap.Match(o, dst)
			c.cands[i] = matched(dst[n:])
			continue
		}
		c.cands[i] = candidates(o)
	}
	return dst
}

// answerRange answers values[lo:hi].
func (c *call) answerRange(lo, hi int) error {
	for i := lo; i < hi; i++ {
		if c.results[i].Error != "" {
			continue
		}
		if err := c.s.answer(c.ctx, &c.results[i], c.cands[i], c.find, c.ents, c.grades, c.lists, c.clearance, c.now); err != nil {
			return err
		}
	}
	return nil
}

// Lookup answers each value in order. clearance is the caller's TLP clearance: reports above it are
// invisible, and so is an indicator with no visible report. The results share slices with
// answers kept for later calls: read them, do not modify them.
func (s *Service) Lookup(ctx context.Context, values []string, clearance intel.TLP) ([]Result, error) {
	if len(values) > MaxValues {
		return nil, fmt.Errorf("too many values: %d, at most %d", len(values), MaxValues)
	}
	c := &call{s: s, ctx: ctx, values: values, results: make([]Result, len(values)), cands: make([][]candidate, len(values)),
		clearance: clearance, now: s.now()}
	if s.kb != nil {
		c.snap = s.kb.Snapshot()
	}
	grades, err := s.reliabilities(ctx)
	if err != nil {
		return nil, err
	}
	c.grades = grades.grade
	if c.snap == nil || s.answers == nil {
		run := c.fromKB
		if c.snap == nil {
			run = c.fromStore
		}
		if err := run(); err != nil {
			return nil, err
		}
		return c.results, nil
	}
	// Answers given earlier under the same state are given again; the others are computed.
	// The version is read before the work, so that a change during it is never cached as current.
	version, epoch := s.kb.Version(), s.kb.DetailsEpoch()
	var miss []int
	for i, v := range values {
		if r, ok := s.answers.get(answerKey{v, clearance}, version, epoch, grades, c.now); ok {
			c.results[i] = r
		} else {
			miss = append(miss, i)
		}
	}
	if len(miss) == 0 {
		return c.results, nil
	}
	sub := c
	if len(miss) < len(values) {
		sub = &call{s: s, ctx: ctx, results: make([]Result, len(miss)), cands: make([][]candidate, len(miss)),
			snap: c.snap, clearance: clearance, now: c.now, grades: c.grades}
		for _, i := range miss {
			sub.values = append(sub.values, values[i])
		}
	}
	if err := sub.fromKB(); err != nil {
		return nil, err
	}
	for j, r := range sub.results {
		i := j
		if sub != c {
			i = miss[j]
			c.results[i] = r
		}
		s.answers.put(answerKey{values[i], clearance}, &cachedAnswer{r: r, version: version, epoch: epoch, grades: grades, at: c.now})
	}
	return c.results, nil
}

// fromKB answers from the knowledge base: matches from its engine, details from its cache,
// entities from its graph, the work spread over the CPUs for a large batch.
func (c *call) fromKB() error {
	var hits []match.Match
	if len(c.values) < spreadFrom {
		hits = c.detect(0, len(c.values), nil)
	} else {
		parts := make([][]match.Match, len(c.values))
		spread(len(c.values), func(lo, hi int) { parts[lo] = c.detect(lo, hi, nil) })
		for _, p := range parts {
			hits = append(hits, p...)
		}
	}
	details, err := c.s.kb.Hits(c.ctx, hits)
	if err != nil {
		return err
	}
	c.details = details
	// Only the few indicators with relationships need an entry: for the others the graph
	// answers (nothing, or what entities say of them).
	var rels map[string][]intel.Relationship
	for _, h := range details {
		if len(h.Relationships) > 0 {
			if rels == nil {
				rels = map[string][]intel.Relationship{}
			}
			rels[h.Indicator.Observable.String()] = h.Relationships
		}
	}
	c.ents = graphEntities{g: c.s.kb.Graph(), indicators: rels}
	c.lists = c.snap.Warninglists()
	if len(c.values) < spreadFrom {
		return c.answerRange(0, len(c.values))
	}
	errs := make([]error, len(c.values))
	spread(len(c.values), func(lo, hi int) { errs[lo] = c.answerRange(lo, hi) })
	return errors.Join(errs...)
}

// fromStore answers from the store, one query per kind of detail.
func (c *call) fromStore() error {
	c.detect(0, len(c.values), nil)
	var all []intel.Observable
	seen := map[intel.Observable]bool{}
	for i := range c.values {
		for _, cd := range c.cands[i] {
			if !seen[cd.obs] {
				seen[cd.obs] = true
				all = append(all, cd.obs)
			}
		}
	}
	found, err := c.s.store.Indicators(c.ctx, all)
	if err != nil {
		return fmt.Errorf("reading indicators: %w", err)
	}
	c.byObs = make(map[intel.Observable]intel.Indicator, len(found))
	for _, in := range found {
		c.byObs[in.Observable] = in
	}
	c.ents = storeEntities{c.s.store}
	if c.sighted, err = c.s.sightings(c.ctx, c.results, c.byObs); err != nil {
		return err
	}
	c.lists = c.s.lists.Load()
	return c.answerRange(0, len(c.values))
}

// spreadFrom is the batch size from which a lookup spreads its work over the CPUs: a bulk lookup
// of thousands of values answers in a fraction of the time, a single one pays nothing.
const spreadFrom = 256

// spread calls f over [0, n) in contiguous parts, side by side on up to GOMAXPROCS goroutines when
// n is large enough. Each part [lo, hi) is called once.
func spread(n int, f func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), n/(spreadFrom/2))
	if w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}

// sightings reads, in one go, the sightings of every queried value that is a known indicator
// (they count towards its score).
func (s *Service) sightings(ctx context.Context, results []Result, byObs map[intel.Observable]intel.Indicator) (map[intel.Observable][]intel.Sighting, error) {
	var obs []intel.Observable
	for _, r := range results {
		o := intel.Observable{Type: r.Type, Value: r.Value}
		if _, ok := byObs[o]; ok && r.Error == "" {
			obs = append(obs, o)
		}
	}
	if len(obs) == 0 {
		return nil, nil
	}
	ss, err := s.store.SightingsOf(ctx, obs)
	if err != nil {
		return nil, fmt.Errorf("reading sightings: %w", err)
	}
	out := make(map[intel.Observable][]intel.Sighting, len(obs))
	for _, x := range ss {
		out[x.Observable] = append(out[x.Observable], x)
	}
	return out, nil
}

// matched turns the engine's matches into candidates.
func matched(ms []match.Match) []candidate {
	out := make([]candidate, 0, len(ms))
	for _, m := range ms {
		kind := Exact
		switch m.Kind {
		case match.MatchCIDR:
			kind = Network
		case match.MatchParentDomain:
			kind = ParentDomain
		}
		out = append(out, candidate{obs: m.Observable(), kind: kind, id: m.ID})
	}
	return out
}

// gradesTTL is how long a Service reuses the sources' grades before reading them again.
const gradesTTL = 5 * time.Second

type gradeCache struct {
	grade   func(string) intel.Reliability
	expires time.Time
}

func (s *Service) reliabilities(ctx context.Context) (*gradeCache, error) {
	now := time.Now()
	if c := s.grades.Load(); c != nil && now.Before(c.expires) {
		return c, nil
	}
	srcs, err := s.store.ListSources(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sources: %w", err)
	}
	m := make(map[string]intel.Reliability, len(srcs))
	for _, src := range srcs {
		m[src.Name] = src.Reliability
	}
	c := &gradeCache{grade: func(name string) intel.Reliability { return m[name] }, expires: now.Add(gradesTTL)}
	s.grades.Store(c)
	return c, nil
}

func listNames(lists *match.WarninglistSet, o intel.Observable) []WarninglistHit {
	if lists == nil {
		return nil
	}
	var out []WarninglistHit
	for _, h := range lists.Match(o) {
		out = append(out, WarninglistHit{Name: h.List, Entry: h.Entry})
	}
	return out
}

type scored struct {
	m         Match
	effective int
	evidence  []string
}

func (s *Service) answer(ctx context.Context, r *Result, cands []candidate, find func(candidate) (intel.Indicator, []intel.Sighting, bool), ents entities,
	grades func(string) intel.Reliability, lists *match.WarninglistSet, clearance intel.TLP, now time.Time) error {
	query := intel.Observable{Type: r.Type, Value: r.Value}
	r.Warninglists = append(r.Warninglists, listNames(lists, query)...)
	var queryLists []string
	for _, w := range r.Warninglists {
		queryLists = appendUnique(queryLists, w.Name)
	}
	var hits []scored
	for _, c := range cands {
		in, seen, ok := find(c)
		if !ok {
			continue
		}
		in, ok = in.Visible(clearance)
		if !ok {
			continue
		}
		wl := queryLists
		if in.Observable != query || len(in.Warninglists) > 0 {
			wl = slices.Clone(queryLists)
		}
		if in.Observable != query { // the query's lists are already in
			for _, w := range listNames(lists, in.Observable) {
				wl = appendUnique(wl, w.Name)
			}
		}
		for _, w := range in.Warninglists {
			wl = appendUnique(wl, w)
		}
		var sightings []intel.Sighting
		if c.kind == Exact {
			sightings = seen
		}
		sc := s.model.Score(in, risk.Input{Reliability: grades, Sightings: sightings, Warninglists: wl, Now: now})
		view, err := s.view(ctx, ents, in, sc, grades, clearance)
		if err != nil {
			return err
		}
		if sc.Expired {
			r.Evidence = append(r.Evidence, fmt.Sprintf("Known as %s %s but expired, so it no longer matches: %s",
				in.Observable.Type, in.Observable.Value, strings.Join(sc.Evidence, " ")))
			r.Expired = append(r.Expired, Match{Match: c.kind, Indicator: view})
			continue
		}
		eff := sc.Score
		var ev []string
		if c.kind != Exact {
			eff = int(float64(sc.Score)*s.model.PartialMatch + 0.5)
			what := "network"
			if c.kind == ParentDomain {
				what = "parent domain"
			}
			ev = append(ev, fmt.Sprintf("Matched through the %s %s (indicator score %d, partial match ×%g).",
				what, in.Observable.Value, sc.Score, s.model.PartialMatch))
		}
		for _, e := range sc.Evidence {
			if strings.HasPrefix(e, "Value is on warninglist") {
				continue // stated once for the query below
			}
			ev = append(ev, e)
		}
		hits = append(hits, scored{m: Match{Match: c.kind, Indicator: view}, effective: eff, evidence: ev})
		for _, w := range wl {
			if !slices.ContainsFunc(r.Warninglists, func(h WarninglistHit) bool { return h.Name == w }) {
				r.Warninglists = append(r.Warninglists, WarninglistHit{Name: w})
			}
		}
	}
	slices.SortStableFunc(hits, func(a, b scored) int { return b.effective - a.effective })
	var ev []string
	for _, h := range hits {
		r.Matches = append(r.Matches, h.m)
		r.Score = max(r.Score, h.effective)
		ev = append(ev, h.evidence...)
	}
	for _, w := range r.Warninglists {
		ev = append(ev, s.model.WarninglistEvidence(w.Name))
	}
	if len(hits) == 0 && len(r.Evidence) == 0 {
		ev = append(ev, "No source reports this value.")
	}
	r.Evidence = append(ev, r.Evidence...)
	r.Band = risk.Band(r.Score)
	r.Verdict = risk.Verdict(r.Score, len(r.Warninglists) > 0)
	return nil
}

func (s *Service) view(ctx context.Context, ents entities, in intel.Indicator, sc risk.Score, grades func(string) intel.Reliability, clearance intel.TLP) (Indicator, error) {
	v := Indicator{
		Type: in.Observable.Type, Value: in.Observable.Value, Score: sc.Score,
		FirstSeen: in.FirstSeen, LastSeen: in.LastSeen, TLP: in.TLP(), Tags: in.Tags(),
		Sources: []Source{}, Entities: []EntityRef{},
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	first, last := time.Time{}, time.Time{}
	var families []string
	for _, r := range in.Reports {
		v.Sources = append(v.Sources, Source{Name: r.Source, Reliability: grade(grades(r.Source)), Confidence: r.Confidence,
			FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, ThreatType: r.ThreatType})
		if first.IsZero() || r.FirstSeen.Before(first) {
			first = r.FirstSeen
		}
		if r.LastSeen.After(last) {
			last = r.LastSeen
		}
		if r.Malware != "" && !slices.Contains(families, r.Malware) {
			families = append(families, r.Malware)
		}
	}
	// First and last seen are those of the visible reports only.
	v.FirstSeen, v.LastSeen = first, last
	var linked []intel.Entity
	for _, name := range families {
		// A family a source names is the stored entity of that name when there is one (ATT&CK
		// software, a MISP galaxy cluster), so that its techniques come along.
		es, err := ents.named(ctx, name, 5)
		if err != nil {
			return v, fmt.Errorf("reading entities named %s: %w", name, err)
		}
		found := false
		for _, e := range es {
			if (e.Type == intel.Malware || e.Type == intel.Tool) && clearance.Allows(e.TLP) {
				linked, found = append(linked, e), true
				break
			}
		}
		if !found {
			v.Entities = appendEntity(v.Entities, EntityRef{Type: intel.Malware, Name: name})
		}
	}
	direct, err := related(ctx, ents, in.Observable.String(), clearance, "")
	if err != nil {
		return v, err
	}
	linked = append(linked, direct...)
	for _, e := range linked {
		v.Entities = appendEntity(v.Entities, ref(e, ""))
	}
	// The same actor or family as another source knows it (a MISP galaxy cluster and its ATT&CK
	// group or software) brings that source's techniques.
	for _, e := range slices.Clone(linked) {
		eqs, err := equivalents(ctx, ents, e, clearance)
		if err != nil {
			return v, err
		}
		for _, eq := range eqs {
			v.Entities = appendEntity(v.Entities, ref(eq, e.Name))
		}
		linked = append(linked, eqs...)
	}
	for _, e := range linked {
		switch e.Type {
		case intel.Malware, intel.Tool, intel.IntrusionSet, intel.ThreatActor, intel.Campaign:
		default:
			continue
		}
		uses, err := related(ctx, ents, e.ID, clearance, "uses")
		if err != nil {
			return v, err
		}
		n := 0
		for _, t := range uses {
			if t.Type == intel.AttackPattern && n < MaxTechniques {
				v.Entities = appendEntity(v.Entities, ref(t, e.Name))
				n++
			}
		}
	}
	return v, nil
}

// kinship groups the entity types that can name the same thing in different sources.
func kinship(t intel.EntityType) int {
	switch t {
	case intel.ThreatActor, intel.IntrusionSet:
		return 1
	case intel.Malware, intel.Tool:
		return 2
	}
	return 0
}

// maxEquivalentNames caps the names of one entity tried against the others.
const maxEquivalentNames = 12

// equivalents returns the entities other than e that stand for the same actor or software: those
// whose STIX UUID e lists as related (MISP galaxy clusters carry ATT&CK's UUIDs), and those of a
// kindred type whose name or alias is e's name or one of its aliases.
func equivalents(ctx context.Context, ents entities, e intel.Entity, clearance intel.TLP) ([]intel.Entity, error) {
	kin := kinship(e.Type)
	if kin == 0 {
		return nil, nil
	}
	var out []intel.Entity
	add := func(c intel.Entity) {
		if c.ID != e.ID && kinship(c.Type) == kin && clearance.Allows(c.TLP) &&
			!slices.ContainsFunc(out, func(o intel.Entity) bool { return o.ID == c.ID }) {
			out = append(out, c)
		}
	}
	for _, u := range relatedUUIDs(e) {
		for _, t := range []intel.EntityType{intel.IntrusionSet, intel.Malware, intel.Tool} {
			c, err := ents.entity(ctx, string(t)+"--"+u)
			if err == nil {
				add(c)
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("reading entity %s--%s: %w", t, u, err)
			}
		}
	}
	names := append([]string{e.Name}, e.Aliases...)
	for _, n := range names[:min(len(names), maxEquivalentNames)] {
		if n == "" {
			continue
		}
		cs, err := ents.named(ctx, n, 10)
		if err != nil {
			return nil, fmt.Errorf("reading entities named %s: %w", n, err)
		}
		for _, c := range cs {
			add(c)
		}
	}
	return out, nil
}

// relatedUUIDs returns the UUIDs an entity's attributes name as the same object elsewhere.
func relatedUUIDs(e intel.Entity) []string {
	var out []string
	if u, ok := e.Attributes["misp_uuid"].(string); ok && u != "" {
		out = append(out, strings.ToLower(u))
	}
	switch rs := e.Attributes["related_uuids"].(type) {
	case []any:
		for _, r := range rs {
			if u, ok := r.(string); ok && u != "" {
				out = append(out, strings.ToLower(u))
			}
		}
	case []string:
		out = append(out, rs...)
	}
	return out
}

// related returns the entities on the other side of ref's relationships (of type relType when not
// empty, and then only those where ref is the source), that the caller may see.
func related(ctx context.Context, ents entities, ref string, clearance intel.TLP, relType string) ([]intel.Entity, error) {
	rels, err := ents.relationships(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("reading relationships of %s: %w", ref, err)
	}
	var out []intel.Entity
	for _, rel := range rels {
		if !clearance.Allows(rel.TLP) || (relType != "" && (rel.Type != relType || rel.SourceRef != ref)) {
			continue
		}
		other := rel.TargetRef
		if other == ref {
			other = rel.SourceRef
		}
		e, err := ents.entity(ctx, other)
		if err != nil {
			continue // a dangling reference is not the caller's problem
		}
		if clearance.Allows(e.TLP) {
			out = append(out, e)
		}
	}
	return out, nil
}

// ref is the view of an entity; attributes are kept, but not long free text.
func ref(e intel.Entity, via string) EntityRef {
	r := EntityRef{Type: e.Type, Name: e.Name, ID: e.ID, Via: via}
	for k, v := range e.Attributes {
		if str, ok := v.(string); ok && len(str) > 200 {
			continue
		}
		if r.Attributes == nil {
			r.Attributes = map[string]any{}
		}
		r.Attributes[k] = v
	}
	return r
}

func appendEntity(es []EntityRef, e EntityRef) []EntityRef {
	for _, x := range es {
		if x.Type == e.Type && strings.EqualFold(x.Name, e.Name) {
			return es
		}
	}
	return append(es, e)
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// candidates lists the stored observables that answer o: itself, and for addresses every network that
// contains it, for domains every parent below the public suffix, for URLs and emails their host's.
func candidates(o intel.Observable) []candidate {
	out := []candidate{{obs: o, kind: Exact}}
	switch o.Type {
	case intel.IPv4, intel.IPv6:
		if a, err := netip.ParseAddr(o.Value); err == nil {
			out = append(out, networks(a, a.BitLen())...)
		}
	case intel.CIDR:
		if p, err := netip.ParsePrefix(o.Value); err == nil {
			out = append(out, networks(p.Addr(), p.Bits())...)
		}
	case intel.Domain:
		out = append(out, parents(o.Value, false)...)
	case intel.URL:
		if u, err := url.Parse(o.Value); err == nil {
			out = append(out, parents(u.Hostname(), true)...)
		}
	case intel.Email:
		if _, d, ok := strings.Cut(o.Value, "@"); ok {
			out = append(out, parents(d, true)...)
		}
	}
	return out
}

// networks returns the CIDRs of every prefix length shorter than bits that contain a.
func networks(a netip.Addr, bits int) []candidate {
	out := make([]candidate, 0, bits)
	for b := bits - 1; b >= 0; b-- {
		p, err := a.Prefix(b)
		if err != nil {
			continue
		}
		out = append(out, candidate{obs: intel.Observable{Type: intel.CIDR, Value: p.String()}, kind: Network})
	}
	return out
}

// parents returns d's parent domains down to the registrable domain; with self, d itself too.
func parents(d string, self bool) []candidate {
	if d == "" || strings.ContainsAny(d, ":[") || net4(d) {
		return nil
	}
	suffix, _ := publicsuffix.PublicSuffix(d)
	var out []candidate
	if self {
		out = append(out, candidate{obs: intel.Observable{Type: intel.Domain, Value: d}, kind: ParentDomain})
	}
	for {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
		if d == suffix || len(d) <= len(suffix) {
			break
		}
		out = append(out, candidate{obs: intel.Observable{Type: intel.Domain, Value: d}, kind: ParentDomain})
	}
	return out
}

func net4(h string) bool {
	_, err := netip.ParseAddr(h)
	return err == nil
}

// grade returns r, or F when the source has no valid grade.
func grade(r intel.Reliability) intel.Reliability {
	if r.Valid() {
		return r
	}
	return intel.ReliabilityF
}
