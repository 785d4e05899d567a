package respond

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
)

// Index keeps the candidates of one export in memory: the indicators its format and selection
// take, as the export may see them (reports under the TLP ceiling, from the selected sources and
// tags), that the guard lets through. A regeneration (new data, or the clock moving scores) is
// then a pass over memory, spread over the CPUs, instead of a scan of the store: [Index.Collect]
// gives what [Collect] gives over the same data. [Index.Update] applies the indicators an
// ingest touched; a guard that changed (assets, allowlist, warninglists) needs [Index.Build].
//
// Memory: about the size of the candidates' reports, a few hundred bytes per entry.
type Index struct {
	f     Format
	sel   Selection // Since, MinScore and Max are applied by Collect
	model risk.Model

	mu     sync.RWMutex
	g      *Guard
	grades map[string]intel.Reliability
	cands  []candidate     // the live ones and holes (id 0) left by removals
	pos    map[int64]int32 // position in cands by indicator ID
	free   []int32         // holes in cands
	// class says why an indicator that is not a candidate is out, except for the type: an
	// indicator never changes type, so those are only counted (a feed of addresses over a store
	// of every type would otherwise keep most of the store's IDs here).
	class  map[int64]string
	counts map[string]int // of class, by reason, and of the type removals
	maxID  int64          // the highest indicator ID put: a higher one is new
	guard  map[int64]Removal
	built  bool
	// unsorted counts the candidates put since the last sortCands.
	unsorted int

	spareMu sync.Mutex
	spare   []Entry // a result given back by Release, for the next Collect to write into
}

// Release gives back the entries a Collect returned, once the caller is done with them (written
// out): the next Collect writes into their memory instead of allocating and zeroing as much
// again (a million entries are a quarter of a gigabyte).
func (x *Index) Release(es []Entry) {
	es = es[:cap(es)]
	x.spareMu.Lock()
	if cap(es) > cap(x.spare) {
		x.spare = es
	}
	x.spareMu.Unlock()
}

// buffer returns n entries' room: the spare when it is large enough.
func (x *Index) buffer(n int) []Entry {
	x.spareMu.Lock()
	defer x.spareMu.Unlock()
	if x.spare != nil && cap(x.spare) >= n {
		b := x.spare[:n]
		x.spare = nil
		return b
	}
	return make([]Entry, n)
}

type candidate struct {
	id    int64
	vis   intel.Indicator
	pfx   netip.Prefix // an IP candidate's address or network
	pfxOK bool
}

// NewIndex returns an empty index of the export of f with selection sel (its Since, MinScore and
// Max are ignored: Collect takes them).
func NewIndex(f Format, sel Selection, model risk.Model) *Index {
	sel.Since, sel.MinScore, sel.Max = time.Time{}, 0, 0
	return &Index{f: f, sel: sel, model: model}
}

// Build reads every indicator of st and keeps the candidates, with g as the guard (nil: none).
func (x *Index) Build(ctx context.Context, st store.Store, g *Guard) error {
	grades, err := sourceGrades(ctx, st)
	if err != nil {
		return fmt.Errorf("index of %s: %w", x.f.Name, err)
	}
	n := &Index{f: x.f, sel: x.sel, model: x.model, g: g, grades: grades, pos: map[int64]int32{},
		class: map[int64]string{}, counts: map[string]int{}, guard: map[int64]Removal{}}
	s := newSelector(n.sel, n.f, n.model, grades, time.Time{})
	read := 0
	err = st.ScanIndicators(ctx, func(in intel.Indicator) error {
		if read++; read&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n.put(s, in)
		return nil
	})
	if err != nil {
		return fmt.Errorf("index of %s: scanning indicators: %w", x.f.Name, err)
	}
	n.built = true
	n.sortCands()
	x.mu.Lock()
	x.g, x.grades, x.cands, x.pos, x.free, x.class, x.counts, x.guard, x.maxID, x.built =
		n.g, n.grades, n.cands, n.pos, n.free, n.class, n.counts, n.guard, n.maxID, true
	x.mu.Unlock()
	return nil
}

// Update reads the indicators of obs again (an ingest wrote them) and puts them in or takes them
// out.
func (x *Index) Update(ctx context.Context, st store.Store, obs []intel.Observable) error {
	if len(obs) == 0 {
		return nil
	}
	grades, err := sourceGrades(ctx, st)
	if err != nil {
		return fmt.Errorf("index of %s: %w", x.f.Name, err)
	}
	const chunk = 2000
	var ins []intel.Indicator
	for i := 0; i < len(obs); i += chunk {
		got, err := st.Indicators(ctx, obs[i:min(i+chunk, len(obs))])
		if err != nil {
			return fmt.Errorf("index of %s: reading indicators: %w", x.f.Name, err)
		}
		ins = append(ins, got...)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.built {
		return errors.New("index of " + x.f.Name + ": not built")
	}
	x.grades = grades
	s := newSelector(x.sel, x.f, x.model, grades, time.Time{})
	for _, in := range ins {
		x.drop(in.ID)
		x.put(s, in)
		x.unsorted++
	}
	if x.unsorted > len(x.cands)/16 {
		x.sortCands()
	}
	return nil
}

// sortCands puts the candidates in the order the formats write (addresses first, by address) and
// closes the holes: a regeneration then reads them in order, and aggregation finds them sorted.
func (x *Index) sortCands() {
	live := make([]candidate, 0, len(x.pos))
	for _, c := range x.cands {
		if c.id != 0 {
			live = append(live, c)
		}
	}
	slices.SortStableFunc(live, func(a, b candidate) int {
		if a.pfxOK != b.pfxOK {
			if a.pfxOK {
				return -1
			}
			return 1
		}
		if a.pfxOK {
			return comparePrefix(a.pfx, b.pfx)
		}
		return 0 // the others are few in an address list and sorted after selection
	})
	// Lay the reports out in the same order, in one block, with the strings every report repeats
	// (source names, threat types, tags) shared: a regeneration then reads memory in order.
	n := 0
	for _, c := range live {
		n += len(c.vis.Reports)
	}
	arena := make([]intel.Report, 0, n)
	strs := map[string]string{}
	intern := func(v string) string {
		if v == "" {
			return ""
		}
		if s, ok := strs[v]; ok {
			return s
		}
		strs[v] = v
		return v
	}
	tagSets := map[string][]string{}
	internTags := func(ts []string) []string {
		if len(ts) == 0 {
			return ts
		}
		k := strings.Join(ts, "\x00")
		if t, ok := tagSets[k]; ok {
			return t
		}
		t := slices.Clone(ts)
		tagSets[k] = t
		return t
	}
	for i := range live {
		c := &live[i]
		start := len(arena)
		for _, r := range c.vis.Reports {
			r.Observable = c.vis.Observable
			r.Source, r.ThreatType, r.Malware = intern(r.Source), intern(r.ThreatType), intern(r.Malware)
			r.Tags = internTags(r.Tags)
			arena = append(arena, r)
		}
		c.vis.Reports = arena[start:len(arena):len(arena)]
	}
	x.cands, x.free, x.unsorted = live, nil, 0
	clear(x.pos)
	for i, c := range live {
		x.pos[c.id] = int32(i)
	}
}

// Len returns the number of candidates.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.pos)
}

// put classifies in (which must not be in the index) and keeps it when it is a candidate.
func (x *Index) put(s *selector, in intel.Indicator) {
	known := in.ID <= x.maxID
	x.maxID = max(x.maxID, in.ID)
	vis, why, r := s.admit(in, x.g)
	if why == ReasonType {
		if !known {
			x.counts[why]++
		}
		return
	}
	if why != "" {
		x.class[in.ID] = why
		x.counts[why]++
		if r.Reason != "" {
			x.guard[in.ID] = r
		}
		return
	}
	c := candidate{id: in.ID, vis: vis}
	c.pfx, c.pfxOK = parseEntryPrefix(vis.Observable)
	if n := len(x.free); n > 0 {
		i := x.free[n-1]
		x.free = x.free[:n-1]
		x.cands[i] = c
		x.pos[in.ID] = i
		return
	}
	x.pos[in.ID] = int32(len(x.cands))
	x.cands = append(x.cands, c)
}

// drop forgets indicator id.
func (x *Index) drop(id int64) {
	if i, ok := x.pos[id]; ok {
		x.cands[i] = candidate{}
		x.free = append(x.free, i)
		delete(x.pos, id)
		return
	}
	if why, ok := x.class[id]; ok {
		x.counts[why]--
		delete(x.class, id)
		delete(x.guard, id)
	}
}

// Collect returns the entries of the export at now, with the indicators last seen before since
// (zero: none) left out, those scoring under minScore left out and the best limit kept (0: all),
// in the order the formats write: what [Collect] returns over the same indicators.
func (x *Index) Collect(ctx context.Context, since time.Time, minScore, limit int, now time.Time) ([]Entry, Report, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	rep := Report{Removed: map[string]int{}}
	if !x.built {
		return nil, rep, errors.New("index of " + x.f.Name + ": not built")
	}
	for why, n := range x.counts {
		if n > 0 {
			rep.Removed[why] = n
		}
	}
	ids := make([]int64, 0, len(x.guard))
	for id := range x.guard {
		ids = append(ids, id)
	}
	slices.Sort(ids) // the store's scan order
	for _, id := range ids {
		rep.Removals = append(rep.Removals, x.guard[id])
	}
	rep.Candidates = len(x.pos) + len(x.class) + x.counts[ReasonType]
	sel := x.sel
	sel.Since, sel.MinScore = since, minScore
	s := newSelector(sel, x.f, x.model, x.grades, now)

	// Score the candidates side by side, in contiguous parts.
	// Each part writes its entries at the start of its own range of out; the ranges are closed
	// up afterwards.
	type part struct {
		lo, n   int
		removed map[string]int
	}
	out := x.buffer(len(x.cands))
	w := max(1, min(runtime.GOMAXPROCS(0), len(x.cands)/4096))
	parts := make([]part, w)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := p*len(x.cands)/w, (p+1)*len(x.cands)/w
		wg.Go(func() {
			pt := part{lo: lo, removed: map[string]int{}}
			for i := lo; i < hi; i++ {
				c := &x.cands[i]
				if c.id == 0 {
					continue
				}
				if !since.IsZero() && c.vis.LastSeen.Before(since) {
					pt.removed[ReasonSince]++
					continue
				}
				e, why := s.scoreWith(c.vis, c.pfx, c.pfxOK)
				if why != "" {
					pt.removed[why]++
					continue
				}
				out[lo+pt.n] = e
				pt.n++
			}
			parts[p] = pt
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, rep, err
	}
	total := 0
	for _, pt := range parts {
		if pt.lo != total {
			copy(out[total:], out[pt.lo:pt.lo+pt.n])
		}
		total += pt.n
		for why, n := range pt.removed {
			rep.Removed[why] += n
		}
	}
	clear(out[total:])
	out = finish(out[:total], x.f, limit, &rep)
	return out, rep, nil
}

// sourceGrades reads the sources' reliabilities.
func sourceGrades(ctx context.Context, st store.Store) (map[string]intel.Reliability, error) {
	srcs, err := st.ListSources(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sources: %w", err)
	}
	grades := make(map[string]intel.Reliability, len(srcs))
	for _, s := range srcs {
		grades[s.Name] = s.Reliability
	}
	return grades, nil
}
