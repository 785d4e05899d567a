// Package demo loads bundled genuine public samples (abuse.ch Feodo Tracker, Spamhaus DROP, the Tor
// exit list, IPsum, CISA KEV and an ATT&CK subset) into a store, so that a newcomer sees real verdicts
// without network access. data/SOURCES.md says where each file comes from.
package demo

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"

	"github.com/omen-tip/omen/internal/collect/attack"
	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
)

//go:embed data
var data embed.FS

// Feed is one bundled sample and the source it is imported as.
type Feed struct {
	File string
	ingest.Options
}

var clear = intel.TLPClear

// Feeds lists the bundled feeds with source settings a SOC would give them.
var Feeds = []Feed{
	{"feodo-ipblocklist.csv", ingest.Options{Source: "feodotracker", Kind: "list", Reliability: intel.ReliabilityB, Confidence: 90,
		TLP: &clear, ThreatType: "c2", Tags: []string{"botnet-c2"}, Parse: list.Options{Format: list.CSV}}},
	{"drop_v4.json", ingest.Options{Source: "spamhaus-drop", Kind: "list", Reliability: intel.ReliabilityA, Confidence: 90,
		TLP: &clear, ThreatType: "hijacked-network", Tags: []string{"spamhaus-drop"}, Parse: list.Options{Format: list.NDJSON}}},
	{"tor-exit-nodes.lst", ingest.Options{Source: "tor-exit-nodes", Kind: "list", Reliability: intel.ReliabilityA, Confidence: 30,
		TLP: &clear, ThreatType: "anonymizer", Tags: []string{"tor-exit"}, Parse: list.Options{Format: list.Text}}},
	{"ipsum.head.txt", ingest.Options{Source: "ipsum", Kind: "list", Reliability: intel.ReliabilityC, Confidence: 60,
		TLP: &clear, ThreatType: "scanner", Parse: list.Options{Format: list.Text}}},
	{"known_exploited_vulnerabilities.head.json", ingest.Options{Source: "cisa-kev", Kind: "list", Reliability: intel.ReliabilityA,
		Confidence: 100, TLP: &clear, ThreatType: "exploited-vulnerability", Parse: list.Options{Format: list.JSON}}},
}

// Result counts what Load did.
type Result struct {
	Imports       []ingest.Summary
	Entities      int
	Relationships int
}

// Load imports every bundled feed through im and the ATT&CK subset into im.Store. Loading twice only
// refreshes what the first load wrote.
func Load(ctx context.Context, im *ingest.Importer) (Result, error) {
	var res Result
	for _, f := range Feeds {
		fh, err := data.Open(path.Join("data", f.File))
		if err != nil {
			return res, err
		}
		s, err := im.Reader(ctx, fh, f.Options)
		fh.Close()
		s.File = f.File
		if err != nil {
			return res, fmt.Errorf("loading demo feed %s: %w", f.File, err)
		}
		res.Imports = append(res.Imports, s)
	}
	files, err := fs.Glob(data, "data/attack/*.json")
	if err != nil {
		return res, err
	}
	if _, err := im.EnsureSource(ctx, ingest.Options{Source: "mitre-attack", Kind: "attack", Reliability: intel.ReliabilityA,
		Confidence: 100, TLP: &clear}); err != nil {
		return res, err
	}
	for _, name := range files {
		fh, err := data.Open(name)
		if err != nil {
			return res, err
		}
		es, rels, _, err := attack.Parse(fh, "mitre-attack")
		fh.Close()
		if err != nil {
			return res, fmt.Errorf("loading %s: %w", name, err)
		}
		if err := im.Store.PutEntities(ctx, es); err != nil {
			return res, fmt.Errorf("storing entities of %s: %w", name, err)
		}
		if err := im.Store.PutRelationships(ctx, rels); err != nil {
			return res, fmt.Errorf("storing relationships of %s: %w", name, err)
		}
		res.Entities += len(es)
		res.Relationships += len(rels)
	}
	return res, nil
}

// Files returns the bundled files (data/SOURCES.md lists them), for tests and for users who want to
// see what the demo loads.
func Files() fs.FS {
	sub, err := fs.Sub(data, "data")
	if err != nil {
		panic(err) // the embedded tree always has data/
	}
	return sub
}
