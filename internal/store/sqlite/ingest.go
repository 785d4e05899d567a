package sqlite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// DefaultBatchSize is the number of distinct observables per transaction when
// [store.IngestOptions.BatchSize] is 0. A batch takes about 200 bytes per observable plus its
// strings, and an ingest holds two (one filling, one being written): some 60 MB at this size.
// Smaller batches cost throughput: each batch rewrites the key-index pages it touches, and the
// optimistic insert and the sorting pay off with batches that cover the index densely.
const DefaultBatchSize = 100000

var errIngestClosed = errors.New("ingest already closed")

// obsKey is an observable as a comparable map key.
type obsKey struct {
	t intel.Type
	v string
}

func cmpKey(a, b obsKey) int {
	if a.t != b.t {
		return strings.Compare(string(a.t), string(b.t))
	}
	return strings.Compare(a.v, b.v)
}

// rep is a report as the ingester holds it: times in Unix nanoseconds, 0 meaning unknown.
type rep struct {
	conf, tlp          int64
	first, last, valid int64
	tags               []string // shared between reps; never appended to in place (cap = len)
	threat, malware    string
}

// repOf converts r, with tags as the report's tags.
func repOf(r *intel.Report, tags []string) rep {
	return rep{
		conf: int64(r.Confidence), tlp: int64(r.TLP),
		first: toNS(r.FirstSeen), last: toNS(r.LastSeen), valid: toNS(r.ValidUntil),
		tags: tags, threat: r.ThreatType, malware: r.Malware,
	}
}

// tagsOf returns a copy of r's tags, without repeats and empty tags, that reps may share: its
// capacity is its length, so a merge that adds tags copies it. The copy of the previous report's
// tags is reused when they are the same, as they usually are within a feed.
func (in *ingester) tagsOf(r *intel.Report) []string {
	if len(r.Tags) == 0 {
		return nil
	}
	if !slices.Equal(r.Tags, in.lastTags) {
		t := unionTags(nil, r.Tags)
		in.lastTags = t[:len(t):len(t)]
	}
	return in.lastTags
}

// merge merges b, the report that came later, into a: first seen is the earliest, last seen the
// latest, tags the union (a's first), and the other fields are those of the report with the later
// last seen, b's on a tie. Unknown times lose to known ones.
func (a *rep) merge(b *rep) {
	if aNewer := a.last != 0 && (b.last == 0 || a.last > b.last); !aNewer {
		a.conf, a.tlp, a.valid, a.threat, a.malware = b.conf, b.tlp, b.valid, b.threat, b.malware
	}
	a.first = minTimeNS(a.first, b.first)
	a.last = maxTimeNS(a.last, b.last)
	if t := unionTags(a.tags, b.tags); len(t) != len(a.tags) {
		a.tags = t[:len(t):len(t)]
	}
}

func (a *rep) equal(b *rep) bool {
	return a.conf == b.conf && a.tlp == b.tlp && a.first == b.first && a.last == b.last &&
		a.valid == b.valid && a.threat == b.threat && a.malware == b.malware && slices.Equal(a.tags, b.tags)
}

// ingestItem is one distinct observable of a batch with its merged report.
type ingestItem struct {
	obs   intel.Observable
	r     rep    // merged within the batch (the merge with the stored report is SQL's)
	wl    string // encoded warninglists from Classify
	json  bool   // the value can travel in a JSON string
	plain bool   // and needs no escaping

	// Filled while writing the batch.
	id       int64
	indFound bool // the indicator existed
	repFound bool // this source's report on it existed
	inserted bool // written by the optimistic insert
}

// ingester implements [store.Ingester]. See [DB.NewIngester].
//
// While one batch is written by a goroutine of its own, Add fills the next: the caller's goroutine
// merges, sorts and classifies, the writer goroutine talks to SQLite. At most one batch is in
// flight, so memory holds two batches at most.
type ingester struct {
	db       *DB
	source   string
	sourceID int64
	classify func(intel.Observable) []string
	batch    int
	started  time.Time
	atomic   bool
	atx      *ingestTx // the transaction of an atomic ingest, from its first batch on

	index    map[obsKey]int32 // key → position in items
	lastTags []string         // the tags of the last report added (see tagsOf)
	items    []ingestItem     // the batch being filled
	spare    []ingestItem     // the other buffer, back from the writer
	w        batchWriter      // used by the writer goroutine only

	inflight chan batchResult   // the batch being written, nil when none
	cancel   context.CancelFunc // cancels the batch being written

	stats   store.IngestStats
	batches int
	err     error // sticky: after it nothing more is written
	done    bool
}

// batchResult is what the writer goroutine hands back.
type batchResult struct {
	st    store.IngestStats
	err   error
	items []ingestItem
}

// NewIngester starts a bulk ingest for the source opts.Source, which must exist
// ([store.ErrNotFound] otherwise).
//
// Reports are merged in memory per batch of opts.BatchSize distinct observables (default
// [DefaultBatchSize]); each full batch is sorted by (type, value) and handed to a writer goroutine,
// which merges it with the stored indicators and this source's reports and writes it in one
// transaction (see the comment at the top of batch.go) while Add fills the next batch. So Add can
// return before its batch is committed: Close waits for every batch, and Abort for a batch already
// handed over. A done context passed to Add or Close cancels the batch being written. A report on an
// observable that an earlier batch of the same ingest wrote counts as Updated, not as a Duplicate.
func (db *DB) NewIngester(ctx context.Context, opts store.IngestOptions) (store.Ingester, error) {
	id, err := sourceID(ctx, db.r, opts.Source)
	if err != nil {
		return nil, fmt.Errorf("starting ingest: %w", err)
	}
	n := opts.BatchSize
	if n <= 0 {
		n = DefaultBatchSize
	}
	return &ingester{
		db:       db,
		source:   opts.Source,
		sourceID: id,
		classify: opts.Classify,
		batch:    n,
		atomic:   opts.Atomic,
		started:  time.Now(),
		index:    make(map[obsKey]int32, min(n, 1<<16)),
		items:    make([]ingestItem, 0, min(n, 1<<16)),
	}, nil
}

// validReport checks what the store relies on; it does not normalise.
func validReport(r *intel.Report) error {
	switch {
	case !r.Observable.Type.Valid():
		return fmt.Errorf("%w on %q: unknown observable type %q", store.ErrInvalidReport, r.Observable.Value, r.Observable.Type)
	case r.Observable.Value == "":
		return fmt.Errorf("%w: empty %s value", store.ErrInvalidReport, r.Observable.Type)
	case r.Confidence < 0 || r.Confidence > 100:
		return fmt.Errorf("%w on %s: confidence %d not in 0..100", store.ErrInvalidReport, r.Observable, r.Confidence)
	case r.TLP > intel.TLPRed:
		return fmt.Errorf("%w on %s: TLP %d out of range", store.ErrInvalidReport, r.Observable, r.TLP)
	}
	return nil
}

// Add queues r; when the batch is full it hands it to the writer and starts the next one. An
// invalid report (unknown type, empty value, confidence or TLP out of range) is rejected with an
// error and not counted; the ingest goes on. Any other error, a done ctx included, ends the ingest.
func (in *ingester) Add(ctx context.Context, r intel.Report) error {
	if in.err != nil {
		return in.err
	}
	if in.done {
		return errIngestClosed
	}
	if err := ctx.Err(); err != nil {
		return in.fail(err)
	}
	if err := validReport(&r); err != nil {
		return err
	}
	k := obsKey{r.Observable.Type, r.Observable.Value}
	in.stats.Reports++
	tags := in.tagsOf(&r)
	if i, ok := in.index[k]; ok {
		b := repOf(&r, tags)
		in.items[i].r.merge(&b)
		in.stats.Duplicates++
		return nil
	}
	in.index[k] = int32(len(in.items))
	in.items = append(in.items, ingestItem{obs: r.Observable, r: repOf(&r, tags)})
	if len(in.items) >= in.batch {
		return in.flush(ctx)
	}
	return nil
}

// Close writes what is queued, waits for it, and returns the totals.
func (in *ingester) Close(ctx context.Context) (store.IngestStats, error) {
	if in.err != nil {
		return in.stats, in.err
	}
	if in.done {
		return in.stats, nil
	}
	if err := in.flush(ctx); err != nil {
		return in.stats, err
	}
	if err := in.wait(); err != nil {
		return in.stats, err
	}
	if in.atx != nil {
		err := in.atx.end(ctx, true, nil)
		in.atx = nil
		if err != nil {
			return in.stats, in.fail(err)
		}
	}
	in.done = true
	in.items, in.spare, in.index, in.w = nil, nil, nil, batchWriter{}
	if in.stats.New+in.stats.Updated >= checkpointAfter {
		in.db.checkpoint(ctx)
	}
	in.db.logger.Info("ingest done", "source", in.source, "reports", in.stats.Reports,
		"new", in.stats.New, "updated", in.stats.Updated, "duplicates", in.stats.Duplicates,
		"indicators", in.stats.Indicators, "batches", in.batches,
		"duration", time.Since(in.started).Round(time.Millisecond))
	return in.stats, nil
}

// Abort drops the batch being filled and ends the ingest. A full batch already handed to the writer
// is waited for, as if it had been written before Add returned, so what stays is every full batch,
// as with a synchronous ingest.
func (in *ingester) Abort() {
	if in.done {
		return
	}
	if err := in.wait(); err != nil {
		in.db.logger.Warn("ingest batch failed before abort", "source", in.source, "err", err)
	}
	in.rollback()
	if in.err == nil {
		in.db.logger.Info("ingest aborted", "source", in.source, "batches", in.batches,
			"dropped", len(in.items))
	}
	in.done = true
	in.items, in.spare, in.index, in.w = nil, nil, nil, batchWriter{}
}

// fail ends the ingest with err: the batch being written is cancelled, nothing more is written.
func (in *ingester) fail(err error) error {
	if in.inflight != nil {
		in.cancel()
		<-in.inflight
		in.inflight = nil
	}
	in.rollback()
	in.err = fmt.Errorf("ingesting for source %s: %w", in.source, err)
	return in.err
}

// rollback ends the transaction of an atomic ingest, if any, leaving nothing of it.
func (in *ingester) rollback() {
	if in.atx == nil {
		return
	}
	if err := in.atx.end(context.Background(), false, nil); err != nil {
		in.db.logger.Warn("ending aborted ingest", "source", in.source, "err", err)
	}
	in.atx = nil
}

// flush prepares the queued batch (sorted, classified), waits for the batch in flight, and hands
// this one to a new writer goroutine.
func (in *ingester) flush(ctx context.Context) error {
	if len(in.items) == 0 {
		return nil
	}
	items := in.items
	slices.SortFunc(items, func(a, b ingestItem) int {
		if a.obs.Type != b.obs.Type {
			return strings.Compare(string(a.obs.Type), string(b.obs.Type))
		}
		return strings.Compare(a.obs.Value, b.obs.Value)
	})
	for i := range items {
		it := &items[i]
		it.plain = plainJSON(it.obs.Value)
		it.json = it.plain || jsonSafe(it.obs.Value)
		if in.classify != nil {
			it.wl = encodeStrings(unionTags(nil, in.classify(it.obs)))
		}
	}
	if err := in.wait(); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan batchResult, 1)
	go func() {
		st, err := in.writeBatch(wctx, items)
		done <- batchResult{st, err, items}
	}()
	in.inflight, in.cancel = done, cancel
	in.items = in.spare
	if in.items == nil {
		in.items = make([]ingestItem, 0, cap(items))
	}
	in.spare = nil
	clear(in.index)
	return nil
}

// wait waits for the batch in flight, if any, and counts it.
func (in *ingester) wait() error {
	if in.inflight == nil {
		return nil
	}
	res := <-in.inflight
	in.inflight = nil
	in.cancel()
	clear(res.items) // drop references to the strings
	in.spare = res.items[:0]
	if res.err != nil {
		in.rollback()
		in.err = fmt.Errorf("writing ingest batch of source %s: %w", in.source, res.err)
		return in.err
	}
	in.batches++
	in.stats.New += res.st.New
	in.stats.Updated += res.st.Updated
	in.stats.Indicators += res.st.Indicators
	in.db.logger.Debug("ingest batch committed", "source", in.source, "batch", in.batches,
		"observables", len(res.items), "new", res.st.New, "updated", res.st.Updated,
		"indicators", res.st.Indicators)
	return nil
}

// placeholders returns "?,?,...,?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// tuples returns n "(?,...,?)" groups of cols marks, comma-separated.
func tuples(n, cols int) string {
	t := "(" + placeholders(cols) + ")"
	var b strings.Builder
	b.Grow(n * (len(t) + 1))
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t)
	}
	return b.String()
}

// unionTags appends to a the elements of b that are not in a (nor earlier in b), skipping empty
// strings. a must be owned by the caller.
func unionTags(a, b []string) []string {
	for _, t := range b {
		if t != "" && !slices.Contains(a, t) {
			a = append(a, t)
		}
	}
	return a
}

// minTimeNS returns the earlier of two encoded times, 0 meaning unknown.
func minTimeNS(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// maxTimeNS returns the later of two encoded times, 0 meaning unknown.
func maxTimeNS(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return max(a, b)
}
