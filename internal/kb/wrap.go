package kb

import (
	"context"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Wrap returns st with hooks that keep k fresh: an ingest that commits updates the engine with
// the indicators it wrote, and writes of entities, relationships or assets mark the graph or the
// assets for reloading (by [KB.Run], or [KB.Sync]). Give the wrapped store to everything that
// writes while k serves: collectors, imports, the API.
func (k *KB) Wrap(st store.Store) store.Store { return &watched{Store: st, k: k} }

type watched struct {
	store.Store
	k *KB
}

func (w *watched) NewIngester(ctx context.Context, o store.IngestOptions) (store.Ingester, error) {
	in, err := w.Store.NewIngester(ctx, o)
	if err != nil {
		return nil, err
	}
	return &watchedIngester{Ingester: in, k: w.k, seen: map[intel.Observable]struct{}{}}, nil
}

func (w *watched) PutEntities(ctx context.Context, es []intel.Entity) error {
	defer w.graphChanged()
	return w.Store.PutEntities(ctx, es)
}

func (w *watched) MergeEntityAttributes(ctx context.Context, id string, attrs map[string]any) error {
	defer w.graphChanged()
	return w.Store.MergeEntityAttributes(ctx, id, attrs)
}

func (w *watched) PutRelationships(ctx context.Context, rs []intel.Relationship) error {
	defer w.graphChanged()
	return w.Store.PutRelationships(ctx, rs)
}

func (w *watched) PutAsset(ctx context.Context, a intel.Asset) (intel.Asset, error) {
	defer w.assetsChanged()
	return w.Store.PutAsset(ctx, a)
}

func (w *watched) DeleteAsset(ctx context.Context, id int64) error {
	defer w.assetsChanged()
	return w.Store.DeleteAsset(ctx, id)
}

func (w *watched) AddSighting(ctx context.Context, s intel.Sighting) (intel.Sighting, error) {
	defer w.k.dropValue(s.Observable)
	return w.Store.AddSighting(ctx, s)
}

func (w *watched) SetSightingVerdict(ctx context.Context, o intel.Observable, verdict string) (int, error) {
	defer w.k.dropValue(o)
	return w.Store.SetSightingVerdict(ctx, o, verdict)
}

func (w *watched) PutAllow(ctx context.Context, e intel.AllowEntry) (intel.AllowEntry, error) {
	defer w.k.changed()
	return w.Store.PutAllow(ctx, e)
}

func (w *watched) DeleteAllow(ctx context.Context, id int64) error {
	defer w.k.changed()
	return w.Store.DeleteAllow(ctx, id)
}

func (w *watched) graphChanged() {
	w.k.graphDirty.Store(true)
	w.k.poke()
}

func (w *watched) assetsChanged() {
	w.k.assetsDirty.Store(true)
	w.k.poke()
}

// watchedIngester remembers the observables of an ingest and hands them to the KB once the
// ingest has committed.
type watchedIngester struct {
	store.Ingester
	k    *KB
	seen map[intel.Observable]struct{}
	obs  []intel.Observable
}

func (w *watchedIngester) Add(ctx context.Context, r intel.Report) error {
	err := w.Ingester.Add(ctx, r)
	if err == nil {
		if _, ok := w.seen[r.Observable]; !ok {
			w.seen[r.Observable] = struct{}{}
			w.obs = append(w.obs, r.Observable)
		}
	}
	return err
}

func (w *watchedIngester) Close(ctx context.Context) (store.IngestStats, error) {
	st, err := w.Ingester.Close(ctx)
	w.flush(ctx) // after a failure too: the batches committed before it stay
	return st, err
}

func (w *watchedIngester) Abort() {
	w.Ingester.Abort()
	w.flush(context.Background()) // committed batches stay (unless the ingest is atomic)
}

// flush indexes what the store now holds of the ingest's observables: [KB.Touched] reads them,
// so observables that were not written cost a read and nothing else.
func (w *watchedIngester) flush(ctx context.Context) {
	if len(w.obs) > 0 {
		if err := w.k.Touched(ctx, w.obs); err != nil {
			w.k.log.Error("updating the match index after an ingest", "err", err)
		}
	}
	w.seen, w.obs = nil, nil
}
