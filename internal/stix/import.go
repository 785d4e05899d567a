package stix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// BatchSize is the number of objects read, stored (PutSTIXObjects) and applied at a time.
const BatchSize = 1000

// ErrNotSTIX is returned by [Importer.Bundle] for input that is not a STIX bundle, a TAXII
// envelope or a single STIX object.
var ErrNotSTIX = errors.New("not a STIX bundle, TAXII envelope or STIX object")

// Bundle imports a STIX bundle (2.0 or 2.1), a TAXII envelope ({"objects": [...]}) or a single STIX
// object read from r. The input is streamed: objects are read, stored and applied a batch at a
// time, so memory does not grow with the input. A syntax error part way through (a truncated
// file) is recorded as a rejected object naming its position and ends the reading; what was read
// before it is imported. Bundle returns an error wrapping [ErrNotSTIX] when the input is not JSON
// of one of those shapes, and any store error.
func (im *Importer) Bundle(ctx context.Context, r io.Reader, o Options) (Counts, error) {
	ru, err := im.start(ctx, o)
	if err != nil {
		return Counts{}, err
	}
	ru.input = r
	if err := ru.stream(ctx, json.NewDecoder(r)); err != nil {
		ru.abort()
		return ru.counts, err
	}
	return ru.finish(ctx)
}

// Objects imports STIX objects. A rejected object is counted and the rest go on; an error is
// returned only when the store fails or ctx ends. Objects without spec_version are taken as 2.0
// SDOs/SROs or 2.1 SCOs (see [Importer.Bundle] for bundles that say 2.0).
func (im *Importer) Objects(ctx context.Context, objs []json.RawMessage, o Options) (Counts, error) {
	ru, err := im.start(ctx, o)
	if err != nil {
		return Counts{}, err
	}
	for _, raw := range objs {
		if err := ru.add(ctx, raw); err != nil {
			ru.abort()
			return ru.counts, err
		}
	}
	return ru.finish(ctx)
}

// run is the state of one import.
type run struct {
	st       store.Store
	log      *slog.Logger
	o        Options
	coll     string
	now      time.Time
	conf     int // confidence of indicators without one
	bundleSV string
	ing      store.Ingester
	counts   Counts
	index    int // position of the next object in the input
	batch    []pending
	input    io.Reader            // the rest of the input after what the stream's decoder has buffered
	putting  chan putResult       // the background write of the last batch, nil when none
	markings map[string]intel.TLP // TLP marking definitions with ids of their own
	// indicatorRels are the relationships whose source is an indicator: at the end they are also
	// recorded from each of the indicator's observables.
	indicatorRels []intel.Relationship
	// indicatorIDs are the reducible indicators of this import: relationships stored by an earlier
	// import from them are linked from their observables too.
	indicatorIDs []string
}

// pending is one object read and not yet applied.
type pending struct {
	index int
	raw   json.RawMessage
}

func (im *Importer) start(ctx context.Context, o Options) (*run, error) {
	if o.Source == "" {
		return nil, errors.New("stix import: no source name")
	}
	if o.Confidence < 0 || o.Confidence > 100 {
		return nil, fmt.Errorf("stix import: confidence %d out of range 0..100", o.Confidence)
	}
	src, err := im.Store.Source(ctx, o.Source)
	if err != nil {
		return nil, fmt.Errorf("stix import: reading source %s: %w", o.Source, err)
	}
	ru := &run{st: im.Store, log: im.Logger, o: o, coll: o.Collection, conf: o.Confidence,
		markings: map[string]intel.TLP{}, counts: Counts{ByType: map[string]int{}}}
	if ru.log == nil {
		ru.log = slog.New(slog.DiscardHandler)
	}
	if ru.coll == "" {
		ru.coll = store.STIXPool
	}
	if ru.conf == 0 {
		ru.conf = src.Confidence
	}
	if ru.o.MaxErrors == 0 {
		ru.o.MaxErrors = 100
	}
	ru.now = time.Now().UTC()
	if im.Now != nil {
		ru.now = im.Now().UTC()
	}
	ru.ing, err = im.Store.NewIngester(ctx, store.IngestOptions{Source: o.Source, Classify: im.Warninglists.Classifier()})
	if err != nil {
		return nil, fmt.Errorf("stix import: starting ingest: %w", err)
	}
	return ru, nil
}

// add queues one object, applying the batch when it is full.
func (ru *run) add(ctx context.Context, raw json.RawMessage) error {
	ru.batch = append(ru.batch, pending{index: ru.index, raw: raw})
	ru.index++
	if len(ru.batch) >= BatchSize {
		return ru.flush(ctx)
	}
	return nil
}

// reject counts a bad object, under its type when it has one, and records why.
func (ru *run) reject(index int, typ, id string, err error) {
	ru.counts.Objects++
	ru.counts.Rejected++
	if typ == "" {
		typ = "(invalid)"
	}
	ru.counts.ByType[typ]++
	ru.errorf(index, id, err)
}

// errorf records an error about the object at index, without counting it as rejected.
func (ru *run) errorf(index int, id string, err error) {
	if len(ru.counts.Errors) >= ru.o.MaxErrors {
		return
	}
	what := fmt.Sprintf("object %d", index)
	if id != "" {
		what += " (" + id + ")"
	}
	ru.counts.Errors = append(ru.counts.Errors, what+": "+err.Error())
}

// abort ends a failed import; committed batches stay.
func (ru *run) abort() {
	ru.waitPut()
	ru.ing.Abort()
}

// finish applies what is queued, links indicator relationships to observables and closes the
// ingest.
func (ru *run) finish(ctx context.Context) (Counts, error) {
	if err := ru.flush(ctx); err != nil {
		ru.abort()
		return ru.counts, err
	}
	if err := ru.waitPut(); err != nil {
		ru.abort()
		return ru.counts, err
	}
	if err := ru.linkIndicators(ctx); err != nil {
		ru.abort()
		return ru.counts, err
	}
	if _, err := ru.ing.Close(ctx); err != nil {
		return ru.counts, fmt.Errorf("stix import: writing reports: %w", err)
	}
	c := ru.counts
	ru.log.Info("stix import done", "source", ru.o.Source, "collection", ru.coll, "objects", c.Objects, "stored", c.Stored,
		"unchanged", c.Unchanged, "rejected", c.Rejected, "indicators", c.Indicators, "observables", c.Observables,
		"entities", c.Entities, "relationships", c.Relationships)
	return c, nil
}
