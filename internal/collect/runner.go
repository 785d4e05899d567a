package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// Runner runs one collection of a configured source and records its outcome.
type Runner struct {
	Store store.Store
	// Fetch downloads for every source, unless FetcherFor is set and returns one for the source (a
	// source with its own proxy, say).
	Fetch      Fetcher
	FetcherFor func(config.Source) Fetcher
	Importer   *ingest.Importer
	Logger     *slog.Logger
	Now        func() time.Time
}

// EnsureSource creates or updates the stored source from its configuration; run health is kept.
func (r *Runner) EnsureSource(ctx context.Context, src config.Source) (intel.Source, error) {
	s, err := r.Store.Source(ctx, src.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return s, fmt.Errorf("reading source %s: %w", src.Name, err)
	}
	s.Name, s.Kind, s.URL = src.Name, src.Kind, src.URL
	s.Reliability, s.Confidence, s.TLP, s.Enabled = src.Reliability, src.Confidence, src.TLP, src.IsEnabled()
	return r.Store.PutSource(ctx, s)
}

// Run collects src once and records the run (success or failure) on the stored source. The error
// is the run's: the data of the last good run stays in force whatever happened.
func (r *Runner) Run(ctx context.Context, src config.Source) (intel.SourceRun, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := now()
	run := intel.SourceRun{At: start.UTC()}
	stored, err := r.EnsureSource(ctx, src)
	if err != nil {
		return run, err
	}
	c, err := New(src)
	var res Result
	if err == nil {
		var state []byte
		if state, err = r.Store.SourceState(ctx, src.Name); err == nil {
			f := r.Fetch
			if r.FetcherFor != nil {
				if ff := r.FetcherFor(src); ff != nil {
					f = ff
				}
			}
			res, err = c.Collect(ctx, &Env{Source: src, Fetch: f, Store: r.Store, Importer: r.Importer,
				Logger: log.With("source", src.Name), Now: start.UTC(), State: state, GoodRecords: stored.GoodRecords})
		}
	}
	run.Stats = intel.RunStats{Duration: now().Sub(start), FetchedBytes: res.Fetched, NotModified: res.NotModified,
		Records: res.Records, New: res.New, Updated: res.Updated, Rejected: res.Rejected, Entities: res.Entities,
		Relationships: res.Relationships}
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return run, err // shutting down: the run was abandoned, not failed
		}
		run.Err = err.Error()
	} else {
		run.State = res.State
	}
	// Record the outcome even if ctx has just ended: a finished run is worth keeping.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := r.Store.RecordSourceRun(rctx, src.Name, run); rerr != nil {
		return run, errors.Join(err, fmt.Errorf("recording the run of %s: %w", src.Name, rerr))
	}
	if err != nil {
		log.Warn("collection failed; the last good data stays in force", "source", src.Name, "err", err, "duration", run.Stats.Duration)
	} else {
		log.Info("collection done", "source", src.Name, "records", res.Records, "new", res.New, "updated", res.Updated,
			"rejected", res.Rejected, "not_modified", res.NotModified, "duration", run.Stats.Duration)
	}
	return run, err
}
