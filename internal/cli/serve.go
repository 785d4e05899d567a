package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/api"
	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/demo"
	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/taxii"
)

func (e *env) serveCmd() *cobra.Command {
	var (
		listen    string
		runDemo   bool
		doCollect bool
	)
	c := &cobra.Command{
		Use:   "serve [--listen ADDR] [--demo]",
		Short: "Run the omen server: REST API, metrics, health",
		Long: `Run the omen server. On the first start of an empty data directory, omen creates an admin API key,
prints it once and writes it to DATA/initial-admin-key (mode 0600).

--demo loads bundled genuine samples (abuse.ch Feodo Tracker, Spamhaus DROP, Tor exit nodes, IPsum,
CISA KEV, an ATT&CK subset) into the data directory first, so that lookups give real verdicts with
no network access.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			if listen == "" {
				listen = a.cfg.Listen
			}
			if runDemo {
				res, err := demo.Load(ctx, a.importer())
				if err != nil {
					return err
				}
				for _, s := range res.Imports {
					a.log.Info("demo feed loaded", "file", s.File, "source", s.Source, "read", s.Read, "new", s.New,
						"updated", s.Updated, "rejected", s.Rejected, "warninglisted", s.Flagged)
				}
				a.log.Info("demo ATT&CK subset loaded", "entities", res.Entities, "relationships", res.Relationships)
			}
			if err := e.initialKey(ctx, a, listen); err != nil {
				return err
			}
			if err := a.serveFromMemory(ctx); err != nil {
				return err
			}
			kbDone := make(chan struct{})
			kctx, stopKB := context.WithCancel(ctx)
			go func() { defer close(kbDone); a.kb.Run(kctx, rebuildEvery) }()
			defer func() { stopKB(); <-kbDone }()
			var sched *collect.Scheduler
			if doCollect {
				r, err := a.runner()
				if err != nil {
					return err
				}
				sched = &collect.Scheduler{Runner: r, Sources: a.cfg.Sources, Concurrency: a.cfg.Collect.Concurrency, Logger: a.log}
			}
			resp, err := a.openResponse()
			if err != nil {
				return err
			}
			defer resp.close(15 * time.Second)
			fs := findings.New(a.store, a.log.With("component", "findings"), findings.Options{MinPriority: a.cfg.FindingPriority()})
			en, err := enrich.New(ctx, resp.enrichOptions(a, enrich.Options{KB: a.kb, Model: a.priorityModel(), Findings: fs,
				Logger: a.log.With("component", "enrich")}))
			if err != nil {
				return err
			}
			flushed := make(chan struct{})
			fctx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
			go func() { defer close(flushed); fs.Run(fctx) }()
			go en.Run(kctx, 30*time.Second)
			brandDone := make(chan struct{})
			go func() { defer close(brandDone); a.watchBrands(kctx, fs, resp) }()
			defer func() { stopKB(); <-brandDone }()
			defer func() { stopFlush(); <-flushed }() // the last sightings are written before exit
			srv := api.New(api.Deps{Store: a.store, Lookup: a.lookup, Logger: a.log, Version: Version, Enricher: en,
				Dispatcher: resp.dispatcher, Feeds: resp.feeds})
			if a.cfg.TAXII.On() {
				tx, err := taxii.New(taxii.Options{Config: a.cfg.TAXII, Store: a.store, Authenticate: srv.Authenticate,
					OnAdded: a.taxiiInbox(), Logger: a.log.With("component", "taxii")})
				if err != nil {
					return err
				}
				srv.Mount(tx.Prefixes(), tx)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", listen, err)
			}
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
				WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
			a.log.Info("omen serving", "addr", "http://"+ln.Addr().String(), "data", e.dataDir, "version", Version)
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			collecting := make(chan struct{})
			cctx, stopCollect := context.WithCancel(ctx)
			defer stopCollect()
			go func() {
				defer close(collecting)
				if sched != nil {
					a.log.Info("collecting", "sources", len(a.cfg.Sources))
					sched.Run(cctx)
				}
			}()
			publishing := make(chan struct{})
			go func() {
				defer close(publishing)
				if a.cfg.TAXII.On() {
					a.publish(cctx, publishEvery)
				}
			}()
			defer func() { stopCollect(); <-publishing }()
			select {
			case err := <-errc:
				stopCollect()
				<-collecting
				return err
			case <-ctx.Done():
			}
			a.log.Info("shutting down")
			<-collecting // runs in flight see the cancelled context and abandon cleanly
			sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "", "address to listen on (default from the config: 127.0.0.1:8080; env OMEN_LISTEN)")
	c.Flags().BoolVar(&runDemo, "demo", false, "load the bundled demo data first")
	c.Flags().BoolVar(&doCollect, "collect", true, "run the configured feeds on their schedules (without a config: the real public feeds)")
	return c
}

// rebuildEvery is how often serve rebuilds the match index from the store: it compacts the index
// and catches writes made by other processes (ingests through serve update it at once).
const rebuildEvery = time.Hour

// publishEvery is how often serve brings the STIX pool, which TAXII serves, up to date with
// omen's indicators.
const publishEvery = 10 * time.Minute

// publish keeps the STIX pool in step with omen's indicators until ctx ends: at once, then every
// interval.
func (a *app) publish(ctx context.Context, every time.Duration) {
	p := &stix.Publisher{Store: a.store, Model: a.model, Logger: a.log.With("component", "stix-publisher")}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := p.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("publishing indicators to the STIX pool", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// initialKey creates the first admin key when the store has none, prints it once and writes it to
// DATA/initial-admin-key with mode 0600.
func (e *env) initialKey(ctx context.Context, a *app, listen string) error {
	ks, err := a.store.ListAPIKeys(ctx)
	if err != nil {
		return err
	}
	if len(ks) > 0 {
		return nil
	}
	_, secret, err := api.CreateKey(ctx, a.store, "initial-admin", intel.RoleAdmin, nil, "system")
	if err != nil {
		return err
	}
	path := filepath.Join(e.dataDir, "initial-admin-key")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	fmt.Fprintf(e.stderr, "\nCreated the initial admin API key (shown once; also in %s, mode 0600):\n\n    %s\n\n"+
		"Try:  curl -H \"Authorization: Bearer $(cat %s)\" http://%s/api/v1/lookup/1.10.16.5\n\n",
		path, secret, path, listen)
	return nil
}
