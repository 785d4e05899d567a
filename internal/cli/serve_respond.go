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
}

func (l *liveGuard) get(ctx context.Context) (*respond.Guard, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v := l.a.kb.Version(); l.g == nil || v != l.ver {
		g, err := l.a.guard(ctx)
		if err != nil {
			return nil, err
		}
		l.g, l.ver = g, v
	}
	return l.g, nil
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
		if r.feeds, err = respond.NewFeedServer(respond.FeedOptions{Exports: a.cfg.Exports,
			Produce: func(ctx context.Context, name string, sel respond.Selection, f respond.Format) ([]respond.Entry, respond.Report, error) {
				g, err := r.guard.get(ctx)
				if err != nil {
					return nil, respond.Report{}, err
				}
				return respond.Collect(ctx, a.store, g, a.model, sel, f, time.Now())
			},
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
