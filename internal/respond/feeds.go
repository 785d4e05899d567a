package respond

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
)

// Producer selects and guards the entries of a feed: the lead wires [Collect] into it. name is the
// feed's, sel its selection (Since set for a delta) and f its format.
type Producer func(ctx context.Context, name string, sel Selection, f Format) ([]Entry, Report, error)

// FeedOptions configure a [FeedServer].
type FeedOptions struct {
	// Exports are the configured feeds (config.Config.Exports, validated).
	Exports []config.Export
	// Produce makes a feed's entries.
	Produce Producer
	// Release, when set, gets a feed's entries back once they are written (see Index.Release).
	Release func(name string, es []Entry)
	// Version returns the data version: it changes whenever indicators change. A feed is regenerated
	// only when it moved (and the feed's refresh interval passed). Nil: never regenerated once built.
	Version func() int64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger (discarded when nil).
	Logger *slog.Logger
	// MaxDeltas caps the cached delta (?since=) variants per feed (default 8).
	MaxDeltas int
}

// DeltaFormats are the formats that serve a delta (?since=): lists a consumer can append to or
// merge. A firewall list, a DNS zone, a rule set or a MISP feed directory replace the previous
// copy whole, so a delta of them would drop everything older.
var DeltaFormats = []string{"plain-ip", "plain-domain", "plain-url", "csv", "json", "stix"}

// FeedServer serves the named exports at /feeds/{name}.
//
// Each feed is generated on first request and cached: its bytes, a strong ETag (the SHA-256 of the
// bytes), a gzip copy and the time the bytes last changed (Last-Modified). A request regenerates
// the feed only when the data version moved and the feed's refresh interval passed since the last
// generation; one request regenerates while the others are served the previous copy (the first
// generation makes concurrent requests wait for it). A failed regeneration keeps serving the
// previous copy and is retried after the refresh interval.
//
// Deltas: ?since=<RFC 3339 time> or ?since=<duration> (e.g. 24h, 7d: that long before now) sets
// [Selection.Since], for the [DeltaFormats] only (400 otherwise). The time is rounded down to the
// minute and each rounded time is cached like a full feed, up to MaxDeltas per feed (the oldest
// generated is dropped beyond), so pollers asking for "the last hour" share one copy per minute.
//
// A format written as a directory (misp-feed) is served as the directory: /feeds/{name}/manifest.json,
// /feeds/{name}/{event-uuid}.json and /feeds/{name}/hashes.csv.
type FeedServer struct {
	o     FeedOptions
	log   *slog.Logger
	feeds map[string]*feed
	names []string
}

type feed struct {
	exp    config.Export
	format Format
	delta  bool

	mu       sync.Mutex // guards variants
	variants map[time.Time]*variant
}

// variant is one cached copy: the full feed (zero since) or a delta.
type variant struct {
	since time.Time
	gen   sync.Mutex // held while generating: single flight
	cur   atomic.Pointer[snapshot]
}

// snapshot is one generation of a feed.
type snapshot struct {
	version   int64
	generated time.Time
	tried     time.Time // the last attempt, successful or not
	files     map[string]*blob
	report    Report
	err       error // of the first generation, when it failed
}

// blob is one served file.
type blob struct {
	body, gz []byte
	etag     string // quoted, strong
	ctype    string
	modified time.Time
}

// NewFeedServer checks the exports against the registered formats and returns the server. Nothing
// is generated until requested.
func NewFeedServer(o FeedOptions) (*FeedServer, error) {
	if o.Produce == nil {
		return nil, errors.New("feed server: no producer")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxDeltas <= 0 {
		o.MaxDeltas = 8
	}
	s := &FeedServer{o: o, log: o.Logger, feeds: map[string]*feed{}}
	var errs []error
	for i, e := range o.Exports {
		f, ok := Lookup(e.Format)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("exports[%d] (%s).format %q: unknown format (want one of %s)", i, e.Name, e.Format, formatNames()))
			continue
		case f.Write == nil && f.WriteDir == nil:
			errs = append(errs, fmt.Errorf("exports[%d] (%s).format %q: the format writes nothing", i, e.Name, e.Format))
			continue
		case s.feeds[e.Name] != nil:
			errs = append(errs, fmt.Errorf("exports[%d].name %q: used twice", i, e.Name))
			continue
		case strings.TrimSpace(e.TLP) != "":
			if t, err := intel.ParseTLP(e.TLP); err != nil || t >= intel.TLPRed {
				errs = append(errs, fmt.Errorf("exports[%d] (%s).tlp %q: want clear, green, amber or amber+strict", i, e.Name, e.TLP))
				continue
			}
		}
		s.feeds[e.Name] = &feed{exp: e, format: f, delta: slices.Contains(DeltaFormats, f.Name) && f.Write != nil,
			variants: map[time.Time]*variant{}}
		s.names = append(s.names, e.Name)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(s.names)
	return s, nil
}

func formatNames() string {
	var n []string
	for _, f := range Formats() {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

// Names returns the feeds' names, sorted.
func (s *FeedServer) Names() []string { return slices.Clone(s.names) }

// Export returns the configuration of the feed named name.
func (s *FeedServer) Export(name string) (config.Export, bool) {
	f, ok := s.feeds[name]
	if !ok {
		return config.Export{}, false
	}
	return f.exp, true
}

// LastReport returns what the last generation of the full feed selected, removed and wrote, and
// when it ran; ok is false before the first successful generation.
func (s *FeedServer) LastReport(name string) (r Report, generated time.Time, ok bool) {
	f, found := s.feeds[name]
	if !found {
		return Report{}, time.Time{}, false
	}
	f.mu.Lock()
	v := f.variants[time.Time{}]
	f.mu.Unlock()
	if v == nil {
		return Report{}, time.Time{}, false
	}
	snap := v.cur.Load()
	if snap == nil || snap.files == nil {
		return Report{}, time.Time{}, false
	}
	return snap.report, snap.generated, true
}

// ParseSince parses a since parameter: an RFC 3339 time, or a duration before now ("90m", "24h",
// "7d").
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("since %.40q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a positive duration (24h, 7d)", s)
	}
	return now.Add(-d).UTC(), nil
}

// ServeFeed serves file of the feed named name: file is "" for a single-file format, a file of the
// directory for a directory format (manifest.json, <uuid>.json, hashes.csv). It handles GET and
// HEAD; the caller has authenticated the request and checked the key may read the feed.
func (s *FeedServer) ServeFeed(w http.ResponseWriter, r *http.Request, name, file string) {
	f, ok := s.feeds[name]
	if !ok {
		feedError(w, http.StatusNotFound, fmt.Sprintf("no feed %q", name))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		feedError(w, http.StatusMethodNotAllowed, "feeds are read with GET or HEAD")
		return
	}
	dir := f.format.WriteDir != nil && f.format.Write == nil
	switch {
	case dir && file == "":
		feedError(w, http.StatusNotFound, fmt.Sprintf("feed %q is a %s directory: fetch manifest.json, the event files and hashes.csv under it", name, f.format.Name))
		return
	case !dir && file != "":
		feedError(w, http.StatusNotFound, fmt.Sprintf("feed %q is one file: no %q under it", name, file))
		return
	}
	var since time.Time
	if q := r.URL.Query().Get("since"); q != "" {
		if !f.delta {
			feedError(w, http.StatusBadRequest, fmt.Sprintf("feed %q (format %s) has no delta form: since applies to %s",
				name, f.format.Name, strings.Join(DeltaFormats, ", ")))
			return
		}
		t, err := ParseSince(q, s.o.Now())
		if err != nil {
			feedError(w, http.StatusBadRequest, err.Error())
			return
		}
		since = t.Truncate(time.Minute)
		if since.IsZero() {
			since = time.Unix(0, 0).UTC() // zero is the full feed's key
		}
	}
	snap := s.snapshot(r.Context(), f, since)
	if snap.files == nil {
		s.log.Error("generating feed", "feed", name, "err", snap.err)
		feedError(w, http.StatusServiceUnavailable, fmt.Sprintf("feed %q could not be generated; try again later", name))
		return
	}
	key := file
	if !dir {
		key = ""
	}
	b := snap.files[key]
	if b == nil {
		feedError(w, http.StatusNotFound, fmt.Sprintf("feed %q has no file %q", name, file))
		return
	}
	serveBlob(w, r, b)
}

// variantOf returns the cached variant for since, creating it (and dropping the oldest delta
// beyond MaxDeltas).
func (s *FeedServer) variantOf(f *feed, since time.Time) *variant {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v := f.variants[since]; v != nil {
		return v
	}
	if !since.IsZero() {
		deltas := 0
		var oldest *variant
		var oldestAt time.Time
		for k, v := range f.variants {
			if k.IsZero() {
				continue
			}
			deltas++
			at := time.Time{}
			if snap := v.cur.Load(); snap != nil {
				at = snap.tried
			}
			if oldest == nil || at.Before(oldestAt) {
				oldest, oldestAt = v, at
			}
		}
		if deltas >= s.o.MaxDeltas && oldest != nil {
			delete(f.variants, oldest.since)
		}
	}
	v := &variant{since: since}
	f.variants[since] = v
	return v
}

// snapshot returns the copy to serve, regenerating it when due. Generation runs without the
// request's cancellation: other requests wait for it or will be served its result.
func (s *FeedServer) snapshot(ctx context.Context, f *feed, since time.Time) *snapshot {
	v := s.variantOf(f, since)
	cur := v.cur.Load()
	if cur != nil && !s.due(f, cur) {
		return cur
	}
	if cur != nil && cur.files != nil {
		// Stale: one request regenerates, the others get the current copy meanwhile.
		if !v.gen.TryLock() {
			return cur
		}
	} else {
		v.gen.Lock() // nothing to serve yet: wait for the generation under way, if any
	}
	defer v.gen.Unlock()
	if latest := v.cur.Load(); latest != cur {
		return latest // generated while this request waited
	}
	next := s.generate(context.WithoutCancel(ctx), f, since, cur)
	v.cur.Store(next)
	return next
}

// due reports whether snap should be regenerated: the data moved and the refresh interval passed
// since the last attempt.
func (s *FeedServer) due(f *feed, snap *snapshot) bool {
	if snap.files == nil {
		return s.retry(f, snap)
	}
	if s.o.Version == nil || s.o.Version() == snap.version {
		return false
	}
	return s.o.Now().Sub(snap.tried) >= f.exp.RefreshInterval()
}

// retry reports whether a failed first generation may be tried again: after the refresh interval.
func (s *FeedServer) retry(f *feed, snap *snapshot) bool {
	return s.o.Now().Sub(snap.tried) >= f.exp.RefreshInterval()
}

// generate produces and writes the feed; on failure it keeps prev's files (when any).
func (s *FeedServer) generate(ctx context.Context, f *feed, since time.Time, prev *snapshot) *snapshot {
	now := s.o.Now().UTC()
	var version int64
	if s.o.Version != nil {
		version = s.o.Version()
	}
	sel := Selection{MinScore: f.exp.MinScore, Types: f.exp.ObservableTypes(), Tags: f.exp.Tags,
		Sources: f.exp.Sources, TLP: f.exp.TLPCeiling(), Max: f.exp.Max, Since: since}
	files, rep, err := s.render(ctx, f, sel, now)
	if err != nil {
		s.log.Error("generating feed", "feed", f.exp.Name, "since", since, "err", err)
		if prev != nil && prev.files != nil {
			failed := *prev
			failed.tried = now // retried after the refresh interval
			return &failed
		}
		return &snapshot{version: version, generated: now, tried: now, err: err}
	}
	next := &snapshot{version: version, generated: now, tried: now, report: rep, files: map[string]*blob{}}
	for name, body := range files {
		if prev != nil && prev.files != nil {
			if old := prev.files[name]; old != nil && bytes.Equal(old.body, body) {
				next.files[name] = old // unchanged: same ETag and Last-Modified
				continue
			}
		}
		b, err := newBlob(body, contentType(f.format, name), now)
		if err != nil {
			s.log.Error("compressing feed", "feed", f.exp.Name, "err", err)
			if prev != nil && prev.files != nil {
				failed := *prev
				failed.tried = now
				return &failed
			}
			return &snapshot{version: version, generated: now, tried: now, err: err}
		}
		next.files[name] = b
	}
	s.log.Info("generated feed", "feed", f.exp.Name, "format", f.format.Name, "since", since,
		"candidates", rep.Candidates, "written", rep.Written, "removed", rep.Removed)
	return next
}

// render produces the entries and writes them: one file under the key "" for a single-file
// format, the directory's files by name otherwise.
func (s *FeedServer) render(ctx context.Context, f *feed, sel Selection, now time.Time) (map[string][]byte, Report, error) {
	entries, rep, err := s.o.Produce(ctx, f.exp.Name, sel, f.format)
	if err != nil {
		return nil, rep, fmt.Errorf("selecting entries: %w", err)
	}
	if s.o.Release != nil {
		defer s.o.Release(f.exp.Name, entries)
	}
	// Defence in depth: nothing above the feed's ceiling is written, whatever the producer returns.
	above := func(e *Entry) bool { return e.TLP > sel.TLP || e.TLP >= intel.TLPRed }
	anyAbove := false
	for i := range entries {
		if above(&entries[i]) {
			anyAbove = true
			break
		}
	}
	if anyAbove {
		kept := make([]Entry, 0, len(entries))
		for i := range entries {
			if e := &entries[i]; above(e) {
				s.log.Error("producer returned an entry above the feed's TLP ceiling; dropped", "feed", f.exp.Name,
					"observable", e.Observable.String(), "tlp", e.TLP.String(), "ceiling", sel.TLP.String())
				continue
			}
			kept = append(kept, entries[i])
		}
		entries = kept
	}
	wo := WriteOptions{Name: f.exp.Name, Generated: now, RPZ: RPZOptions{Origin: f.exp.RPZ.Origin, CNAME: f.exp.RPZ.CNAME}}
	if f.format.Write != nil {
		var buf bytes.Buffer
		if err := f.format.Write(&buf, entries, wo); err != nil {
			return nil, rep, fmt.Errorf("writing %s: %w", f.format.Name, err)
		}
		return map[string][]byte{"": buf.Bytes()}, rep, nil
	}
	dir, err := os.MkdirTemp("", "omen-feed-")
	if err != nil {
		return nil, rep, fmt.Errorf("writing %s: %w", f.format.Name, err)
	}
	defer os.RemoveAll(dir)
	if err := f.format.WriteDir(dir, entries, wo); err != nil {
		return nil, rep, fmt.Errorf("writing %s: %w", f.format.Name, err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, rep, fmt.Errorf("reading %s output: %w", f.format.Name, err)
	}
	files := map[string][]byte{}
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			return nil, rep, fmt.Errorf("reading %s output: %w", f.format.Name, err)
		}
		files[de.Name()] = b
	}
	return files, rep, nil
}

// contentType returns the media type of a feed file.
func contentType(f Format, file string) string {
	switch {
	case strings.HasSuffix(file, ".json"):
		return "application/json"
	case strings.HasSuffix(file, ".csv"):
		return "text/csv; charset=utf-8"
	case f.ContentType != "":
		return f.ContentType
	}
	return "text/plain; charset=utf-8"
}

func newBlob(body []byte, ctype string, modified time.Time) (*blob, error) {
	sum := sha256.Sum256(body)
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &blob{body: body, gz: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:]) + `"`, ctype: ctype,
		modified: modified.UTC().Truncate(time.Second)}, nil
}

// gzipETag is the ETag of the gzip representation: a strong ETag must differ between encodings.
func gzipETag(etag string) string { return strings.TrimSuffix(etag, `"`) + `-gzip"` }

// serveBlob writes b with conditional-request and gzip handling.
func serveBlob(w http.ResponseWriter, r *http.Request, b *blob) {
	h := w.Header()
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Content-Type", b.ctype)
	h.Set("Last-Modified", b.modified.Format(http.TimeFormat))
	body, etag := b.body, b.etag
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		body, etag = b.gz, gzipETag(b.etag)
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagMatch(inm, b.etag) {
			h.Del("Content-Encoding")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !b.modified.After(t) {
			h.Del("Content-Encoding")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// etagMatch reports whether an If-None-Match list names the feed's ETag, in either encoding (weak
// comparison, as RFC 9110 13.1.2 asks for If-None-Match).
func etagMatch(list, etag string) bool {
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if t == etag || t == gzipETag(etag) {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding values accept gzip (a q of 0 refuses it).
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "gzip" && name != "x-gzip" {
				continue
			}
			params = strings.ReplaceAll(strings.ToLower(params), " ", "")
			if q, ok := strings.CutPrefix(params, "q="); ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}

// feedError writes a JSON error.
func feedError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
