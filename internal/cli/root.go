// Package cli holds omen's commands. They are thin: parse flags, open what they need, call the
// packages that do the work, and print results (as text on a terminal, as JSON with --json).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// Version is set at build time with -ldflags "-X github.com/omen-tip/omen/internal/cli.Version=...".
var Version = "dev"

// env is what every command shares.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	dataDir        string
	configPath     string
	logLevel       string
}

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs omen with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, stdin, stdout, stderr)
}

// Run is [Main] with a context: cancelling it stops a running server.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := e.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintln(stderr, "omen:", err)
		return 1
	}
}

func (e *env) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "omen",
		Short:         "omen: threat intelligence for the SOC",
		Long:          "omen collects threat intelligence, scores it, and answers what is known about an IP, domain, URL, hash or account.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&e.dataDir, "data", envOr("OMEN_DATA", "omen-data"), "data directory (env OMEN_DATA)")
	pf.StringVar(&e.configPath, "config", os.Getenv("OMEN_CONFIG"), "YAML configuration file (env OMEN_CONFIG)")
	pf.StringVar(&e.logLevel, "log-level", "", "debug, info, warn or error (overrides the config)")
	root.AddCommand(e.serveCmd(), e.importCmd(), e.lookupCmd(), e.sourcesCmd(), e.feedsCmd(), e.keysCmd(), e.exportCmd(), e.enrichCmd(), e.findingsCmd(), e.lookalikeCmd(), e.versionCmd(), e.benchCmd(), e.assetsCmd())
	return root
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// app is an opened omen: configuration, store, warninglists.
type app struct {
	cfg    *config.Config
	log    *slog.Logger
	store  store.Store // the database, wrapped by serve to keep kb fresh
	db     *sqlite.DB
	kb     *kb.KB // serve's knowledge in memory; nil for one-shot commands
	lists  *match.WarninglistSet
	model  risk.Model
	lookup *lookup.Service
}

func (e *env) loadConfig() (*config.Config, *slog.Logger, error) {
	cfg, err := config.LoadFile(e.configPath)
	if err != nil {
		return nil, nil, err
	}
	level := cfg.LogLevel
	if e.logLevel != "" {
		level = e.logLevel
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("log level %q: %w", level, err)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lv}))
	return cfg, log, nil
}

// open loads the configuration, the warninglists and the store.
func (e *env) open(ctx context.Context) (*app, error) {
	cfg, log, err := e.loadConfig()
	if err != nil {
		return nil, err
	}
	model, err := cfg.Model()
	if err != nil {
		return nil, err
	}
	lists, err := loadWarninglists(cfg, log)
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(e.dataDir, "omen.db"), log)
	if err != nil {
		return nil, fmt.Errorf("opening the store in %s: %w", e.dataDir, err)
	}
	return &app{cfg: cfg, log: log, store: st, db: st, lists: lists, model: model, lookup: lookup.New(st, lists, model)}, nil
}

func (a *app) Close() error { return a.db.Close() }

// serveFromMemory builds the knowledge base (every indicator in the matching engine, the entity
// graph) and switches the app to it: lookups answer from memory, and every write goes through
// the wrapped store so that the knowledge stays fresh.
func (a *app) serveFromMemory(ctx context.Context) error {
	k, err := kb.Open(ctx, a.db, kb.Options{Warninglists: a.lists, Logger: a.log.With("component", "kb")})
	if err != nil {
		return err
	}
	a.kb, a.store = k, k.Wrap(a.db)
	a.lookup = lookup.NewWithKB(k, a.model)
	return nil
}

func (a *app) importer() *ingest.Importer {
	return &ingest.Importer{Store: a.store, Warninglists: a.lists, Logger: a.log}
}

func loadWarninglists(cfg *config.Config, log *slog.Logger) (*match.WarninglistSet, error) {
	var lists []*match.Warninglist
	if cfg.Warninglists.UseDefaults() {
		d, err := match.DefaultWarninglists()
		if err != nil {
			return nil, fmt.Errorf("loading the embedded warninglists: %w", err)
		}
		lists = append(lists, d...)
	}
	for _, dir := range cfg.Warninglists.Dirs {
		ls, errs := match.LoadWarninglistDir(dir)
		for _, err := range errs {
			log.Warn("skipping a warninglist", "dir", dir, "err", err)
		}
		lists = append(lists, ls...)
	}
	return match.NewWarninglistSet(lists...)
}

func (e *env) versionCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print omen's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, goVersion := Version, ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
				if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
			}
			if asJSON {
				return printJSON(e.stdout, map[string]string{"version": v, "go": goVersion})
			}
			fmt.Fprintf(e.stdout, "omen %s (%s)\n", v, goVersion)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// table writes aligned columns.
func table(w io.Writer, rows [][]string) {
	widths := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			fmt.Fprintf(&b, "%-*s  ", widths[i], c)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
