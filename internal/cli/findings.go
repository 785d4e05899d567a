package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

const findingsSetHelp = `Change a finding's status, assignee or note.

Statuses move new -> triaged -> in-progress -> resolved | false-positive; new and triaged may go
straight to resolved or false-positive, and a resolved finding may be reopened as triaged. A false
positive is final: it puts the finding's value on the allowlist (see "findings allowlist"), marks its
sightings "fp" and counts a false positive against every source that reported it, which lowers their
learned reliability. --tp with --status resolved records a true positive for those sources instead.
--assignee - clears the assignee. Every change is appended to the finding's actions and audited.`

func (e *env) findingsCmd() *cobra.Command {
	c := &cobra.Command{Use: "findings", Short: "List, show and work the findings raised by enrichment (status, assignee, verdicts, allowlist)"}
	c.AddCommand(e.findingsListCmd(), e.findingsShowCmd(), e.findingsSetCmd(), e.findingsAllowlistCmd(), e.findingsActCmd())
	return c
}

func (e *env) findingsListCmd() *cobra.Command {
	var (
		status      string
		open        bool
		minPriority int
		limit       int
		asJSON      bool
	)
	c := &cobra.Command{
		Use:   "list [--status S] [--open] [--min-priority N] [--limit N] [--json]",
		Short: "List findings, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := store.FindingFilter{Open: open, MinPriority: minPriority, Limit: limit}
			if status != "" {
				st, err := findings.ParseStatus(status)
				if err != nil {
					return fmt.Errorf("--status: %w", err)
				}
				f.Status = st
			}
			if minPriority < 0 || minPriority > 100 {
				return fmt.Errorf("--min-priority %d: want 0..100", minPriority)
			}
			if limit < 0 {
				return fmt.Errorf("--limit %d: want 0 (no limit) or more", limit)
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			list, err := a.store.ListFindings(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []intel.Finding{}
				}
				return printJSON(e.stdout, map[string]any{"findings": list})
			}
			printFindings(e.stdout, list)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&status, "status", "", "only this status: "+strings.Join(intel.FindingStatuses, ", "))
	fl.BoolVar(&open, "open", false, "only open findings (neither resolved nor false positive)")
	fl.IntVar(&minPriority, "min-priority", 0, "only findings with at least this priority (0..100)")
	fl.IntVar(&limit, "limit", 100, "at most this many findings (0: all)")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// printFindings writes the findings table.
func printFindings(w io.Writer, list []intel.Finding) {
	rows := [][]string{{"ID", "PRIO", "LEVEL", "STATUS", "KIND", "TITLE", "OBSERVABLE", "ASSET", "COUNT", "LAST SEEN"}}
	for _, f := range list {
		rows = append(rows, []string{strconv.FormatInt(f.ID, 10), strconv.Itoa(f.Priority), dash(f.Level), f.Status,
			f.Kind, clipText(f.Title, 60), observableText(f.Observable), assetText(f.AssetID), strconv.Itoa(f.Count),
			timeText(f.LastSeen)})
	}
	table(w, rows)
}

func observableText(o *intel.Observable) string {
	if o == nil {
		return "-"
	}
	return clipText(o.String(), 70)
}

func assetText(id int64) string {
	if id == 0 {
		return "-"
	}
	return strconv.FormatInt(id, 10)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// clipText shortens s to n runes for a table cell.
func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return dash(s)
	}
	return string(r[:n-1]) + "…"
}

// findingID parses a finding ID argument.
func findingID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("invalid finding id %q: want a positive number (see findings list)", s)
	}
	return id, nil
}

func (e *env) findingsShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show ID [--json]",
		Short: "Show one finding with its evidence, recommendations, detail and actions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := findingID(args[0])
			if err != nil {
				return err
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			f, err := a.store.Finding(cmd.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no finding %d", id)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, f)
			}
			printFinding(e.stdout, f)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// printFinding writes one finding in full.
func printFinding(w io.Writer, f intel.Finding) {
	fmt.Fprintf(w, "Finding %d: %s\n", f.ID, f.Title)
	rows := [][]string{
		{"Kind:", f.Kind},
		{"Priority:", fmt.Sprintf("%d %s", f.Priority, f.Level)},
		{"Status:", f.Status},
		{"Assignee:", dash(f.Assignee)},
		{"Observable:", observableText(f.Observable)},
		{"Asset:", assetText(f.AssetID)},
		{"TLP:", f.TLP.String()},
		{"Events:", fmt.Sprintf("%d, last seen %s", f.Count, timeText(f.LastSeen))},
		{"Created:", timeText(f.CreatedAt)},
		{"Updated:", timeText(f.UpdatedAt)},
		{"Key:", dash(f.Key)},
	}
	if !f.ClosedAt.IsZero() {
		rows = append(rows, []string{"Closed:", timeText(f.ClosedAt)})
	}
	if f.Note != "" {
		rows = append(rows, []string{"Note:", f.Note})
	}
	table(w, rows)
	for _, sec := range []struct {
		name  string
		lines []string
	}{{"Evidence", f.Evidence}, {"Recommendations", f.Recommendations}, {"Actions", f.Actions}} {
		if len(sec.lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s:\n", sec.name)
		for _, l := range sec.lines {
			fmt.Fprintf(w, "  - %s\n", l)
		}
	}
	if len(f.Detail) > 0 {
		fmt.Fprintf(w, "Detail: %s\n", f.Detail)
	}
}

func (e *env) findingsSetCmd() *cobra.Command {
	var (
		ch     findings.Change
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "set ID [--status S] [--assignee A] [--note N] [--tp] [--json]",
		Short: "Change a finding's status, assignee or note (false-positive allowlists the value)",
		Long:  findingsSetHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := findingID(args[0])
			if err != nil {
				return err
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			ch.Actor = "cli"
			f, err := findings.New(a.store, a.log, findings.Options{}).Set(cmd.Context(), id, ch)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no finding %d", id)
			}
			if err != nil && f.ID == 0 {
				return err
			}
			if asJSON {
				if perr := printJSON(e.stdout, f); perr != nil {
					return perr
				}
			} else {
				fmt.Fprintf(e.stdout, "finding %d: %s, priority %d, assignee %s\n", f.ID, f.Status, f.Priority, dash(f.Assignee))
			}
			return err // a verdict's side effect that failed after the change was stored
		},
	}
	fl := c.Flags()
	fl.StringVar(&ch.Status, "status", "", "new status: "+strings.Join(intel.FindingStatuses, ", "))
	fl.StringVar(&ch.Assignee, "assignee", "", `assignee ("-" clears it)`)
	fl.StringVar(&ch.Note, "note", "", "analyst note (also kept in the actions)")
	fl.BoolVar(&ch.TruePositive, "tp", false, "with --status resolved: a true positive (raises the sources' learned reliability)")
	fl.BoolVar(&asJSON, "json", false, "print the updated finding as JSON")
	return c
}

func (e *env) findingsAllowlistCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "allowlist [list|add VALUE --reason R|delete ID]",
		Short: "The organisation's allowlist: values never to alert on (false positives land here)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.listAllowlist(cmd.Context(), false)
		},
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the allowlist",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.listAllowlist(cmd.Context(), asJSON)
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var reason, typ string
	add := &cobra.Command{
		Use:   "add VALUE --reason R [--type T]",
		Short: "Allowlist a value (IP, CIDR, domain, URL, hash, email...; --type for accounts and JA3)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return errors.New("--reason is required: say why the value is never a threat")
			}
			o, err := findings.ParseObservable(args[0], typ)
			if err != nil {
				return err
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			en, err := findings.New(a.store, a.log, findings.Options{}).Allow(cmd.Context(), o, reason, "cli")
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "allowlisted %s (entry %d)\n", en.Observable, en.ID)
			return nil
		},
	}
	add.Flags().StringVar(&reason, "reason", "", "why the value is never a threat (required)")
	add.Flags().StringVar(&typ, "type", "", "the value's type (default: detected)")

	del := &cobra.Command{
		Use:   "delete ID...",
		Short: "Remove allowlist entries by ID (see allowlist list)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseIDs(args, "allowlist entry")
			if err != nil {
				return err
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			svc := findings.New(a.store, a.log, findings.Options{})
			for _, id := range ids {
				if err := svc.Disallow(cmd.Context(), id, "cli"); err != nil {
					return fmt.Errorf("deleting allowlist entry %d: %w", id, err)
				}
				fmt.Fprintf(e.stdout, "deleted allowlist entry %d\n", id)
			}
			return nil
		},
	}
	c.AddCommand(list, add, del)
	return c
}

func (e *env) listAllowlist(ctx context.Context, asJSON bool) error {
	a, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	list, err := a.store.Allowlist(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []intel.AllowEntry{}
		}
		return printJSON(e.stdout, map[string]any{"allowlist": list})
	}
	rows := [][]string{{"ID", "OBSERVABLE", "REASON", "BY", "FINDING", "ADDED"}}
	for _, x := range list {
		fid := "-"
		if x.FindingID != 0 {
			fid = strconv.FormatInt(x.FindingID, 10)
		}
		rows = append(rows, []string{strconv.FormatInt(x.ID, 10), clipText(x.Observable.String(), 70), clipText(x.Reason, 60),
			dash(x.Actor), fid, timeText(x.CreatedAt)})
	}
	table(e.stdout, rows)
	return nil
}
