package cli

import (
	"context"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/risk"
)

// liveGuard is the export guard of a serving omen: rebuilt from the store (assets, allowlist) when
// the knowledge base's version moved, so a new asset or allowlist entry protects at once.
type liveGuard struct {
	a   *app
	mu  sync.Mutex
	ver int64
	g   *respond.Guard
	fp  string // what the guard was built from: assets, allowlist, warninglists
}

func (l *liveGuard) get(ctx context.Context) (*respond.Guard, error) {
	g, _, err := l.getFP(ctx)
	return g, err
}

// getFP returns the guard and a fingerprint of what it was built from, which changes only when
// the assets, the allowlist or the warninglists do (not with every ingest, as the version does).
func (l *liveGuard) getFP(ctx context.Context) (*respond.Guard, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v := l.a.kb.Version(); l.g == nil || v != l.ver {
		g, fp, err := l.a.guardFP(ctx)
		if err != nil {
			return nil, "", err
		}
		l.g, l.ver, l.fp = g, v, fp
	}
	return l.g, l.fp, nil
}

// feedIndexes keeps an in-memory index per served export, so that a feed regenerates from memory
// (see [respond.Index]): indexes are built on first use, follow the ingests through the knowledge
// base, and are built again when the guard changed or the knowledge base was rebuilt.
type feedIndexes struct {
	a     *app
	guard *liveGuard

	mu     sync.Mutex // serialises builds, updates and generations
	byName map[string]*feedIndex

	// pending is what the knowledge base reported touched since the last generation, under
	// its own lock: the report comes on the ingest's goroutine, which must not wait for a build.
	pendMu  sync.Mutex
	pending []intel.Observable
	all     bool // everything may have changed
}

type feedIndex struct {
	x  *respond.Index
	fp string // the guard's fingerprint at the build; "" when not built
}

func newFeedIndexes(a *app, g *liveGuard) *feedIndexes {
	fi := &feedIndexes{a: a, guard: g, byName: map[string]*feedIndex{}}
	a.kb.OnTouched(func(obs []intel.Observable, all bool) {
		fi.pendMu.Lock()
		defer fi.pendMu.Unlock()
		if all || len(fi.pending)+len(obs) > maxPendingUpdates {
			fi.all, fi.pending = true, nil
			return
		}
		fi.pending = append(fi.pending, obs...)
	})
	return fi
}

// maxPendingUpdates is the number of touched values beyond which the indexes are built again
// rather than updated value by value.
const maxPendingUpdates = 200_000

// release hands a feed's written entries back to its index.
func (fi *feedIndexes) release(name string, es []respond.Entry) {
	fi.mu.Lock()
	ix := fi.byName[name]
	fi.mu.Unlock()
	if ix != nil {
		ix.x.Release(es)
	}
}

func (fi *feedIndexes) produce(ctx context.Context, name string, sel respond.Selection, f respond.Format) ([]respond.Entry, respond.Report, error) {
	g, fp, err := fi.guard.getFP(ctx)
	if err != nil {
		return nil, respond.Report{}, err
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.pendMu.Lock()
	pending, all := fi.pending, fi.all
	fi.pending, fi.all = nil, false
	fi.pendMu.Unlock()
	for _, ix := range fi.byName {
		switch {
		case ix.fp == "":
		case all:
			ix.fp = ""
		case len(pending) > 0:
			if err := ix.x.Update(ctx, fi.a.store, pending); err != nil {
				fi.a.log.Warn("feed index update failed; building it again", "err", err)
				ix.fp = ""
			}
		}
	}
	ix := fi.byName[name]
	if ix == nil {
		ix = &feedIndex{x: respond.NewIndex(f, sel, fi.a.model)}
		fi.byName[name] = ix
	}
	if ix.fp != fp {
		start := time.Now()
		if err := ix.x.Build(ctx, fi.a.store, g); err != nil {
			ix.fp = ""
			return nil, respond.Report{}, err
		}
		ix.fp = fp
		fi.a.log.Info("feed index built", "export", name, "entries", ix.x.Len(), "took", time.Since(start).Round(time.Millisecond))
	}
	return ix.x.Collect(ctx, sel.Since, sel.MinScore, sel.Max, time.Now())
}

// check is the guard as the action dispatcher wants it; when the guard cannot be read, nothing
// is blocked.
func (l *liveGuard) check(o intel.Observable) (string, bool) {
	g, err := l.get(context.Background())
	if err != nil {
		return "the guard could not be read: " + err.Error(), true
	}
	return respond.ActionGuard(g)(o)
}

// response is what serve and omen enrich wire for the response stage.
type response struct {
	guard      *liveGuard
	dispatcher *respond.Dispatcher // nil without webhooks
	policy     respond.AutoPolicy
	feeds      *respond.FeedServer // nil without exports
	exports    []respond.ExportRef
}

// openResponse builds the dispatcher (when webhooks are configured), the automatic-response
// policy and the feed server (when exports are configured). It needs a.kb.
func (a *app) openResponse() (*response, error) {
	r := &response{guard: &liveGuard{a: a}}
	for _, x := range a.cfg.Exports {
		r.exports = append(r.exports, respond.ExportRef{Name: x.Name, Format: x.Format})
	}
	policy, err := autoPolicyFromConfig(a.cfg.Actions)
	if err != nil {
		return nil, err
	}
	r.policy = policy
	if len(a.cfg.Actions.Webhooks) > 0 {
		if r.dispatcher, err = a.newDispatcher(a.log.With("component", "actions"), r.guard.check); err != nil {
			return nil, err
		}
	}
	if len(a.cfg.Exports) > 0 {
		indexes := newFeedIndexes(a, r.guard)
		if r.feeds, err = respond.NewFeedServer(respond.FeedOptions{Exports: a.cfg.Exports,
			Produce: indexes.produce, Release: indexes.release,
			// Scores decay with time: an hour bucket refreshes a feed even when no data changed.
			Version: func() int64 { return a.kb.Version()*1_000_000 + time.Now().Unix()/3600 },
			Logger:  a.log.With("component", "feeds")}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// enrichOptions returns the enrichment hooks of the response stage: ATT&CK mitigations and
// playbooks as recommendations, and the automatic response for findings in the Act band when
// the policy allows it.
func (r *response) enrichOptions(a *app, o enrich.Options) enrich.Options {
	o.Recommend = func(f intel.Finding, linked []intel.Entity, asset *intel.Asset) []string {
		return respond.Recommend(f, respond.RecommendInput{Entities: linked, Mitigations: respond.GraphMitigations(a.kb.Graph()),
			Asset: asset, Exports: r.exports})
	}
	if r.dispatcher != nil && r.policy.Enabled {
		o.OnNewFinding = func(ctx context.Context, f intel.Finding, p risk.Priority) {
			for _, k := range []respond.Kind{respond.KindBlock, respond.KindContainAccount, respond.KindOpenCase} {
				if !r.policy.Allow(p, k) {
					continue
				}
				if err := r.dispatcher.Dispatch(context.WithoutCancel(ctx), respond.Action{Kind: k, Finding: f, Actor: "auto"}); err != nil {
					a.log.Warn("automatic response not dispatched", "finding", f.ID, "kind", k, "err", err)
				}
			}
		}
	}
	return o
}

// close waits up to d for deliveries in flight; what is left is dead-lettered.
func (r *response) close(d time.Duration) {
	if r.dispatcher == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r.dispatcher.Close(ctx)
}
