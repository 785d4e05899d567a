package kb

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/shardmap"
)

// Hit is what the lookup and enrichment paths read of a matched indicator besides the index: the
// indicator with all its reports, and the relationships it takes part in. A Hit is shared
// between callers: never modify it.
type Hit struct {
	Indicator     intel.Indicator
	Relationships []intel.Relationship // the indicator on either side, by ID
	// Sightings of the indicator's value inside the organisation, latest first, as of the read
	// (a sighting written through the wrapped store drops the cached Hit).
	Sightings []intel.Sighting
}

// DetailsEpoch changes whenever the details of an indicator may have changed (a report, a
// sighting or a relationship written through the wrapped store, a catch-up, a rebuild), even when
// [KB.Version] does not. With Version it tells whether an answer computed earlier still holds.
func (k *KB) DetailsEpoch() int64 { return k.cache.epoch.Load() }

// Hits returns the details of the matched indicators, by ID, from the cache or the store. The
// misses are read in three queries (indicators, relationships, sightings) run side by side: the
// snapshot already knows the observables, so none waits for another. An indicator gone from the
// store since the snapshot was built is left out.
func (k *KB) Hits(ctx context.Context, ms []match.Match) (map[int64]*Hit, error) {
	out := make(map[int64]*Hit, len(ms))
	var missID []int64
	var missObs []intel.Observable
	var refs []string
	for _, m := range ms {
		if _, ok := out[m.ID]; ok {
			continue
		}
		if h, ok := k.cache.Get(m.ID); ok {
			out[m.ID] = h
			continue
		}
		out[m.ID] = nil
		o := m.Observable()
		missID, missObs, refs = append(missID, m.ID), append(missObs, o), append(refs, o.String())
	}
	if len(missID) == 0 {
		return out, nil
	}
	for _, id := range missID {
		delete(out, id)
	}
	var (
		wg               sync.WaitGroup
		ins              []intel.Indicator
		rels             []intel.Relationship
		sightings        []intel.Sighting
		errI, errR, errS error
	)
	wg.Go(func() { rels, errR = k.st.RelationshipsFrom(ctx, refs) })
	wg.Go(func() { sightings, errS = k.st.SightingsOf(ctx, missObs) })
	ins, errI = k.indicators(ctx, missID)
	wg.Wait()
	switch {
	case errI != nil:
		return nil, fmt.Errorf("reading matched indicators: %w", errI)
	case errR != nil:
		return nil, fmt.Errorf("reading relationships of matched indicators: %w", errR)
	case errS != nil:
		return nil, fmt.Errorf("reading sightings of matched indicators: %w", errS)
	}
	seen := map[intel.Observable][]intel.Sighting{}
	for _, x := range sightings {
		seen[x.Observable] = append(seen[x.Observable], x)
	}
	byRef := map[string][]intel.Relationship{}
	for _, r := range rels {
		byRef[r.SourceRef] = append(byRef[r.SourceRef], r)
	}
	g := k.Graph()
	for _, in := range ins {
		ref := in.Observable.String()
		h := &Hit{Indicator: in, Relationships: append(byRef[ref], g.To(ref)...), Sightings: seen[in.Observable]}
		out[in.ID] = h
		k.cache.Put(in.ID, h)
	}
	return out, nil
}

// parallelRead is the number of indicators from which Hits splits its indicator read in two,
// read side by side (SQLite reads run in parallel on WAL; decoding rows is CPU work).
const parallelRead = 256

func (k *KB) indicators(ctx context.Context, ids []int64) ([]intel.Indicator, error) {
	if len(ids) < parallelRead {
		return k.st.IndicatorsByID(ctx, ids)
	}
	half := len(ids) / 2
	var (
		wg     sync.WaitGroup
		second []intel.Indicator
		err2   error
	)
	wg.Go(func() { second, err2 = k.st.IndicatorsByID(ctx, ids[half:]) })
	first, err := k.st.IndicatorsByID(ctx, ids[:half])
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if err2 != nil {
		return nil, err2
	}
	return append(first, second...), nil
}

// hitCache is the bounded map of matched indicators' details, with an epoch that counts the
// drops and clears: a change of it means some indicator's details changed.
type hitCache struct {
	*shardmap.Map[int64, *Hit]
	epoch atomic.Int64
}

func newHitCache(size int) *hitCache {
	return &hitCache{Map: shardmap.New[int64, *Hit](size, func(id int64) uint64 { return uint64(id) })}
}

// dropValue drops the cached details of the indicator of o, if it has one.
func (k *KB) dropValue(o intel.Observable) {
	for _, m := range k.engine.Snapshot().Match(o, nil) {
		if m.Kind == match.MatchExact {
			k.cache.drop(m.ID)
		}
	}
}

func (c *hitCache) drop(id int64) {
	c.epoch.Add(1)
	c.Delete(id)
}

func (c *hitCache) clear() {
	c.epoch.Add(1)
	c.Clear()
}
