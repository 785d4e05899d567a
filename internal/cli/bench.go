package cli

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/bench"
)

func (e *env) benchCmd() *cobra.Command {
	c := &cobra.Command{Use: "bench", Short: "Measure whole pipelines beside their same-run baselines"}
	var (
		n      int
		asJSON bool
		dir    string
		prof   string
	)
	imp := &cobra.Command{
		Use:   "import [--n 1000000]",
		Short: "Import N synthetic indicators; print indicators/s beside the raw SQLite INSERT rate, and lookup latency",
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
			logf := func(f string, a ...any) {
				if !asJSON {
					fmt.Fprintf(e.stderr, "... "+f+"\n", a...)
				}
			}
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
			figs, err := bench.Import(cmd.Context(), tmp, n, logf)
			if err != nil {
				return err
			}
			return e.printFigures(figs, n, asJSON)
		},
	}
	imp.Flags().IntVar(&n, "n", 1000000, "number of indicators")
	imp.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	imp.Flags().StringVar(&prof, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	imp.Flags().StringVar(&dir, "dir", "", "folder for the temporary databases (default the system temp folder)")
	var feedN int
	var feedJSON bool
	feed := &cobra.Command{
		Use:   "feed [--n 1000000]",
		Short: "Run a list feed of N synthetic indicators from a local server end to end; print indicators/s beside the raw SQLite INSERT rate",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			figs, err := bench.Feed(cmd.Context(), tmp, feedN, func(f string, a ...any) {
				if !feedJSON {
					fmt.Fprintf(e.stderr, "... "+f+"\n", a...)
				}
			})
			if err != nil {
				return err
			}
			return e.printFigures(figs, feedN, feedJSON)
		},
	}
	feed.Flags().IntVar(&feedN, "n", 1000000, "number of indicators")
	feed.Flags().BoolVar(&feedJSON, "json", false, "print JSON")
	feed.Flags().StringVar(&prof, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	feed.Flags().StringVar(&dir, "dir", "", "folder for the temporary files (default the system temp folder)")
	c.AddCommand(imp, feed, e.benchSTIXCmd())
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
