package cli

import (
	"context"
	"log/slog"
	"slices"
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
	if len(cfg.CTLogs) == 0 && len(cfg.DomainFeeds) == 0 && cfg.CTLogList == "" {
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
	client := &ctlog.Client{Logger: log}
	for ctx.Err() == nil {
		// The log list's logs come and go (new shards, retired ones): it is read again daily and
		// the monitor restarted on the new set; cursors carry over.
		all := withListedLogs(ctx, client, cfg.CTLogList, logs, log)
		if len(all) == 0 {
			<-ctx.Done()
			return
		}
		runCtx, cancel := context.WithCancel(ctx)
		refresh := time.AfterFunc(logListRefresh, cancel)
		if cfg.CTLogList == "" {
			refresh.Stop()
		}
		m := &ctlog.Monitor{Logs: all, Client: client, Cursor: &ctlog.StoreCursor{Store: a.store, Source: ctlogSource},
			Handle: w.Handle, Logger: log}
		log.Info("following Certificate Transparency logs", "logs", len(all))
		err := m.Run(runCtx)
		refresh.Stop()
		cancel()
		if err != nil && runCtx.Err() == nil {
			log.Error("the CT monitor stopped", "err", err)
			<-ctx.Done()
			return
		}
	}
}

// logListRefresh is how often the CT log list is read again.
const logListRefresh = 24 * time.Hour

// withListedLogs returns logs and the usable logs of the log list src ("" for none, "chrome" for
// Chrome's), those configured by hand first. A list that cannot be read leaves only logs.
func withListedLogs(ctx context.Context, c *ctlog.Client, src string, logs []ctlog.LogConfig, log *slog.Logger) []ctlog.LogConfig {
	if src == "" {
		return logs
	}
	if src == "chrome" {
		src = ctlog.DefaultLogList
	}
	list, err := c.LogList(ctx, src)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("reading the CT log list; following the configured logs only", "err", err)
		}
		return logs
	}
	listed, problems := list.Follow(time.Now(), "now")
	for _, p := range problems {
		log.Warn("skipping a log of the CT log list", "err", p)
	}
	out := slices.Clone(logs)
	for _, l := range listed {
		if !slices.ContainsFunc(out, func(o ctlog.LogConfig) bool { return strings.TrimRight(o.URL, "/") == strings.TrimRight(l.URL, "/") }) {
			out = append(out, l)
		}
	}
	log.Info("CT log list read", "list", src, "version", list.Version, "usable", len(listed))
	return out
}
