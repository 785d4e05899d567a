package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/collect"
	_ "github.com/omen-tip/omen/internal/collect/all" // every built-in source kind
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
)

// runner builds the collection runner of an opened app: one fetcher per proxy.
func (a *app) runner() (*collect.Runner, error) {
	var mu sync.Mutex
	clients := map[string]*fetch.Client{}
	get := func(proxy string) (*fetch.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[proxy]; ok {
			return c, nil
		}
		c, err := fetch.New(fetch.Options{Proxy: proxy, UserAgent: a.cfg.Collect.UserAgent, Version: Version, Logger: a.log})
		if err != nil {
			return nil, err
		}
		clients[proxy] = c
		return c, nil
	}
	for _, s := range a.cfg.Sources { // validate every proxy before any I/O
		if _, err := get(s.Proxy); err != nil {
			return nil, fmt.Errorf("source %s: %w", s.Name, err)
		}
	}
	def, _ := get("")
	return &collect.Runner{Store: a.store, Fetch: def, Importer: a.importer(), Logger: a.log,
		FetcherFor: func(s config.Source) collect.Fetcher {
			c, err := get(s.Proxy)
			if err != nil {
				return nil
			}
			return c
		}}, nil
}

func (e *env) feedsCmd() *cobra.Command {
	c := &cobra.Command{Use: "feeds", Short: "List, sync and check the configured feeds"}

	var listJSON bool
	ls := &cobra.Command{
		Use:   "list",
		Short: "List the configured sources (the defaults without a config file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := e.loadConfig()
			if err != nil {
				return err
			}
			if listJSON {
				return printJSON(e.stdout, map[string]any{"sources": cfg.Sources})
			}
			rows := [][]string{{"NAME", "KIND", "ENABLED", "INTERVAL", "RELIABILITY", "URL"}}
			for _, s := range cfg.Sources {
				rows = append(rows, []string{s.Name, s.Kind, strconv.FormatBool(s.IsEnabled()), time.Duration(s.Interval).String(), s.Reliability.String(), s.URL})
			}
			table(e.stdout, rows)
			return nil
		},
	}
	ls.Flags().BoolVar(&listJSON, "json", false, "print JSON")

	var syncJSON bool
	sync := &cobra.Command{
		Use:   "sync [NAME...]",
		Short: "Run the named sources (all enabled ones without names) once now, then exit",
		RunE: func(cmd *cobra.Command, names []string) error {
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			r, err := a.runner()
			if err != nil {
				return err
			}
			if syncJSON || !isTerminal(e.stderr) {
				r.Logger = nil
			}
			errs, err := collect.Sync(cmd.Context(), r, a.cfg.Sources, names, a.cfg.Collect.Concurrency)
			if err != nil {
				return err
			}
			failed := 0
			for _, err := range errs {
				if err != nil {
					failed++
				}
			}
			if err := e.printStatus(cmd.Context(), a, keys(errs), syncJSON); err != nil {
				return err
			}
			if failed > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	sync.Flags().BoolVar(&syncJSON, "json", false, "print JSON")

	var statusJSON bool
	status := &cobra.Command{
		Use:   "status [NAME...]",
		Short: "Show each source's health: last run, last success, counts, last error",
		RunE: func(cmd *cobra.Command, names []string) error {
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			if len(names) == 0 {
				for _, s := range a.cfg.Sources {
					names = append(names, s.Name)
				}
			}
			return e.printStatus(cmd.Context(), a, names, statusJSON)
		},
	}
	status.Flags().BoolVar(&statusJSON, "json", false, "print JSON")
	c.AddCommand(ls, sync, status)
	return c
}

func keys(m map[string]error) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sourceStatus is a source with its health spelled out, as `omen feeds status --json` prints it.
type sourceStatus struct {
	intel.Source
	Health string `json:"health"`
}

func (e *env) printStatus(ctx context.Context, a *app, names []string, asJSON bool) error {
	var out []sourceStatus
	for _, n := range names {
		s, err := a.store.Source(ctx, n)
		if err != nil {
			s = intel.Source{Name: n} // configured but never run
		}
		out = append(out, sourceStatus{Source: s, Health: s.Health()})
	}
	if asJSON {
		return printJSON(e.stdout, map[string]any{"sources": out})
	}
	rows := [][]string{{"NAME", "HEALTH", "LAST RUN", "DURATION", "RECORDS", "NEW", "UPDATED", "REJECTED", "ENTITIES", "LAST ERROR"}}
	for _, s := range out {
		last, dur := "-", "-"
		if !s.LastRun.IsZero() {
			last = s.LastRun.Format(time.RFC3339)
			dur = s.LastStats.Duration.Round(time.Millisecond).String()
		}
		st := s.LastStats
		if st.NotModified {
			dur += " (not modified)"
		}
		rows = append(rows, []string{s.Name, s.Health, last, dur, strconv.Itoa(st.Records), strconv.Itoa(st.New),
			strconv.Itoa(st.Updated), strconv.Itoa(st.Rejected), strconv.Itoa(st.Entities), s.LastError})
	}
	table(e.stdout, rows)
	return nil
}
