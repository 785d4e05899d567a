package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
)

// exportFormats are the formats `omen export` writes.
var exportFormats = []struct{ name, what string }{
	{"stix", "STIX 2.1 bundle: indicators with their SCOs, entities, relationships and TLP 2.0 markings"},
}

// exportCmd is `omen export`.
func (e *env) exportCmd() *cobra.Command {
	var (
		format, out, tlp string
		types, values    []string
		entities         []string
		list, asJSON     bool
	)
	c := &cobra.Command{
		Use:   "export --format stix [--type T]... [--value V]... [--entity ID]... [--tlp amber] [-o FILE]",
		Short: "Write omen's intelligence in a sharing format (warninglisted values are never written)",
		Long: `Write indicators and entities: every indicator (of the --type given), or the indicators of the
--value given and the entities of the --entity ids, with the relationships between them. Only what
--tlp allows is written (default amber: nothing marked amber+strict or red). Warninglisted values,
known-benign infrastructure, are never written. The counts go to standard error (--json: as JSON).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if list {
				for _, f := range exportFormats {
					fmt.Fprintf(e.stdout, "%-8s %s\n", f.name, f.what)
				}
				return nil
			}
			if format != "stix" {
				return fmt.Errorf("--format %q: want one of those `omen export --list` prints", format)
			}
			clearance, err := intel.ParseTLP(tlp)
			if err != nil {
				return fmt.Errorf("--tlp: %w", err)
			}
			sel := stix.Selection{All: len(values) == 0 && len(entities) == 0, EntityIDs: entities}
			for _, t := range types {
				typ, err := intel.ParseType(t)
				if err != nil {
					return fmt.Errorf("--type: %w", err)
				}
				sel.Types = append(sel.Types, typ)
			}
			for _, v := range values {
				ob, err := intel.Detect(v)
				if err != nil {
					return fmt.Errorf("--value %q: %w", v, err)
				}
				sel.Observables = append(sel.Observables, ob)
			}
			a, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			var w io.Writer = e.stdout
			var f *os.File
			if out != "" && out != "-" {
				if f, err = os.CreateTemp(filepath.Dir(out), ".omen-export-*"); err != nil {
					return err
				}
				defer os.Remove(f.Name())
				defer f.Close()
				w = f
			}
			counts, err := stix.Export(cmd.Context(), a.store, sel, clearance, w)
			if err != nil {
				return err
			}
			if f != nil { // the file appears whole or not at all
				if err := f.Close(); err != nil {
					return err
				}
				if err := os.Rename(f.Name(), out); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(e.stderr, counts)
			}
			fmt.Fprintf(e.stderr, "exported %d indicators (%d SCOs), %d entities, %d relationships, %d markings; "+
				"withheld %d warninglisted, skipped %d without a STIX form\n", counts.Indicators, counts.Observables,
				counts.Entities, counts.Relationships, counts.Markings, counts.Withheld, counts.Skipped)
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "", "output format (see --list)")
	c.Flags().StringVarP(&out, "output", "o", "", "write to FILE instead of standard output")
	c.Flags().StringVar(&tlp, "tlp", "amber", "the most restrictive TLP to write: clear, green, amber, amber+strict, red")
	c.Flags().StringSliceVar(&types, "type", nil, "only indicators of this observable type (repeatable)")
	c.Flags().StringSliceVar(&values, "value", nil, "the indicator of this value (repeatable)")
	c.Flags().StringSliceVar(&entities, "entity", nil, "this entity, by id (repeatable)")
	c.Flags().BoolVar(&list, "list", false, "print the formats")
	c.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON")
	return c
}
