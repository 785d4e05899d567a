// Package listfeed is the `list` source kind: a feed that publishes a list of indicators as plain
// text, CSV, JSON or NDJSON (abuse.ch, Spamhaus DROP, the Tor exit list, IPsum, OpenPhish,
// blocklist.de and alike), configured without code.
//
// Each run downloads the list, parses it once to check it (too many bad lines, an HTML page, a list
// that shrank too much: the run is rejected and nothing is written), then imports it. A list is a
// full snapshot: values it no longer carries are not deleted, their last-seen simply stops moving
// and their score decays.
package listfeed

import (
	"context"
	"errors"
	"fmt"
	"os"

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
	// First pass: count, without writing.
	ps, err := c.parseFile(ctx, dl.Path, func(list.Record) error { return nil })
	if err != nil {
		return res, err
	}
	if err := collect.CheckInput(c.src, ps.Records, ps.Rejected, env.GoodRecords); err != nil {
		return res, err
	}
	// Second pass: import.
	tlp := c.src.TLP
	sum, err := env.Importer.File(ctx, dl.Path, ingest.Options{Source: c.src.Name, Kind: "list", Reliability: c.src.Reliability,
		Confidence: c.src.Confidence, TLP: &tlp, Tags: c.src.Tags, ThreatType: c.src.ThreatType, Parse: c.parse}, nil)
	res.Records, res.New, res.Updated, res.Rejected = ps.Records, sum.New, sum.Updated, sum.Rejected
	if err != nil {
		return res, err
	}
	res.State = fetch.StateOf(dl)
	return res, nil
}

func (c *Collector) parseFile(ctx context.Context, path string, emit func(list.Record) error) (list.Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return list.Stats{}, err
	}
	defer f.Close()
	var syntax error
	st, err := list.Parse(ctx, f, c.parse, emit, func(r list.Reject) {
		if syntax == nil && errors.Is(r.Err, list.ErrSyntax) {
			syntax = r.Err
		}
	})
	if err != nil {
		return st, err
	}
	if syntax != nil {
		return st, fmt.Errorf("rejected the input: it stops being readable part-way (truncated?): %w", syntax)
	}
	return st, nil
}

func formatName(f list.Format) string {
	if f == "" || f == list.Auto {
		return "indicator"
	}
	return string(f)
}
