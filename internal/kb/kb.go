// Package kb is omen's knowledge in memory: the matching engine's snapshot of every indicator,
// the warninglists and the organisation's assets, the entity graph, and a cache of the details of
// recently matched indicators. The lookup and enrichment paths answer from it; the store stays
// the source of truth.
//
// A [KB] is built from the store at start and kept fresh without a full rebuild: wrap the store
// with [KB.Wrap] and every ingest that commits updates the engine with the indicators it touched
// (an incremental [match.Engine.Update]), and every change of entities or assets marks the graph
// or the asset index for reloading by [KB.Run]. Run also rebuilds everything now and then, which
// compacts the index and catches changes made by other processes.
package kb

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/store"
)

// KB holds the in-memory knowledge. Readers never lock; it is safe for concurrent use.
type KB struct {
	st     store.Store
	log    *slog.Logger
	engine *match.Engine
	graph  atomic.Pointer[Graph]
	assets atomic.Pointer[map[int64]intel.Asset]
	cache  *hitCache

	// dirty bits set by the store wrapper, served by Run.
	graphDirty, assetsDirty atomic.Bool
	kick                    chan struct{}

	mu    sync.Mutex // serialises rebuilds
	built atomic.Int64
}

// Options configures [Open].
type Options struct {
	// Warninglists the engine checks values against; nil for none.
	Warninglists *match.WarninglistSet
	Logger       *slog.Logger
	// CacheSize is the number of matched indicators whose details stay in memory (default 65536).
	CacheSize int
}

// Open builds the knowledge from st: every indicator (a scan of the store), the assets and the
// entity graph.
func Open(ctx context.Context, st store.Store, o Options) (*KB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 1 << 16
	}
	k := &KB{st: st, log: o.Logger, cache: newHitCache(o.CacheSize), kick: make(chan struct{}, 1)}
	k.engine = match.NewEngine(nil)
	snap, err := k.build(ctx, o.Warninglists)
	if err != nil {
		return nil, err
	}
	k.engine.Swap(snap)
	g, err := LoadGraph(ctx, st)
	if err != nil {
		return nil, err
	}
	k.graph.Store(g)
	return k, nil
}

// build reads every indicator and asset into a new snapshot.
func (k *KB) build(ctx context.Context, lists *match.WarninglistSet) (*match.Snapshot, error) {
	start := time.Now()
	b := match.NewBuilder()
	err := k.st.ScanIndicators(ctx, func(in intel.Indicator) error {
		if err := b.AddIndicator(in); err != nil {
			k.log.Debug("indicator not indexed", "err", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("building the match index: %w", err)
	}
	b.SetWarninglists(lists)
	vals, err := k.assetValues(ctx)
	if err != nil {
		return nil, err
	}
	b.SetAssets(vals)
	s := b.Build()
	st := s.Stats()
	k.built.Store(time.Now().UnixNano())
	k.log.Info("match index built", "indicators", st.Indicators, "rejected", st.Rejected,
		"heap_mb", st.Bytes>>20, "took", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// assetValues reads the assets, keeps them by ID for [KB.Asset] and returns their values.
func (k *KB) assetValues(ctx context.Context) ([]match.AssetValue, error) {
	as, err := k.st.ListAssets(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing assets: %w", err)
	}
	byID := make(map[int64]intel.Asset, len(as))
	for _, a := range as {
		byID[a.ID] = a
	}
	k.assets.Store(&byID)
	return match.AssetValues(as), nil
}

// Asset returns the asset with that ID as last loaded (the IDs of [match.AssetHit]).
func (k *KB) Asset(id int64) (intel.Asset, bool) {
	m := k.assets.Load()
	if m == nil {
		return intel.Asset{}, false
	}
	a, ok := (*m)[id]
	return a, ok
}

// Snapshot returns the current match snapshot. It never blocks.
func (k *KB) Snapshot() *match.Snapshot { return k.engine.Snapshot() }

// Engine returns the matching engine.
func (k *KB) Engine() *match.Engine { return k.engine }

// Graph returns the current entity graph. It never blocks.
func (k *KB) Graph() *Graph { return k.graph.Load() }

// Store returns the store the knowledge is read from.
func (k *KB) Store() store.Store { return k.st }

// Rebuild reads everything again (indicators, assets, graph) and swaps it in; lookups go on
// against the old snapshot meanwhile.
func (k *KB) Rebuild(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	snap, err := k.build(ctx, k.engine.Snapshot().Warninglists())
	if err != nil {
		return err
	}
	g, err := LoadGraph(ctx, k.st)
	if err != nil {
		return err
	}
	k.engine.Swap(snap)
	k.graph.Store(g)
	k.cache.clear()
	return nil
}

// SetWarninglists swaps the warninglists.
func (k *KB) SetWarninglists(ws *match.WarninglistSet) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.engine.Swap(k.engine.Snapshot().WithWarninglists(ws))
}

// ReloadAssets reads the assets again and swaps them in.
func (k *KB) ReloadAssets(ctx context.Context) error {
	vals, err := k.assetValues(ctx)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.engine.Swap(k.engine.Snapshot().WithAssets(vals))
	return nil
}

// ReloadGraph reads the entity graph again and swaps it in.
func (k *KB) ReloadGraph(ctx context.Context) error {
	g, err := LoadGraph(ctx, k.st)
	if err != nil {
		return err
	}
	k.graph.Store(g)
	k.cache.clear() // cached details hold relationships from the old graph
	return nil
}

// indexChunk is the number of observables per store read when applying an ingest.
const indexChunk = 2000

// Touched updates the engine with the current state of the indicators of obs (after an ingest
// wrote them): new indicators are added, those whose flags changed replaced, unchanged ones left
// alone; their cached details are dropped.
func (k *KB) Touched(ctx context.Context, obs []intel.Observable) error {
	var add []match.Entry
	var buf []match.Match
	snap := k.engine.Snapshot()
	for i := 0; i < len(obs); i += indexChunk {
		ins, err := k.st.Indicators(ctx, obs[i:min(i+indexChunk, len(obs))])
		if err != nil {
			return fmt.Errorf("reading ingested indicators: %w", err)
		}
		for _, in := range ins {
			k.cache.drop(in.ID)
			e := match.EntryFromIndicator(in)
			if indexed(snap, e, buf[:0]) {
				continue
			}
			add = append(add, e)
		}
	}
	if len(add) == 0 {
		return nil
	}
	start := time.Now()
	k.mu.Lock()
	k.engine.Update(add, nil)
	k.mu.Unlock()
	k.log.Debug("match index updated", "added", len(add), "took", time.Since(start).Round(time.Microsecond))
	return nil
}

// indexed reports whether snap already holds e as it is.
func indexed(snap *match.Snapshot, e match.Entry, buf []match.Match) bool {
	for _, m := range snap.Match(e.Observable, buf) {
		if m.Kind == match.MatchExact && m.ID == e.ID {
			return m.Flags == e.Flags
		}
	}
	return false
}

// Run keeps the knowledge fresh until ctx is done: it reloads the graph and the assets when the
// wrapped store changed them (checking every second, and at once when kicked), and rebuilds
// everything every fullEvery (0: never).
func (k *KB) Run(ctx context.Context, fullEvery time.Duration) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var full <-chan time.Time
	if fullEvery > 0 {
		t := time.NewTicker(fullEvery)
		defer t.Stop()
		full = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-full:
			if err := k.Rebuild(ctx); err != nil && ctx.Err() == nil {
				k.log.Error("rebuilding the match index", "err", err)
			}
		case <-tick.C:
		case <-k.kick:
		}
		if k.graphDirty.Swap(false) {
			if err := k.ReloadGraph(ctx); err != nil && ctx.Err() == nil {
				k.log.Error("reloading the entity graph", "err", err)
				k.graphDirty.Store(true)
			}
		}
		if k.assetsDirty.Swap(false) {
			if err := k.ReloadAssets(ctx); err != nil && ctx.Err() == nil {
				k.log.Error("reloading assets", "err", err)
				k.assetsDirty.Store(true)
			}
		}
	}
}

// Sync applies pending graph and asset changes now (tests, and callers that need them at once).
func (k *KB) Sync(ctx context.Context) error {
	if k.graphDirty.Swap(false) {
		if err := k.ReloadGraph(ctx); err != nil {
			return err
		}
	}
	if k.assetsDirty.Swap(false) {
		return k.ReloadAssets(ctx)
	}
	return nil
}

func (k *KB) poke() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}
