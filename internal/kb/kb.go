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
	"slices"
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
	// maxID is the highest indicator ID indexed, where [KB.CatchUp] resumes.
	maxID atomic.Int64
	// assetsFP fingerprints the assets loaded, so that CatchUp sees other processes' changes.
	assetsFP atomic.Value
	// version counts the changes of what the knowledge holds (see [KB.Version]).
	version atomic.Int64

	subsMu sync.Mutex
	subs   []func(obs []intel.Observable, all bool)
}

// OnTouched calls fn with the values of the indicators written since (by an ingest through the
// wrapped store, or found by [KB.CatchUp]), and with all set after a [KB.Rebuild], when any
// indicator may have changed. fn runs on the writer's goroutine: it must be quick (queue the
// values, do the work later).
func (k *KB) OnTouched(fn func(obs []intel.Observable, all bool)) {
	k.subsMu.Lock()
	k.subs = append(k.subs, fn)
	k.subsMu.Unlock()
}

func (k *KB) notify(obs []intel.Observable, all bool) {
	k.subsMu.Lock()
	subs := slices.Clone(k.subs)
	k.subsMu.Unlock()
	for _, fn := range subs {
		fn(obs, all)
	}
}

// Version changes whenever the indicators, assets, warninglists, allowlist or entities the
// knowledge holds change: feeds regenerate when it moves.
func (k *KB) Version() int64 { return k.version.Load() }

func (k *KB) changed() { k.version.Add(1) }

// afterScanner is a store that can list the indicators created after a given ID (store/sqlite).
type afterScanner interface {
	ScanIndicatorsAfter(ctx context.Context, after int64, fn func(intel.Indicator) error) error
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
	var maxID int64
	err := k.st.ScanIndicators(ctx, func(in intel.Indicator) error {
		maxID = max(maxID, in.ID)
		if err := b.AddIndicator(in); err != nil {
			k.log.Debug("indicator not indexed", "err", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("building the match index: %w", err)
	}
	k.raiseMaxID(maxID)
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
	k.keepAssets(as)
	return match.AssetValues(as), nil
}

func (k *KB) keepAssets(as []intel.Asset) {
	byID := make(map[int64]intel.Asset, len(as))
	for _, a := range as {
		byID[a.ID] = a
	}
	k.assets.Store(&byID)
	k.assetsFP.Store(assetsFingerprint(as))
}

// assetsFingerprint changes whenever an asset is added, changed or deleted.
func assetsFingerprint(as []intel.Asset) string {
	var maxID int64
	var last time.Time
	var sum int64
	for _, a := range as {
		maxID, sum = max(maxID, a.ID), sum+a.ID
		if a.UpdatedAt.After(last) {
			last = a.UpdatedAt
		}
	}
	return fmt.Sprint(len(as), maxID, sum, last.UnixNano())
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
	k.changed()
	k.notify(nil, true)
	return nil
}

// SetWarninglists swaps the warninglists.
func (k *KB) SetWarninglists(ws *match.WarninglistSet) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.engine.Swap(k.engine.Snapshot().WithWarninglists(ws))
	k.changed()
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
	k.changed()
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
	k.changed()
	return nil
}

// indexChunk is the number of observables per store read when applying an ingest.
const indexChunk = 2000

// Touched updates the engine with the current state of the indicators of obs (after an ingest
// wrote them): new indicators are added, those whose flags changed replaced, unchanged ones left
// alone; their cached details are dropped.
func (k *KB) Touched(ctx context.Context, obs []intel.Observable) error {
	defer k.notify(obs, false)
	var add []match.Entry
	var buf []match.Match
	snap := k.engine.Snapshot()
	for i := 0; i < len(obs); i += indexChunk {
		ins, err := k.st.Indicators(ctx, obs[i:min(i+indexChunk, len(obs))])
		if err != nil {
			return fmt.Errorf("reading ingested indicators: %w", err)
		}
		for _, in := range ins {
			k.raiseMaxID(in.ID)
			k.cache.drop(in.ID)
			e := match.EntryFromIndicator(in)
			if indexed(snap, e, buf[:0]) {
				continue
			}
			add = append(add, e)
		}
	}
	if len(obs) > 0 {
		k.changed() // reports changed even when the index did not
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

func (k *KB) raiseMaxID(id int64) {
	for {
		cur := k.maxID.Load()
		if id <= cur || k.maxID.CompareAndSwap(cur, id) {
			return
		}
	}
}

// CatchUp indexes the indicators created since the last one indexed by anything other than the
// wrapped store (an `omen import` or a collector in another process), and reloads the assets when
// they changed. Changes to existing indicators and to entities made elsewhere wait for the next
// [KB.Rebuild]. New indicators are found only when the store can list them by ID (store/sqlite).
func (k *KB) CatchUp(ctx context.Context) (int, error) {
	var add []match.Entry
	maxID := k.maxID.Load()
	var touched []intel.Observable
	if sc, ok := k.st.(afterScanner); ok {
		err := sc.ScanIndicatorsAfter(ctx, maxID, func(in intel.Indicator) error {
			touched = append(touched, in.Observable)
			add = append(add, match.EntryFromIndicator(in))
			maxID = max(maxID, in.ID)
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("reading new indicators: %w", err)
		}
	}
	if len(add) > 0 {
		k.mu.Lock()
		k.engine.Update(add, nil)
		k.mu.Unlock()
		k.changed()
		k.notify(touched, false)
		k.log.Info("match index caught up with indicators written elsewhere", "added", len(add))
	}
	k.raiseMaxID(maxID)
	// Assets are few: read them all and reload when they changed.
	as, err := k.st.ListAssets(ctx, "")
	if err != nil {
		return len(add), fmt.Errorf("listing assets: %w", err)
	}
	if fp, _ := k.assetsFP.Load().(string); fp != assetsFingerprint(as) {
		k.keepAssets(as)
		k.mu.Lock()
		k.engine.Swap(k.engine.Snapshot().WithAssets(match.AssetValues(as)))
		k.mu.Unlock()
		k.changed()
		k.log.Info("assets reloaded", "assets", len(as))
	}
	return len(add), nil
}

// catchUpEvery is how often [KB.Run] looks for indicators written by other processes.
const catchUpEvery = 5 * time.Second

// Run keeps the knowledge fresh until ctx is done: it reloads the graph and the assets when the
// wrapped store changed them (checking every second, and at once when kicked), indexes the
// indicators other processes created (every five seconds, see [KB.CatchUp]), and rebuilds
// everything every fullEvery (0: never).
func (k *KB) Run(ctx context.Context, fullEvery time.Duration) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastCatchUp := time.Now()
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
		if time.Since(lastCatchUp) >= catchUpEvery {
			lastCatchUp = time.Now()
			if _, err := k.CatchUp(ctx); err != nil && ctx.Err() == nil {
				k.log.Error("catching up with new indicators", "err", err)
			}
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
