// Package listfeed is the `list` source kind: a feed that publishes a list of indicators as plain
// text, CSV, JSON or NDJSON (abuse.ch, Spamhaus DROP, the Tor exit list, IPsum, OpenPhish,
// blocklist.de and alike), configured without code.
//
// Each run downloads the list and imports it in one transaction that commits only when the whole
// list passes the checks (too many bad lines, an HTML page, a truncated body, a list that shrank too
// much: the run is rejected and nothing of it is written). A list is a
// full snapshot: values it no longer carries are not deleted, their last-seen simply stops moving
// and their score decays.
package listfeed

import (
	"context"
	"fmt"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
)

func init() { collect.Register("list", New) }

// Collector collects one list feed.
type Collector struct {
	src   config.Source
	parse list.Options
}

// Interface guard.
var _ collect.Collector = (*Collector)(nil)

// New validates the list settings of src.
func New(src config.Source) (collect.Collector, error) {
	var o list.Options
	var err error
	if o.Format, err = list.ParseFormat(src.Format); err != nil {
		return nil, err
	}
	if src.Type != "" {
		if o.Type, err = intel.ParseType(src.Type); err != nil {
			return nil, err
		}
	}
	if src.Delimiter != "" {
		o.Delimiter = []rune(src.Delimiter)[0]
	}
	o.Column, o.Comment = src.Column, src.Comment
	return &Collector{src: src, parse: o}, nil
}

// Collect runs the feed once.
func (c *Collector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	what := ""
	if c.parse.Format != list.Freetext {
		what = "a " + formatName(c.parse.Format) + " list"
	}
	dl, res, err := fetch.Source(ctx, env, what)
	if dl == nil {
		return res, err
	}
	defer dl.Close()
	// One pass, all or nothing: the import is judged once parsed and rolled back when rejected.
	var parsed ingest.Parsed
	check := func(p ingest.Parsed) error {
		parsed = p
		if p.Syntax != nil {
			return fmt.Errorf("rejected the input: it stops being readable part-way (truncated?): %w", p.Syntax)
		}
		return collect.CheckInput(c.src, p.Records, p.Rejected, env.GoodRecords)
	}
	tlp := c.src.TLP
	sum, err := env.Importer.File(ctx, dl.Path, ingest.Options{Source: c.src.Name, Kind: "list", Reliability: c.src.Reliability,
		Confidence: c.src.Confidence, TLP: &tlp, Tags: c.src.Tags, ThreatType: c.src.ThreatType, Parse: c.parse,
		Atomic: true, Check: check}, nil)
	res.Records, res.New, res.Updated, res.Rejected = parsed.Records, sum.New, sum.Updated, sum.Rejected
	if err != nil {
		return res, err
	}
	res.State = fetch.StateOf(dl)
	return res, nil
}

func formatName(f list.Format) string {
	if f == "" || f == list.Auto {
		return "indicator"
	}
	return string(f)
}
