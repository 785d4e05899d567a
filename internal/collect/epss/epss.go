// Package epss is the `epss` source kind: FIRST's Exploit Prediction Scoring System, a daily CSV
// (usually gzipped) of every CVE's probability of exploitation in the next 30 days and its
// percentile. Scores are attached to the vulnerability entities omen knows (from the kev kind, or
// any other source using [collect.VulnerabilityID]); CVEs omen has no vulnerability for are counted, not stored.
package epss

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

func init() { collect.Register("epss", New) }

// Score is one CVE's EPSS score.
type Score struct {
	CVE        string
	EPSS       float64 // probability of exploitation in the next 30 days, 0..1
	Percentile float64 // 0..1
}

// Meta is the first line of the file: "#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z".
type Meta struct {
	ModelVersion string
	ScoreDate    string
}

// Parse reads an EPSS CSV, calling fn for every score; bad rows go to reject with their line.
func Parse(r io.Reader, fn func(Score) error, reject func(line int, err error)) (Meta, error) {
	var m Meta
	br := bufio.NewReader(r)
	first, err := br.Peek(1)
	if err != nil {
		return m, fmt.Errorf("rejected the input: empty EPSS file: %w", err)
	}
	line := 0
	if first[0] == '#' {
		head, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return m, err
		}
		line++
		for _, kv := range strings.Split(strings.TrimSpace(strings.TrimPrefix(head, "#")), ",") {
			k, v, _ := strings.Cut(kv, ":")
			switch k {
			case "model_version":
				m.ModelVersion = v
			case "score_date":
				m.ScoreDate = v
			}
		}
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	line++
	if err != nil || len(header) < 3 || strings.TrimSpace(header[0]) != "cve" || strings.TrimSpace(header[1]) != "epss" {
		return m, fmt.Errorf("rejected the input: line %d: want the header cve,epss,percentile", line)
	}
	for {
		rec, err := cr.Read()
		line++
		if err == io.EOF {
			return m, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				reject(line, err)
				continue
			}
			return m, err
		}
		if len(rec) < 3 {
			reject(line, fmt.Errorf("line %d: %d fields, want 3", line, len(rec)))
			continue
		}
		o, err := intel.Normalize(intel.CVE, rec[0])
		e, err2 := strconv.ParseFloat(rec[1], 64)
		p, err3 := strconv.ParseFloat(rec[2], 64)
		if err = errors.Join(err, err2, err3); err != nil || e < 0 || e > 1 || p < 0 || p > 1 {
			reject(line, fmt.Errorf("line %d: bad score row %q: %v", line, strings.Join(rec, ","), err))
			continue
		}
		if err := fn(Score{CVE: o.Value, EPSS: e, Percentile: p}); err != nil {
			return m, err
		}
	}
}

// Collector collects EPSS scores.
type Collector struct{ src config.Source }

var _ collect.Collector = (*Collector)(nil)

// New validates src.
func New(src config.Source) (collect.Collector, error) {
	if err := collect.NoListSettings(src); err != nil {
		return nil, err
	}
	return &Collector{src: src}, nil
}

// Collect runs once: parse the whole file first (nothing is written from a bad file), then attach
// the scores to known vulnerabilities.
func (c *Collector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	dl, res, err := fetch.Source(ctx, env, "the EPSS CSV")
	if dl == nil {
		return res, err
	}
	defer dl.Close()
	f, err := os.Open(dl.Path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	var scores []Score // ~300k rows of ~40 bytes: bounded by the file, which MaxBytes caps
	meta, err := Parse(f, func(s Score) error { scores = append(scores, s); return nil }, func(int, error) { res.Rejected++ })
	if err != nil {
		return res, err
	}
	res.Records = len(scores)
	if err := collect.CheckInput(c.src, res.Records, res.Rejected, env.GoodRecords); err != nil {
		return res, err
	}
	for _, s := range scores {
		attrs := map[string]any{"epss": s.EPSS, "epss_percentile": s.Percentile, "epss_date": meta.ScoreDate, "epss_model": meta.ModelVersion}
		err := env.Store.MergeEntityAttributes(ctx, collect.VulnerabilityID(s.CVE), attrs)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// No vulnerability known for this CVE: nothing to attach to.
		case err != nil:
			return res, fmt.Errorf("attaching the EPSS score of %s: %w", s.CVE, err)
		default:
			res.Updated++
		}
	}
	res.State = fetch.StateOf(dl)
	return res, nil
}
