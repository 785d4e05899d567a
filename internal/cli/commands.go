package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/api"
	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/lookup"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) importCmd() *cobra.Command {
	var (
		o                     ingest.Options
		reliability, tlp, typ string
		format                string
		asJSON                bool
		showRejects           int
	)
	c := &cobra.Command{
		Use:   "import [flags] FILE...",
		Short: "Import indicators from files: plain lists, CSV, JSON/NDJSON, free text or STIX bundles",
		Long: `Import indicators from files as reports of one source.

Formats: auto (default, sniffed from the content), text (one value a line, comments with # ; //),
csv (header or commented header, value column found by name or content), json (an array, or an
object holding one array of objects), ndjson, and freetext (every observable in a report, paste or
mail, defanged forms included), and stix (a STIX 2.0/2.1 bundle or TAXII envelope: indicators,
entities, relationships and sightings, every object also kept verbatim). "-" reads standard input.

Every value is refanged and put in canonical form; values on a warninglist are stored and flagged.
Bad lines are counted and reported with their line numbers; the rest is imported.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			var err error
			if reliability != "" {
				if o.Reliability, err = intel.ParseReliability(reliability); err != nil {
					return err
				}
			}
			if tlp != "" {
				t, err := intel.ParseTLP(tlp)
				if err != nil {
					return err
				}
				o.TLP = &t
			}
			if o.Confidence < 0 || o.Confidence > 100 {
				return fmt.Errorf("--confidence %d: want 1..100 (0: the source's default)", o.Confidence)
			}
			if typ != "" {
				if o.Parse.Type, err = intel.ParseType(typ); err != nil {
					return err
				}
			}
			asSTIX := format == "stix"
			if !asSTIX {
				if o.Parse.Format, err = list.ParseFormat(format); err != nil {
					return err
				}
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			im := a.importer()
			im.Logger = nil // the summary says it all
			var sums []any
			failed := false
			stdin := bufio.NewReader(e.stdin)
			for _, f := range files {
				opts := o
				if opts.Source == "" {
					opts.Source = "import"
				}
				if asSTIX || (o.Parse.Format == list.Auto && (f == "-" && sniffSTIXReader(stdin) || f != "-" && sniffSTIX(f))) {
					var r io.Reader
					if f == "-" {
						r = stdin
					}
					s, ok := e.importSTIX(cmd.Context(), a, f, r, opts)
					sums, failed = append(sums, s), failed || !ok
					if !asJSON {
						printSTIXSummary(e.stdout, e.stderr, s, showRejects)
					}
					continue
				}
				var s ingest.Summary
				if f == "-" {
					s, err = im.Reader(cmd.Context(), stdin, opts)
					s.File = "-"
				} else {
					var bar *progress
					if !asJSON && isTerminal(e.stdout) {
						if fi, serr := os.Stat(f); serr == nil {
							bar = newProgress(e.stderr, f, fi.Size())
						}
					}
					s, err = im.File(cmd.Context(), f, opts, bar.update)
					bar.done()
				}
				sums = append(sums, s)
				if err != nil {
					failed = true
					fmt.Fprintf(e.stderr, "omen: %v\n", err)
				}
				if !asJSON {
					printSummary(e.stdout, e.stderr, s, showRejects)
				}
			}
			return e.endImports(asJSON, sums, failed)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Source, "source", "", `source name the reports are filed under (default "import")`)
	f.StringVar(&reliability, "reliability", "", "the source's Admiralty reliability, A (reliable) to F (cannot be judged); a new source without it is F")
	f.IntVar(&o.Confidence, "confidence", 0, "confidence 1..100 of records that carry none (default: the source's, 50 for a new source)")
	f.StringVar(&tlp, "tlp", "", "TLP of the reports: clear, green, amber, amber+strict, red (default: the source's, amber for a new source)")
	f.StringVar(&format, "format", "auto", "auto, text, csv, json, ndjson, freetext or stix (a STIX 2.0/2.1 bundle or TAXII envelope; auto detects it)")
	f.StringVar(&typ, "type", "", "force every value to this observable type (ipv4, domain, url, sha256, ...)")
	f.StringVar(&o.Parse.Column, "column", "", "CSV column (name or 1-based number) or JSON field path holding the value")
	f.StringSliceVar(&o.Tags, "tag", nil, "tag added to every report (repeatable)")
	f.StringVar(&o.ThreatType, "threat-type", "", "threat type of records that carry none (c2, phishing, scanner, ...)")
	f.BoolVar(&o.KeepDates, "keep-dates", false, "keep the input's dates; by default last-seen is at least now (the list asserts the value now)")
	f.BoolVar(&asJSON, "json", false, "print a JSON summary")
	f.IntVar(&showRejects, "show-rejects", 10, "how many rejected lines to print per file")
	return c
}

func printSummary(out, errw io.Writer, s ingest.Summary, show int) {
	fmt.Fprintf(out, "%s: %d read, %d new, %d updated, %d duplicates, %d rejected, %d warninglisted (source %s, format %s, %s)\n",
		s.File, s.Read, s.New, s.Updated, s.Duplicates, s.Rejected, s.Flagged, s.Source, s.Format, s.Elapsed.Round(time.Millisecond))
	for i, r := range s.Rejects {
		if i >= show {
			fmt.Fprintf(errw, "  ... %d more rejected lines (--json lists up to 100)\n", s.Rejected-show)
			break
		}
		fmt.Fprintf(errw, "  %s:%d: %s\n", s.File, r.Line, r.Error)
	}
}

func (e *env) lookupCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "lookup [--json] VALUE...",
		Short: "Tell what omen knows about IPs, domains, URLs, hashes, emails, CVEs",
		Long: `Look up values: each is refanged and canonicalised, then matched exactly, by network (an IP inside a
listed CIDR) and by parent domain (a.b.evil.com under a report on evil.com). Prints the verdict,
score, band, the matched indicators with their sources, warninglists, and the evidence. "-" reads
values from standard input, one a line.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, values []string) error {
			if len(values) == 1 && values[0] == "-" {
				b, err := io.ReadAll(io.LimitReader(e.stdin, 64<<20))
				if err != nil {
					return err
				}
				values = strings.Fields(string(b))
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			var all []lookup.Result
			for len(values) > 0 {
				n := min(len(values), lookup.MaxValues)
				res, err := a.lookup.Lookup(cmd.Context(), values[:n], intel.TLPRed)
				if err != nil {
					return err
				}
				all = append(all, res...)
				values = values[n:]
			}
			if asJSON {
				if len(all) == 1 {
					return printJSON(e.stdout, all[0])
				}
				return printJSON(e.stdout, map[string]any{"results": all})
			}
			for i, r := range all {
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				printResult(e.stdout, r)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON (one object for one value, {\"results\": [...]} for several)")
	return c
}

func printResult(w io.Writer, r lookup.Result) {
	if r.Error != "" {
		fmt.Fprintf(w, "%s: not an observable: %s\n", r.Query, r.Error)
		return
	}
	fmt.Fprintf(w, "%s %s: %s (score %d, %s)\n", r.Type, r.Value, strings.ToUpper(r.Verdict), r.Score, r.Band)
	printMatches(w, r.Matches, "")
	printMatches(w, r.Expired, "expired ")
	for _, l := range r.Warninglists {
		fmt.Fprintf(w, "  warninglist: %s\n", l.Name)
	}
	for _, ev := range r.Evidence {
		fmt.Fprintf(w, "  - %s\n", ev)
	}
}

func printMatches(w io.Writer, ms []lookup.Match, prefix string) {
	for _, m := range ms {
		in := m.Indicator
		fmt.Fprintf(w, "  %s%s match %s %s  score %d  tlp:%s", prefix, m.Match, in.Type, in.Value, in.Score, in.TLP)
		if len(in.Tags) > 0 {
			fmt.Fprintf(w, "  tags %s", strings.Join(in.Tags, ","))
		}
		fmt.Fprintln(w)
		for _, s := range in.Sources {
			fmt.Fprintf(w, "    %s [%s] confidence %d, first seen %s, last seen %s\n", s.Name, s.Reliability, s.Confidence,
				s.FirstSeen.Format("2006-01-02"), s.LastSeen.Format("2006-01-02"))
		}
		for _, en := range in.Entities {
			via := ""
			if en.Via != "" {
				via = " (used by " + en.Via + ")"
			}
			extra := ""
			if id, ok := en.Attributes["attack_id"].(string); ok {
				extra = " " + id
			}
			if p, ok := en.Attributes["epss"].(float64); ok {
				extra += fmt.Sprintf(" EPSS %.3f", p)
			}
			fmt.Fprintf(w, "    linked %s: %s%s%s\n", en.Type, en.Name, extra, via)
		}
	}
}

func (e *env) sourcesCmd() *cobra.Command {
	c := &cobra.Command{Use: "sources", Short: "Manage sources"}
	c.AddCommand(listCmd(e, "List sources with reliability, defaults and health", "sources",
		func(ctx context.Context, a *app) ([]intel.Source, error) { return a.store.ListSources(ctx) },
		[]string{"NAME", "KIND", "RELIABILITY", "CONFIDENCE", "TLP", "ENABLED", "LAST RUN"},
		func(s intel.Source) []string {
			last := "-"
			if !s.LastRun.IsZero() {
				last = s.LastRun.Format(time.RFC3339)
				if s.LastError != "" {
					last += " (error: " + s.LastError + ")"
				}
			}
			return []string{s.Name, s.Kind, s.Reliability.String(), strconv.Itoa(s.Confidence), s.TLP.String(), strconv.FormatBool(s.Enabled), last}
		}))
	return c
}

// listCmd makes a "list" command that prints what fetch returns: a table on a terminal, or
// {"<key>": [...]} with --json.
func listCmd[T any](e *env, short, key string, fetch func(context.Context, *app) ([]T, error), header []string, row func(T) []string) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			items, err := fetch(cmd.Context(), a)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, map[string]any{key: items})
			}
			rows := [][]string{header}
			for _, it := range items {
				rows = append(rows, row(it))
			}
			table(e.stdout, rows)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (e *env) keysCmd() *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	var (
		role, name, clearance string
		asJSON                bool
	)
	create := &cobra.Command{
		Use:   "create --role admin|analyst|reader|consumer --name NAME",
		Short: "Create an API key; the key is printed once and only its hash is kept",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := intel.ParseRole(role)
			if err != nil {
				return err
			}
			var cl *intel.TLP
			if clearance != "" {
				t, err := intel.ParseTLP(clearance)
				if err != nil {
					return err
				}
				cl = &t
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			k, secret, err := api.CreateKey(cmd.Context(), a.store, name, r, cl, "cli")
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, map[string]any{"key": k, "secret": secret})
			}
			fmt.Fprintf(e.stderr, "Created key %d %q (role %s, clearance tlp:%s). It is shown once; store it now:\n", k.ID, k.Name, k.Role, k.Clearance)
			fmt.Fprintln(e.stdout, secret)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "", "admin, analyst, reader or consumer")
	create.Flags().StringVar(&name, "name", "", "a unique name for the key")
	create.Flags().StringVar(&clearance, "clearance", "", "TLP clearance (default by role: admin red, analyst amber+strict, reader amber, consumer green)")
	create.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	create.MarkFlagRequired("role")
	create.MarkFlagRequired("name")

	ls := listCmd(e, "List API keys (never their secrets)", "keys",
		func(ctx context.Context, a *app) ([]intel.APIKey, error) { return a.store.ListAPIKeys(ctx) },
		[]string{"ID", "NAME", "ROLE", "CLEARANCE", "PREFIX", "CREATED", "LAST USED", "REVOKED"},
		func(k intel.APIKey) []string {
			used := "-"
			if !k.LastUsed.IsZero() {
				used = k.LastUsed.Format(time.RFC3339)
			}
			return []string{strconv.FormatInt(k.ID, 10), k.Name, string(k.Role), k.Clearance.String(), k.Prefix + "…",
				k.CreatedAt.Format(time.RFC3339), used, strconv.FormatBool(k.Revoked)}
		})

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("invalid key id %q", args[0])
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.store.RevokeAPIKey(cmd.Context(), id); err != nil {
				return fmt.Errorf("revoking key %d: %w", id, err)
			}
			return a.store.AppendAudit(cmd.Context(), intel.AuditEntry{Time: time.Now().UTC(), Actor: "cli", Action: "key.revoke", Object: fmt.Sprintf("key:%d", id)})
		},
	}
	c.AddCommand(create, ls, revoke)
	return c
}

// endImports prints the imports' JSON summary when asked and turns a failure into exit status 1.
func (e *env) endImports(asJSON bool, sums any, failed bool) error {
	if asJSON {
		if err := printJSON(e.stdout, map[string]any{"imports": sums}); err != nil {
			return err
		}
	}
	if failed {
		return exitError{1}
	}
	return nil
}
