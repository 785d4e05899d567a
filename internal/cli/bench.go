package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/bench"
)

func (e *env) benchCmd() *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Measure whole pipelines beside their same-run baselines"}
	c.AddCommand(
		e.benchRunCmd("import [--n 1000000]", "Import N synthetic indicators; print indicators/s beside the raw SQLite INSERT rate, and lookup latency",
			1000000, bench.Import),
		e.benchRunCmd("feed [--n 1000000]", "Run a list feed of N synthetic indicators from a local server end to end; print indicators/s beside the raw SQLite INSERT rate",
			1000000, bench.Feed),
		e.benchRunCmd("stix [--n 100000]", "Import a synthetic N-indicator STIX 2.1 bundle; print objects/s beside the plain-list import of the same observables",
			100000, bench.STIX),
		e.benchRunCmd("enrich [--n 5000000]", "Load N indicators (B6 mix) and enrich a synthetic ECS corpus; print events/s beside encoding/json decoding the same events, scaling, heap per indicator and the swap stall",
			5000000, bench.Enrich),
		e.benchRunCmd("api [--n 1000000]", "Serve the REST API over N indicators on 127.0.0.1; print lookup req/s beside a no-op handler under the same load, bulk lookup and latency",
			1000000, bench.API),
		e.benchRunCmd("export [--n 1000000]", "Regenerate an N-entry plain-ip blocklist through the guarded export pipeline; print its time beside sorting and writing the same N strings",
			1000000, bench.Export),
	)
	return c
}

// benchRun is one whole-pipeline benchmark: it works in dir with n items and returns its figures.
type benchRun func(ctx context.Context, dir string, n int, logf func(string, ...any)) ([]bench.Figure, error)

// benchRunCmd is a `omen bench` subcommand running run in a temporary folder, optionally under a
// CPU profile, and printing its figures beside their baselines.
func (e *env) benchRunCmd(use, short string, defaultN int, run benchRun) *cobra.Command {
	var (
		n      int
		asJSON bool
		dir    string
		prof   string
	)
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n <= 0 {
				return fmt.Errorf("--n must be positive")
			}
			tmp, err := os.MkdirTemp(dir, "omen-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			if prof != "" {
				f, err := os.Create(prof)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			figs, err := run(cmd.Context(), tmp, n, func(f string, a ...any) {
				if !asJSON {
					fmt.Fprintf(e.stderr, "... "+f+"\n", a...)
				}
			})
			if err != nil {
				return err
			}
			return e.printFigures(figs, n, asJSON)
		},
	}
	c.Flags().IntVar(&n, "n", defaultN, "number of indicators")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().StringVar(&prof, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	c.Flags().StringVar(&dir, "dir", "", "folder for the temporary files (default the system temp folder)")
	return c
}

func (e *env) printFigures(figs []bench.Figure, n int, asJSON bool) error {
	if asJSON {
		return printJSON(e.stdout, map[string]any{"n": n, "figures": figs})
	}
	rows := [][]string{{"FIGURE", "VALUE", "BASELINE (same run)", "RATIO", "TARGET"}}
	for _, f := range figs {
		row := []string{f.Name, fmt.Sprintf("%.0f %s", f.Value, f.Unit), "", "", f.Target}
		if f.Baseline > 0 {
			row[2] = fmt.Sprintf("%.0f %s", f.Baseline, f.BaseName)
			row[3] = fmt.Sprintf("%.2f", f.Ratio)
		}
		rows = append(rows, row)
	}
	table(e.stdout, rows)
	return nil
}
