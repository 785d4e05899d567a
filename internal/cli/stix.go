package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
)

// stixSniffBytes is how much of an input the STIX detection looks at.
const stixSniffBytes = 64 << 10

var (
	bundleType = regexp.MustCompile(`"type"\s*:\s*"bundle"`)
	objectsKey = regexp.MustCompile(`"objects"\s*:\s*\[`)
	stixRef    = regexp.MustCompile(`"id"\s*:\s*"[a-z][a-z0-9-]*--[0-9a-fA-F]{8}-`)
)

// looksLikeSTIX reports whether the start of an input is a STIX bundle or a TAXII envelope: a
// JSON object with "type": "bundle", or an "objects" array of objects with STIX ids.
func looksLikeSTIX(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(head) == 0 || head[0] != '{' {
		return false
	}
	return bundleType.Match(head) || (objectsKey.Match(head) && stixRef.Match(head))
}

// sniffSTIX reports whether the file looks like STIX (see looksLikeSTIX).
func sniffSTIX(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false // the import proper reports the error
	}
	defer f.Close()
	head := make([]byte, stixSniffBytes)
	n, _ := io.ReadFull(f, head)
	return looksLikeSTIX(head[:n])
}

// sniffSTIXReader peeks at r without consuming it.
func sniffSTIXReader(r *bufio.Reader) bool {
	head, _ := r.Peek(stixSniffBytes)
	return looksLikeSTIX(head)
}

// stixSummary is what `omen import` prints for a STIX input.
type stixSummary struct {
	File    string        `json:"file"`
	Source  string        `json:"source"`
	Format  string        `json:"format"` // "stix"
	Counts  stix.Counts   `json:"counts"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Error   string        `json:"error,omitempty"`
}

// importSTIX imports one STIX bundle or TAXII envelope as objects of o.Source, creating the source
// when needed. ok is false when nothing could be imported.
func (e *env) importSTIX(ctx context.Context, a *app, file string, r io.Reader, o ingest.Options) (stixSummary, bool) {
	start := time.Now()
	sum := stixSummary{File: file, Source: o.Source, Format: "stix"}
	fail := func(err error) (stixSummary, bool) {
		sum.Error, sum.Elapsed = err.Error(), time.Since(start)
		fmt.Fprintf(e.stderr, "omen: %s: %v\n", file, err)
		return sum, false
	}
	src, err := a.importer().EnsureSource(ctx, o)
	if err != nil {
		return fail(err)
	}
	so := stix.Options{Source: src.Name, Confidence: o.Confidence, TLP: src.TLP}
	if o.TLP != nil {
		so.TLP = *o.TLP
	}
	if r == nil {
		f, err := os.Open(file)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		r = f
	}
	im := &stix.Importer{Store: a.store, Warninglists: a.lists}
	sum.Counts, err = im.Bundle(ctx, r, so)
	sum.Elapsed = time.Since(start)
	if err != nil {
		return fail(err)
	}
	return sum, sum.Counts.Stored+sum.Counts.Unchanged > 0 || sum.Counts.Rejected == 0
}

// printSTIXSummary prints a STIX import's counts, and up to show of its errors.
func printSTIXSummary(out, errw io.Writer, s stixSummary, show int) {
	c := s.Counts
	fmt.Fprintf(out, "%s: %d objects (%s), %d stored, %d unchanged, %d rejected (source %s, format stix, %s)\n",
		s.File, c.Objects, byType(c.ByType), c.Stored, c.Unchanged, c.Rejected, s.Source, s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "  %d indicators: %d reduced to %d observables, %d kept as patterns only; %d entities, %d relationships (%d observable links), %d sightings",
		c.Indicators, c.Reducible, c.Observables, c.PatternOnly, c.Entities, c.Relationships, c.Linked, c.Sightings)
	if c.Revoked > 0 || c.Outdated > 0 || c.Custom > 0 {
		fmt.Fprintf(out, "; %d revoked, %d older versions kept only, %d custom objects", c.Revoked, c.Outdated, c.Custom)
	}
	if c.InvalidValues > 0 {
		fmt.Fprintf(out, "; %d pattern values left out (not valid observables)", c.InvalidValues)
	}
	fmt.Fprintln(out)
	for i, msg := range c.Errors {
		if i >= show {
			fmt.Fprintf(errw, "  ... %d more errors (--json lists up to 100)\n", len(c.Errors)-show)
			break
		}
		fmt.Fprintf(errw, "  %s: %s\n", s.File, msg)
	}
}

// byType renders counts by type as "12 indicator, 3 malware", largest first.
func byType(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

// taxiiInbox returns the hook that imports the objects POSTed to a writable TAXII collection into
// omen's intelligence, as reports and entities of the source "taxii-<collection>" (graded F,
// cannot be judged, until an analyst grades it; unmarked objects taken as TLP:AMBER).
func (a *app) taxiiInbox() func(ctx context.Context, coll string, objs []json.RawMessage) error {
	return func(ctx context.Context, coll string, objs []json.RawMessage) error {
		amber := intel.TLPAmber
		src, err := a.importer().EnsureSource(ctx, ingest.Options{Source: "taxii-" + coll, Kind: "taxii-inbox", TLP: &amber})
		if err != nil {
			return err
		}
		im := &stix.Importer{Store: a.store, Warninglists: a.lists, Logger: a.log}
		c, err := im.Objects(ctx, objs, stix.Options{Source: src.Name, Collection: coll, Confidence: src.Confidence, TLP: src.TLP})
		if err != nil {
			return err
		}
		a.log.Info("taxii objects imported", "collection", coll, "source", src.Name, "objects", c.Objects,
			"indicators", c.Indicators, "observables", c.Observables, "entities", c.Entities, "rejected", c.Rejected)
		return nil
	}
}
