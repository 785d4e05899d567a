package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/assets"
	"github.com/omen-tip/omen/internal/intel"
)

const assetsImportHelp = `Import the organisation's assets from CSV, YAML or JSON files.

The format comes from the extension (.csv, .yaml/.yml, .json) or --format; "-" reads standard
input and needs --format. Every record is validated; a bad one is reported with its file and line
(and its number in a JSON or YAML list) and the rest of the file goes on. Assets are matched on
kind + name (case-insensitive): importing a file again updates the assets it holds, never
duplicates them. The exit status is 1 when any record was rejected.

Kinds and their fields (several values: a list, or one string separated by ';' or spaces):
  network     cidrs: CIDRs or addresses (10.0.0.0/8; 192.168.1.0/255.255.255.0; 2001:db8::/32)
  domain      domains: the organisation's domains (sub-domains match too); default: the name
  host        hostnames: short or fully qualified names; ips: IPv4/IPv6 addresses
  person      emails; usernames (CORP\jdoe); privilege: standard, service, privileged, admin (tier 0)
  technology  vendor, product, version, or cpe: a CPE 2.3 name (cpe:2.3:a:vendor:product:version:...)
  brand       domains; keywords (separated by ';' only); the brand's name is a keyword too
  values      any kind: the kind's values, types told apart by their shape

Every kind also takes:
  criticality          low, medium, high, extreme
  data_classification  public, internal, confidential, restricted
  exposure             internet-facing, internal, segmented
  business_service     free text; service_tier: 0 (most critical) to 3
  owner                free text; attributes (CSV: attr.NAME columns): free key/value pairs

CSV: a header line names the columns (kind and name required; order free; # starts a comment):
  kind,name,values,criticality,data_classification,business_service,service_tier,owner,exposure,privilege,vendor,product,version,cpe
  network,HQ LAN,10.0.0.0/8;192.168.0.0/16,high,internal,,,Network team,internal,,,,,
  host,fin-lt-0231,fin-lt-0231 10.20.30.40,high,confidential,SAP-FI,1,Finance,internal,,,,,
YAML/JSON: a list of assets, or {assets: [...]}, with the field names above.`

// assetSummary is what importing one asset file did.
type assetSummary struct {
	File      string          `json:"file"`
	Format    string          `json:"format"`
	Read      int             `json:"read"`
	New       int             `json:"new"`
	Updated   int             `json:"updated"`
	Unchanged int             `json:"unchanged"`
	Rejected  int             `json:"rejected"`
	Rejects   []assets.Reject `json:"rejects,omitempty"` // at most maxListedRejects
	Error     string          `json:"error,omitempty"`   // the file could not be read or stored
}

const maxListedRejects = 100

func (e *env) assetsCmd() *cobra.Command {
	c := &cobra.Command{Use: "assets", Short: "Manage the organisation's asset inventory (networks, domains, hosts, people, technologies, brands)"}
	c.AddCommand(e.assetsImportCmd(), e.assetsListCmd(), e.assetsDeleteCmd())
	return c
}

func (e *env) assetsImportCmd() *cobra.Command {
	var (
		format      string
		asJSON      bool
		dryRun      bool
		showRejects int
	)
	c := &cobra.Command{
		Use:   "import [--format csv|yaml|json] [--json] FILE...",
		Short: "Import assets from CSV, YAML or JSON files (re-importing updates)",
		Long:  assetsImportHelp,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			var forced assets.Format
			if format != "" {
				f, err := assets.ParseFormat(format)
				if err != nil {
					return err
				}
				forced = f
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			var sums []assetSummary
			failed := false
			for _, f := range files {
				s := e.importAssetFile(cmd.Context(), a, f, forced, dryRun)
				sums = append(sums, s)
				failed = failed || s.Rejected > 0 || s.Error != ""
				if !asJSON {
					printAssetSummary(e.stdout, e.stderr, s, showRejects)
				}
			}
			return e.endImports(asJSON, sums, failed)
		},
	}
	fl := c.Flags()
	fl.StringVar(&format, "format", "", "csv, yaml or json (default: from the file extension)")
	fl.BoolVar(&asJSON, "json", false, "print a JSON summary")
	fl.BoolVar(&dryRun, "dry-run", false, "validate and count what would change, store nothing")
	fl.IntVar(&showRejects, "show-rejects", 10, "how many rejected records to print per file")
	return c
}

// importAssetFile parses and stores one file; failures are recorded in the summary.
func (e *env) importAssetFile(ctx context.Context, a *app, file string, forced assets.Format, dryRun bool) assetSummary {
	s := assetSummary{File: file}
	format, r, closeFn, err := e.openAssetFile(file, forced)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer closeFn()
	s.Format = string(format)
	res, err := assets.Parse(r, format)
	if err != nil {
		s.Error = fmt.Sprintf("%s: %v", file, err)
		return s
	}
	s.Read, s.Rejected = res.Read, len(res.Rejects)
	s.Rejects = res.Rejects[:min(len(res.Rejects), maxListedRejects)]
	upsert := assets.Upsert
	if dryRun {
		upsert = assets.Plan
	}
	counts, err := upsert(ctx, a.store, res.Entries)
	s.New, s.Updated, s.Unchanged = counts.New, counts.Updated, counts.Unchanged
	if err != nil {
		s.Error = fmt.Sprintf("%s: %v", file, err)
	}
	if !dryRun && counts.New+counts.Updated > 0 {
		if aerr := a.store.AppendAudit(ctx, intel.AuditEntry{Time: time.Now().UTC(), Actor: "cli", Action: "asset.import",
			Object: "file:" + file, Detail: fmt.Sprintf("new=%d updated=%d unchanged=%d rejected=%d", s.New, s.Updated, s.Unchanged, s.Rejected)}); aerr != nil && s.Error == "" {
			s.Error = fmt.Sprintf("auditing the import of %s: %v", file, aerr)
		}
	}
	return s
}

// openAssetFile opens file ("-" for standard input) and decides its format.
func (e *env) openAssetFile(file string, forced assets.Format) (assets.Format, io.Reader, func() error, error) {
	format := forced
	if file == "-" {
		if format == "" {
			return "", nil, nil, fmt.Errorf("reading assets from standard input needs --format csv|yaml|json")
		}
		return format, e.stdin, func() error { return nil }, nil
	}
	if format == "" {
		f, err := assets.FormatOf(file)
		if err != nil {
			return "", nil, nil, err
		}
		format = f
	}
	fh, err := os.Open(file)
	if err != nil {
		return "", nil, nil, fmt.Errorf("opening asset file: %w", err)
	}
	return format, fh, fh.Close, nil
}

func printAssetSummary(out, errw io.Writer, s assetSummary, show int) {
	if s.Error != "" {
		fmt.Fprintf(errw, "omen: %s\n", s.Error)
	}
	if s.Format == "" {
		return
	}
	fmt.Fprintf(out, "%s: %d read, %d new, %d updated, %d unchanged, %d rejected (format %s)\n",
		s.File, s.Read, s.New, s.Updated, s.Unchanged, s.Rejected, s.Format)
	for i, r := range s.Rejects {
		if i >= show {
			fmt.Fprintf(errw, "  ... %d more rejected records (--json lists up to %d)\n", s.Rejected-show, maxListedRejects)
			break
		}
		fmt.Fprintf(errw, "  %s\n", rejectLine(s.File, r))
	}
}

// rejectLine formats a reject as "file:line: asset N: reason".
func rejectLine(file string, r assets.Reject) string {
	var b strings.Builder
	b.WriteString(file)
	if r.Line > 0 {
		fmt.Fprintf(&b, ":%d", r.Line)
	}
	b.WriteString(": ")
	if r.Index > 0 {
		fmt.Fprintf(&b, "asset %d: ", r.Index)
	}
	b.WriteString(r.Error)
	return b.String()
}

func (e *env) assetsListCmd() *cobra.Command {
	var (
		kind   string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "list [--kind KIND] [--json]",
		Short: "List assets with their criticality, data classification, exposure and values",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k := strings.ToLower(strings.TrimSpace(kind))
			if k != "" && !slices.Contains(assets.Kinds, k) {
				return fmt.Errorf("--kind %q: want %s", kind, strings.Join(assets.Kinds, ", "))
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			list, err := a.store.ListAssets(cmd.Context(), k)
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []intel.Asset{}
				}
				return printJSON(e.stdout, map[string]any{"assets": list})
			}
			rows := [][]string{{"ID", "KIND", "NAME", "CRITICALITY", "DATA", "EXPOSURE", "OWNER", "SERVICE", "VALUES"}}
			for _, x := range list {
				rows = append(rows, []string{strconv.FormatInt(x.ID, 10), x.Kind, x.Name, dash(string(x.Criticality)),
					dash(x.DataClass), dash(x.Exposure), dash(x.Owner), dash(x.Service), shortValues(x.Values, 3)})
			}
			table(e.stdout, rows)
			return nil
		},
	}
	c.Flags().StringVar(&kind, "kind", "", "only this kind: "+strings.Join(assets.Kinds, ", "))
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortValues shows at most n values, and how many more there are.
func shortValues(vs []string, n int) string {
	if len(vs) <= n {
		return dash(strings.Join(vs, " "))
	}
	return fmt.Sprintf("%s (+%d)", strings.Join(vs[:n], " "), len(vs)-n)
}

func (e *env) assetsDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID...",
		Short: "Delete assets by ID (see assets list)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := parseIDs(args, "asset")
			if err != nil {
				return err
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			for _, id := range ids {
				if err := deleteAsset(cmd.Context(), a, id); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "deleted asset %d\n", id)
			}
			return nil
		},
	}
}

// deleteAsset deletes one asset and records it in the audit log.
func deleteAsset(ctx context.Context, a *app, id int64) error {
	old, err := a.store.Asset(ctx, id)
	if err != nil {
		return fmt.Errorf("deleting asset %d: %w", id, err)
	}
	if err := a.store.DeleteAsset(ctx, id); err != nil {
		return fmt.Errorf("deleting asset %d: %w", id, err)
	}
	return a.store.AppendAudit(ctx, intel.AuditEntry{Time: time.Now().UTC(), Actor: "cli", Action: "asset.delete",
		Object: fmt.Sprintf("asset:%d", id), Detail: fmt.Sprintf("kind=%s name=%s", old.Kind, old.Name)})
}

// parseIDs parses positive object IDs given as arguments; what names the objects in the error.
func parseIDs(args []string, what string) ([]int64, error) {
	ids := make([]int64, len(args))
	for i, s := range args {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("invalid %s id %q", what, s)
		}
		ids[i] = id
	}
	return ids, nil
}
