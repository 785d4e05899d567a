package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
)

// stixDescription describes the stix format, written by internal/stix rather than by a
// respond format: it carries the entities and relationships too.
const stixDescription = "STIX 2.1 bundle: indicators with their SCOs, entities, relationships and TLP 2.0 markings"

// exportFlags are the options of `omen export`.
type exportFlags struct {
	format, out, tlp, since, name string
	minScore, max                 int
	types, tags, sources          []string
	values, entities              []string
	list, asJSON, explain         bool
}

// exportCmd is `omen export`.
func (e *env) exportCmd() *cobra.Command {
	var fl exportFlags
	c := &cobra.Command{
		Use: "export --format F [--min-score N] [--type T]... [--tag X]... [--source S]... [--tlp amber] " +
			"[--max N] [--since DURATION|TIME] [-o FILE|DIR] [--explain] [--json]",
		Short: "Write a guarded blocklist or a sharing bundle (never the organisation's own or known-benign values)",
		Long: `Write omen's indicators in a format a security control or another TIP reads (--list prints them).

Every export goes through one guarded pipeline: indicators of the types the format carries
(--type narrows them), with reports under the --tlp ceiling (default amber), from the --source
and with the --tag given, seen since --since (a duration such as 24h or 7d, or a time), live and
scoring at least --min-score, ranked by score and capped at --max entries; IP lists are merged
into CIDRs where the format allows. The guard removes the organisation's own networks and
domains (assets), warninglisted infrastructure (public resolvers, CDNs, top sites) and the
allowlist, subdomain-, URL-host- and CIDR-aware. The counts go to standard error; --explain
also lists each removal and why (--json: the report as JSON).

The stix format writes a bundle with the entities and relationships; --value and --entity
select single indicators and entities for it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fl.list {
				e.printFormats()
				return nil
			}
			return e.export(cmd.Context(), fl)
		},
	}
	f := c.Flags()
	f.StringVar(&fl.format, "format", "", "output format (see --list)")
	f.StringVarP(&fl.out, "output", "o", "", "write to FILE (a DIR for directory formats) instead of standard output")
	f.StringVar(&fl.tlp, "tlp", "amber", "the most restrictive TLP to write: clear, green, amber, amber+strict, red")
	f.IntVar(&fl.minScore, "min-score", 0, "only indicators scoring at least N (0..100)")
	f.IntVar(&fl.max, "max", 0, "at most N entries, the highest scores first (0: no cap)")
	f.StringVar(&fl.since, "since", "", "only indicators seen since: a duration back from now (24h, 7d) or a time (RFC 3339 or 2006-01-02)")
	f.StringSliceVar(&fl.types, "type", nil, "only indicators of this observable type (repeatable)")
	f.StringSliceVar(&fl.tags, "tag", nil, "only indicators with this tag (repeatable: any of them)")
	f.StringSliceVar(&fl.sources, "source", nil, "only what this source reports (repeatable: any of them)")
	f.StringVar(&fl.name, "name", "omen", "the export's name, used in headers, set names and rule messages")
	f.StringSliceVar(&fl.values, "value", nil, "stix: the indicator of this value (repeatable)")
	f.StringSliceVar(&fl.entities, "entity", nil, "stix: this entity, by id (repeatable)")
	f.BoolVar(&fl.list, "list", false, "print the formats")
	f.BoolVar(&fl.explain, "explain", false, "print each value the guard removed and why (standard error)")
	f.BoolVar(&fl.asJSON, "json", false, "print the report as JSON")
	return c
}

// printFormats prints the formats: stix, the sharing bundle, first, then the respond formats.
func (e *env) printFormats() {
	fmt.Fprintf(e.stdout, "%-17s %s\n", "stix", stixDescription)
	for _, f := range respond.Formats() {
		if f.Name != "stix" {
			fmt.Fprintf(e.stdout, "%-17s %s\n", f.Name, f.Description)
		}
	}
}

// selection reads the selection flags.
func (fl exportFlags) selection(now time.Time) (respond.Selection, error) {
	var sel respond.Selection
	var err error
	if sel.TLP, err = intel.ParseTLP(fl.tlp); err != nil {
		return sel, fmt.Errorf("--tlp: %w", err)
	}
	if fl.minScore < 0 || fl.minScore > 100 {
		return sel, fmt.Errorf("--min-score %d: want 0 to 100", fl.minScore)
	}
	if fl.max < 0 {
		return sel, fmt.Errorf("--max %d: want 0 (no cap) or more", fl.max)
	}
	sel.MinScore, sel.Max, sel.Tags, sel.Sources = fl.minScore, fl.max, fl.tags, fl.sources
	for _, t := range fl.types {
		typ, err := intel.ParseType(t)
		if err != nil {
			return sel, fmt.Errorf("--type: %w", err)
		}
		sel.Types = append(sel.Types, typ)
	}
	if fl.since != "" {
		if sel.Since, err = parseSince(fl.since, now); err != nil {
			return sel, fmt.Errorf("--since: %w", err)
		}
	}
	return sel, nil
}

// parseSince reads a duration back from now ("90m", "24h", "7d") or a time (RFC 3339, or a date).
func parseSince(s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return now.Add(-time.Duration(d) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (24h, 7d) nor a time (RFC 3339, 2006-01-02)", s)
}

// guard builds the export guard from the store's assets and allowlist and the app's warninglists.
func (a *app) guard(ctx context.Context) (*respond.Guard, error) {
	g, _, err := a.guardFP(ctx)
	return g, err
}

// guardFP is guard with a fingerprint of what it was built from.
func (a *app) guardFP(ctx context.Context) (*respond.Guard, string, error) {
	assets, err := a.store.ListAssets(ctx, "")
	if err != nil {
		return nil, "", fmt.Errorf("reading the assets: %w", err)
	}
	allow, err := a.store.Allowlist(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("reading the allowlist: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%p\n", a.lists)
	if err := json.NewEncoder(h).Encode([]any{assets, allow}); err != nil {
		return nil, "", err
	}
	return respond.NewGuard(assets, a.lists, allow), hex.EncodeToString(h.Sum(nil)), nil
}

func (e *env) export(ctx context.Context, fl exportFlags) error {
	if fl.format == "" {
		return fmt.Errorf("--format is required: one of those `omen export --list` prints")
	}
	now := time.Now().UTC()
	sel, err := fl.selection(now)
	if err != nil {
		return err
	}
	if fl.format == "stix" {
		return e.exportSTIX(ctx, fl, sel, now)
	}
	f, ok := respond.Lookup(fl.format)
	if !ok {
		return fmt.Errorf("--format %q: want one of those `omen export --list` prints", fl.format)
	}
	if len(fl.values) > 0 || len(fl.entities) > 0 {
		return fmt.Errorf("--value and --entity select for --format stix only")
	}
	if f.Write == nil && (fl.out == "" || fl.out == "-") {
		return fmt.Errorf("--format %s writes a directory of files: give -o DIR", f.Name)
	}
	a, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	g, err := a.guard(ctx)
	if err != nil {
		return err
	}
	entries, rep, err := respond.Collect(ctx, a.store, g, a.model, sel, f, now)
	if err != nil {
		return err
	}
	o := respond.WriteOptions{Name: fl.name, Generated: now}
	if fl.out == "" || fl.out == "-" {
		bw := bufio.NewWriterSize(e.stdout, 1<<16)
		if err := respond.Write(f, bw, entries, o); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	} else if err := respond.WriteFile(f, fl.out, entries, o); err != nil {
		return err
	}
	return e.printReport(rep, fl)
}

// printReport prints what an export selected and removed to standard error.
func (e *env) printReport(rep respond.Report, fl exportFlags) error {
	if !fl.explain {
		rep.Removals = nil
	}
	if fl.asJSON {
		return printJSON(e.stderr, rep)
	}
	explainRemovals(e.stderr, rep.Removals)
	fmt.Fprintf(e.stderr, "exported %d entries of %d indicators%s\n", rep.Written, rep.Candidates, removedSummary(rep.Removed))
	return nil
}

func explainRemovals(w io.Writer, rs []respond.Removal) {
	for _, r := range rs {
		fmt.Fprintf(w, "removed %s %s: %s: %s\n", r.Observable.Type, r.Observable.Value, r.Reason, r.Detail)
	}
}

// removedSummary is "; removed: own-asset 1, warninglist 3" (empty when nothing was removed).
func removedSummary(m map[string]int) string {
	var keys []string
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return "; removed: " + strings.Join(parts, ", ")
}

// stixFormat is what the guarded pipeline selects for a stix bundle: every type (the bundle
// skips those STIX has no observable for, and counts them).
var stixFormat = respond.Format{Name: "stix"}

// exportSTIX writes a STIX bundle. The indicators go through the guarded pipeline (selection,
// guard, score, cap), the bundle then carries them with the entities and relationships; with
// --value or --entity, the values given are guarded and the entities given written.
func (e *env) exportSTIX(ctx context.Context, fl exportFlags, rsel respond.Selection, now time.Time) error {
	a, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	g, err := a.guard(ctx)
	if err != nil {
		return err
	}
	sel := stix.Selection{EntityIDs: fl.entities, Types: rsel.Types}
	var rep respond.Report
	if len(fl.values) == 0 && len(fl.entities) == 0 {
		entries, r, err := respond.Collect(ctx, a.store, g, a.model, rsel, stixFormat, now)
		if err != nil {
			return err
		}
		rep = r
		for _, en := range entries {
			sel.Observables = append(sel.Observables, en.Observable)
		}
		ents, err := a.store.ListEntities(ctx, store.EntityFilter{})
		if err != nil {
			return fmt.Errorf("stix export: listing entities: %w", err)
		}
		for _, en := range ents {
			sel.EntityIDs = append(sel.EntityIDs, en.ID)
		}
	} else {
		rep.Removed = map[string]int{}
		for _, v := range fl.values {
			ob, err := intel.Detect(v)
			if err != nil {
				return fmt.Errorf("--value %q: %w", v, err)
			}
			rep.Candidates++
			if r, bad := g.Check(ob); bad {
				rep.Removed[r.Reason]++
				rep.Removals = append(rep.Removals, r)
				continue
			}
			sel.Observables = append(sel.Observables, ob)
		}
	}
	var w io.Writer = e.stdout
	var f *os.File
	if fl.out != "" && fl.out != "-" {
		if f, err = os.CreateTemp(filepath.Dir(fl.out), ".omen-export-*"); err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	counts, err := stix.Export(ctx, a.store, sel, rsel.TLP, w)
	if err != nil {
		return err
	}
	if f != nil { // the file appears whole or not at all
		if err := f.Chmod(0o644); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), fl.out); err != nil {
			return err
		}
	}
	// The guard's warninglist removals are what the bundle withholds as warninglisted.
	counts.Withheld += rep.Removed[respond.ReasonWarninglist]
	if !fl.explain {
		rep.Removals = nil
	}
	if fl.asJSON {
		return printJSON(e.stderr, struct {
			stix.ExportCounts
			Candidates int               `json:"candidates"`
			Removed    map[string]int    `json:"removed"`
			Removals   []respond.Removal `json:"removals,omitempty"`
		}{counts, rep.Candidates, rep.Removed, rep.Removals})
	}
	explainRemovals(e.stderr, rep.Removals)
	fmt.Fprintf(e.stderr, "exported %d indicators (%d SCOs), %d entities, %d relationships, %d markings; "+
		"withheld %d warninglisted, skipped %d without a STIX form%s\n", counts.Indicators, counts.Observables,
		counts.Entities, counts.Relationships, counts.Markings, counts.Withheld, counts.Skipped, removedSummary(rep.Removed))
	return nil
}
