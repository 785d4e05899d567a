// Package ingest is the "normalise → store" stage for files and streams: it parses an input with the
// list parsers, turns each record into a report of one source, flags warninglisted values, and writes
// them through the store's bulk ingester, counting everything and naming every rejected line.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/omen-tip/omen/internal/collect/list"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/store"
)

// Options describes one import.
type Options struct {
	Source string // source name; created when missing
	Kind   string // source kind for a new source, "import" by default
	// Reliability, when valid, is the source's grade: set on a new source, updated on an existing
	// one. A new source without it is graded F (cannot be judged).
	Reliability intel.Reliability
	// Confidence (1..100) for records that carry none; 0 means the source's default (50 for a new
	// source).
	Confidence int
	// TLP of every report; nil means the source's default (amber for a new source).
	TLP        *intel.TLP
	Tags       []string // added to every report
	ThreatType string   // for records that carry none
	Parse      list.Options
	// KeepDates keeps the dates of the input as they are. By default a record's last-seen is at least
	// the import time: a list that carries a value now asserts it now, and decay counts from there.
	KeepDates bool
	// MaxRejects is how many rejects are kept in the summary (all are counted); 0 means 100.
	MaxRejects int
	BatchSize  int
	// Atomic makes the import all or nothing: see store.IngestOptions.Atomic.
	Atomic bool
	// Check, when set, judges the whole input once it is parsed and before the import is
	// committed: an error rejects the import (nothing of it stays when Atomic) and is returned.
	Check func(Parsed) error
}

// Parsed is what [Options.Check] judges.
type Parsed struct {
	Records  int   // records parsed
	Rejected int   // lines or records rejected by the parser or the store
	Syntax   error // the first syntax error (input unreadable from there on), nil when none
}

// Summary counts what an import did.
type Summary struct {
	File       string        `json:"file"`
	Source     string        `json:"source"`
	Format     string        `json:"format"`
	Read       int           `json:"read"` // records parsed plus lines rejected
	New        int           `json:"new"`
	Updated    int           `json:"updated"`
	Duplicates int           `json:"duplicates"`
	Rejected   int           `json:"rejected"`
	Skipped    int           `json:"skipped"` // comments, headers, blanks, metadata
	Flagged    int           `json:"warninglisted"`
	Rejects    []Reject      `json:"rejects,omitempty"`
	Elapsed    time.Duration `json:"elapsed_ns"`
}

// Reject is one rejected line.
type Reject struct {
	Line  int    `json:"line"`
	Input string `json:"input"`
	Error string `json:"error"`
}

// Importer imports into a store.
type Importer struct {
	Store        store.Store
	Warninglists *match.WarninglistSet // may be nil
	Logger       *slog.Logger
	Now          func() time.Time
}

// Defaults of a source created by an import.
const (
	DefaultConfidence = 50
	DefaultTLP        = intel.TLPAmber
)

// EnsureSource creates the source when it does not exist yet, with the options' reliability,
// confidence and TLP as its defaults, and returns it. An existing source keeps its settings, except
// that a valid o.Reliability replaces its grade.
func (im *Importer) EnsureSource(ctx context.Context, o Options) (intel.Source, error) {
	src, err := im.Store.Source(ctx, o.Source)
	if err == nil {
		if o.Reliability.Valid() && o.Reliability != src.Reliability {
			src.Reliability = o.Reliability
			return im.Store.PutSource(ctx, src)
		}
		return src, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return src, fmt.Errorf("reading source %s: %w", o.Source, err)
	}
	src = intel.Source{Name: o.Source, Kind: o.Kind, Reliability: o.Reliability, Confidence: o.Confidence,
		TLP: DefaultTLP, Enabled: true}
	if src.Kind == "" {
		src.Kind = "import"
	}
	if !src.Reliability.Valid() {
		src.Reliability = intel.ReliabilityF
	}
	if src.Confidence == 0 {
		src.Confidence = DefaultConfidence
	}
	if o.TLP != nil {
		src.TLP = *o.TLP
	}
	return im.Store.PutSource(ctx, src)
}

// Classifier returns the function that names the warninglists an observable is on, for
// store.IngestOptions.Classify; nil without warninglists.
func (im *Importer) Classifier() func(intel.Observable) []string {
	return im.Warninglists.Classifier()
}

// File imports one file; progress, when not nil, is told the bytes read so far.
func (im *Importer) File(ctx context.Context, path string, o Options, progress func(read int64)) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{File: path}, err
	}
	defer f.Close()
	var r io.Reader = f
	if progress != nil {
		r = &countingReader{r: f, fn: progress}
	}
	s, err := im.Reader(ctx, r, o)
	s.File = path
	if err != nil {
		return s, fmt.Errorf("importing %s: %w", path, err)
	}
	return s, nil
}

// Reader imports everything r holds as reports of o.Source.
func (im *Importer) Reader(ctx context.Context, r io.Reader, o Options) (Summary, error) {
	start := time.Now()
	now := time.Now().UTC()
	if im.Now != nil {
		now = im.Now().UTC()
	}
	sum := Summary{Source: o.Source}
	if o.Source == "" {
		return sum, errors.New("no source name")
	}
	if o.Confidence < 0 || o.Confidence > 100 {
		return sum, fmt.Errorf("confidence %d out of range 0..100", o.Confidence)
	}
	src, err := im.EnsureSource(ctx, o)
	if err != nil {
		return sum, err
	}
	conf, tlp := o.Confidence, src.TLP
	if conf == 0 {
		conf = src.Confidence
	}
	if o.TLP != nil {
		tlp = *o.TLP
	}
	flagged := 0
	var classify func(intel.Observable) []string
	if c := im.Classifier(); c != nil {
		classify = func(ob intel.Observable) []string {
			names := c(ob)
			if len(names) > 0 {
				flagged++
			}
			return names
		}
	}
	ing, err := im.Store.NewIngester(ctx, store.IngestOptions{Source: o.Source, Classify: classify,
		BatchSize: o.BatchSize, Atomic: o.Atomic})
	if err != nil {
		return sum, fmt.Errorf("starting ingest: %w", err)
	}
	maxRejects := o.MaxRejects
	if maxRejects == 0 {
		maxRejects = 100
	}
	storeRejects := 0
	var syntax error
	reject := func(rj list.Reject) {
		if syntax == nil && errors.Is(rj.Err, list.ErrSyntax) {
			syntax = rj.Err
		}
		if len(sum.Rejects) < maxRejects {
			sum.Rejects = append(sum.Rejects, Reject{Line: rj.Line, Input: rj.Input, Error: rj.Err.Error()})
		}
	}
	emit := func(rec list.Record) error {
		rep := intel.Report{
			Observable: rec.Observable, Source: o.Source, Confidence: rec.Confidence, TLP: tlp,
			FirstSeen: rec.FirstSeen, LastSeen: rec.LastSeen, ValidUntil: rec.ValidUntil,
			Tags: append(append([]string(nil), o.Tags...), rec.Tags...), ThreatType: rec.ThreatType, Malware: rec.Malware,
		}
		if rep.Confidence == 0 {
			rep.Confidence = conf
		}
		if rep.ThreatType == "" {
			rep.ThreatType = o.ThreatType
		}
		if !o.KeepDates && rep.LastSeen.Before(now) {
			rep.LastSeen = now
		}
		if rep.LastSeen.IsZero() {
			rep.LastSeen = now
		}
		if rep.FirstSeen.IsZero() || rep.FirstSeen.After(rep.LastSeen) {
			rep.FirstSeen = rep.LastSeen
		}
		err := ing.Add(ctx, rep)
		if errors.Is(err, store.ErrInvalidReport) {
			storeRejects++
			reject(list.Reject{Line: rec.Line, Input: rec.Observable.Value, Err: err})
			return nil
		}
		return err
	}
	ps, perr := list.Parse(ctx, r, o.Parse, emit, reject)
	sum.Format = string(ps.Format)
	sum.Read, sum.Rejected, sum.Skipped = ps.Records+ps.Rejected, ps.Rejected+storeRejects, ps.Skipped
	if perr != nil {
		ing.Abort()
		return sum, perr
	}
	if o.Check != nil {
		if err := o.Check(Parsed{Records: ps.Records, Rejected: sum.Rejected, Syntax: syntax}); err != nil {
			ing.Abort()
			sum.Elapsed = time.Since(start)
			return sum, err
		}
	}
	st, err := ing.Close(ctx)
	sum.New, sum.Updated, sum.Duplicates, sum.Flagged = st.New, st.Updated, st.Duplicates, flagged
	sum.Elapsed = time.Since(start)
	if err != nil {
		return sum, fmt.Errorf("writing reports: %w", err)
	}
	if im.Logger != nil {
		im.Logger.Info("import done", "source", o.Source, "format", sum.Format, "read", sum.Read, "new", sum.New,
			"updated", sum.Updated, "rejected", sum.Rejected, "warninglisted", sum.Flagged, "elapsed", sum.Elapsed)
	}
	return sum, nil
}

type countingReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.fn(c.n)
	return n, err
}
