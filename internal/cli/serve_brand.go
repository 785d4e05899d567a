package cli

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/brandwatch"
	"github.com/omen-tip/omen/internal/collect/ctlog"
	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
)

// ctlogSource is the store source whose state holds the CT monitor's cursors.
const ctlogSource = "ctlog"

// watchBrands follows the configured Certificate Transparency logs until ctx is done, raising a
// finding for every name that imitates one of the organisation's brands. It returns at once when
// no log is configured.
func (a *app) watchBrands(ctx context.Context, fs *findings.Service, resp *response) {
	cfg := a.cfg.Brand
	if len(cfg.CTLogs) == 0 && len(cfg.DomainFeeds) == 0 {
		return
	}
	log := a.log.With("component", "brand-monitor")
	w := brandwatch.New(a.store, fs, a.priorityModel(), log, cfg.Allow)
	w.Recommend = func(f intel.Finding) []string {
		return respond.Recommend(f, respond.RecommendInput{Exports: resp.exports})
	}
	if cfg.Liveness {
		w.Liveness = &brandwatch.Prober{Log: log}
	}
	if err := w.Reload(ctx); err != nil {
		log.Error("loading the brands", "err", err)
		return
	}
	if _, err := a.store.Source(ctx, ctlogSource); err != nil {
		if _, err := a.store.PutSource(ctx, intel.Source{Name: ctlogSource, Kind: "ctlog", Reliability: intel.ReliabilityB, Enabled: true}); err != nil {
			log.Error("creating the ctlog source", "err", err)
			return
		}
	}
	var logs []ctlog.LogConfig
	for _, l := range cfg.CTLogs {
		lc := ctlog.LogConfig{Name: l.Name, URL: l.URL, API: ctlog.API(l.API), Start: l.Start}
		if err := lc.Validate(); err != nil {
			log.Error("skipping a CT log", "url", l.URL, "err", err)
			continue
		}
		logs = append(logs, lc)
	}
	// The brands follow the asset inventory.
	var reload sync.WaitGroup
	defer reload.Wait()
	reload.Go(func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		seen := a.kb.Version()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if v := a.kb.Version(); v != seen {
				seen = v
				if err := w.Reload(ctx); err != nil && ctx.Err() == nil {
					log.Error("reloading the brands", "err", err)
				}
			}
		}
	})
	if len(cfg.DomainFeeds) > 0 {
		p := &brandwatch.FeedPoller{Watcher: w, Logger: log}
		for _, f := range cfg.DomainFeeds {
			p.Feeds = append(p.Feeds, brandwatch.FeedConfig{Name: f.Name, URL: f.URL, Format: strings.ToLower(f.Format),
				Field: f.FieldOrDefault(), Every: f.Interval()})
		}
		log.Info("polling newly observed domain feeds", "feeds", len(p.Feeds))
		var wg sync.WaitGroup
		defer wg.Wait() // no store write after serve closes the store
		wg.Go(func() {
			if err := p.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("the domain feed poller stopped", "err", err)
			}
		})
	}
	if len(logs) == 0 {
		<-ctx.Done()
		return
	}
	m := &ctlog.Monitor{Logs: logs, Client: &ctlog.Client{Logger: log}, Cursor: &ctlog.StoreCursor{Store: a.store, Source: ctlogSource},
		Handle: w.Handle, Logger: log}
	log.Info("following Certificate Transparency logs", "logs", len(logs))
	if err := m.Run(ctx); err != nil && ctx.Err() == nil {
		log.Error("the CT monitor stopped", "err", err)
	}
}
