package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/brand"
	"github.com/omen-tip/omen/internal/brandwatch"
)

const lookalikeHelp = `Find domains that imitate the organisation's brands: typos, homoglyphs and IDN, combosquats
(paypal-secure-login.com), TLD swaps and the subdomain trick (paypal.com.evil.net).

The brands come from --brand DOMAIN (repeatable) or, without it, from the asset inventory: assets
of kind brand (their domains and keywords) and domain (the organisation's own domains). Names under
a brand's own domains never match.`

// lookalikeVerdict is the answer for one checked name.
type lookalikeVerdict struct {
	Name      string      `json:"name"`
	Lookalike bool        `json:"lookalike"`
	Hits      []brand.Hit `json:"hits,omitempty"`
}

// lookalikeFlag is one flagged name in a scan.
type lookalikeFlag struct {
	Name string `json:"name"`
	brand.Hit
	Others []brand.Hit `json:"others,omitempty"` // further brands it imitates
}

func (e *env) lookalikeCmd() *cobra.Command {
	c := &cobra.Command{Use: "lookalike", Short: "Detect lookalike domains of the organisation's brands", Long: lookalikeHelp}
	c.AddCommand(e.lookalikeGenerateCmd(), e.lookalikeCheckCmd(), e.lookalikeScanCmd())
	return c
}

func (e *env) lookalikeGenerateCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "generate DOMAIN [--json]",
		Short: "Print the lookalike permutations a registrant could use (dnstwist's fuzzer families)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			perms, err := brand.Generate(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				if perms == nil {
					perms = []brand.Permutation{}
				}
				return printJSON(e.stdout, perms)
			}
			w := bufio.NewWriter(e.stdout)
			for _, p := range perms {
				fmt.Fprintf(w, "%-14s %s\n", p.Fuzzer, p.Domain)
			}
			return w.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON list")
	return c
}

func (e *env) lookalikeCheckCmd() *cobra.Command {
	var (
		brands []string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "check [--brand DOMAIN]... NAME... [--json]",
		Short: "Tell for each name whether it imitates a brand, which and why",
		Long:  lookalikeHelp,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, names []string) error {
			m, err := e.lookalikeMatcher(cmd.Context(), brands)
			if err != nil {
				return err
			}
			verdicts := make([]lookalikeVerdict, 0, len(names))
			for _, n := range names {
				hits := m.Match(n)
				verdicts = append(verdicts, lookalikeVerdict{Name: n, Lookalike: len(hits) > 0, Hits: hits})
			}
			if asJSON {
				return printJSON(e.stdout, struct {
					Verdicts []lookalikeVerdict `json:"verdicts"`
				}{verdicts})
			}
			for _, v := range verdicts {
				if !v.Lookalike {
					fmt.Fprintf(e.stdout, "%s: no lookalike\n", v.Name)
					continue
				}
				h := v.Hits[0]
				fmt.Fprintf(e.stdout, "%s: LOOKALIKE of %s (%s), score %.2f: %s\n", v.Name, h.Domain, h.Brand, h.Score, h.Explanation)
				for _, o := range v.Hits[1:] {
					fmt.Fprintf(e.stdout, "  also %s (%s), score %.2f: %s\n", o.Domain, o.Brand, o.Score, o.Explanation)
				}
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&brands, "brand", nil, "a brand domain to protect (repeatable; default: the asset inventory)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON verdicts")
	return c
}

func (e *env) lookalikeScanCmd() *cobra.Command {
	var (
		in     string
		brands []string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "scan [--in FILE] [--brand DOMAIN]... [--json]",
		Short: "Read names one per line (standard input or --in) and print the lookalikes",
		Long:  lookalikeHelp + "\n\nBlank lines and lines starting with # are skipped.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := e.lookalikeMatcher(cmd.Context(), brands)
			if err != nil {
				return err
			}
			r, name := e.stdin, "standard input"
			if in != "" && in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return fmt.Errorf("opening names: %w", err)
				}
				defer f.Close()
				r, name = f, in
			}
			return scanLookalikes(cmd.Context(), m, r, name, e.stdout, asJSON)
		},
	}
	c.Flags().StringVar(&in, "in", "", "file of names, one per line (default: standard input)")
	c.Flags().StringArrayVar(&brands, "brand", nil, "a brand domain to protect (repeatable; default: the asset inventory)")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per flagged name")
	return c
}

// scanLookalikes matches every line of r and writes the flagged names to out.
func scanLookalikes(ctx context.Context, m *brand.Matcher, r io.Reader, name string, out io.Writer, asJSON bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	line := 0
	for sc.Scan() {
		line++
		if line%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		n := strings.TrimSpace(sc.Text())
		if n == "" || strings.HasPrefix(n, "#") {
			continue
		}
		hits := m.Match(n)
		if len(hits) == 0 {
			continue
		}
		if asJSON {
			if err := enc.Encode(lookalikeFlag{Name: n, Hit: hits[0], Others: hits[1:]}); err != nil {
				return err
			}
			continue
		}
		h := hits[0]
		fmt.Fprintf(w, "%s\t%s\t%s\t%.2f\t%s\n", n, h.Domain, h.Technique, h.Score, h.Explanation)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading names from %s, line %d: %w", name, line+1, err)
	}
	return w.Flush()
}

// lookalikeMatcher builds the matcher from --brand domains or from the asset inventory.
func (e *env) lookalikeMatcher(ctx context.Context, domains []string) (*brand.Matcher, error) {
	var brands []brand.Brand
	if len(domains) > 0 {
		for _, d := range domains {
			brands = append(brands, brand.Brand{Name: d, Domains: []string{d}})
		}
		return brand.NewMatcher(brands, brand.Options{})
	}
	a, err := e.open(ctx)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	all, err := a.store.ListAssets(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing assets: %w", err)
	}
	brands, _ = brandwatch.Brands(all, func(asset, value string, err error) {
		a.log.Warn("lookalike: skipping an asset domain", "asset", asset, "value", value, "err", err)
	})
	if len(brands) == 0 {
		return nil, fmt.Errorf("no brands: give --brand DOMAIN or import assets of kind brand or domain (omen assets import)")
	}
	return brand.NewMatcher(brands, brand.Options{})
}
