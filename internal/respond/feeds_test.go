package respond

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
)

// feedTestFormat is a single-file format of the feed tests: one value per line.
const feedTestFormat = "feedtest-lines"

func init() {
	Register(Format{Name: feedTestFormat, Description: "test: one value per line", ContentType: "text/plain; charset=utf-8",
		Write: func(w io.Writer, entries []Entry, o WriteOptions) error {
			for _, e := range entries {
				if _, err := fmt.Fprintln(w, e.Observable.Value); err != nil {
					return err
				}
			}
			return nil
		}})
	DeltaFormats = append(DeltaFormats, feedTestFormat)
}

// feedRig is a FeedServer with a settable clock, data version and entries, counting producer calls.
type feedRig struct {
	mu      sync.Mutex
	now     time.Time
	version int64
	entries []Entry
	fail    error
	calls   int
	sels    []Selection
	fs      *FeedServer
}

func newFeedRig(t *testing.T, exports ...config.Export) *feedRig {
	t.Helper()
	rig := &feedRig{now: time.Date(2026, 11, 2, 10, 0, 30, 0, time.UTC), version: 1}
	rig.entries = []Entry{
		{Observable: intel.Observable{Type: intel.IPv4, Value: "198.51.100.7"}, Score: 90, TLP: intel.TLPClear,
			LastSeen: rig.now.Add(-48 * time.Hour)},
		{Observable: intel.Observable{Type: intel.IPv4, Value: "203.0.113.9"}, Score: 80, TLP: intel.TLPGreen,
			LastSeen: rig.now.Add(-time.Hour)},
	}
	fs, err := NewFeedServer(FeedOptions{
		Exports: exports,
		Produce: func(ctx context.Context, name string, sel Selection, f Format) ([]Entry, Report, error) {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rig.calls++
			rig.sels = append(rig.sels, sel)
			if rig.fail != nil {
				return nil, Report{}, rig.fail
			}
			var out []Entry
			for _, e := range rig.entries {
				if sel.Since.IsZero() || !e.LastSeen.Before(sel.Since) {
					out = append(out, e)
				}
			}
			return out, Report{Candidates: len(rig.entries), Written: len(out)}, nil
		},
		Version: func() int64 { rig.mu.Lock(); defer rig.mu.Unlock(); return rig.version },
		Now:     func() time.Time { rig.mu.Lock(); defer rig.mu.Unlock(); return rig.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	rig.fs = fs
	return rig
}

func (r *feedRig) producerCalls() int { r.mu.Lock(); defer r.mu.Unlock(); return r.calls }
func (r *feedRig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}
func (r *feedRig) change(add Entry) {
	r.mu.Lock()
	r.version++
	r.entries = append(r.entries, add)
	r.mu.Unlock()
}

// get serves one request; path is "name" or "name/file", with an optional query.
func (r *feedRig) get(t *testing.T, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/feeds/"+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	name, file, _ := strings.Cut(strings.SplitN(path, "?", 2)[0], "/")
	w := httptest.NewRecorder()
	r.fs.ServeFeed(w, req, name, file)
	return w
}

func TestFeedServerCachesAndRegeneratesOnDataChange(t *testing.T) {
	rig := newFeedRig(t, config.Export{Name: "ips", Format: feedTestFormat, Refresh: config.Duration(5 * time.Minute)})
	w := rig.get(t, "ips")
	if w.Code != 200 || w.Body.String() != "198.51.100.7\n203.0.113.9\n" {
		t.Fatalf("first GET: %d %q", w.Code, w.Body)
	}
	etag := w.Header().Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) != 66 {
		t.Errorf("ETag %q: want a quoted sha256", etag)
	}
	for h, want := range map[string]string{"Content-Type": "text/plain; charset=utf-8", "Vary": "Accept-Encoding",
		"Last-Modified": "Mon, 02 Nov 2026 10:00:30 GMT", "Content-Length": "25"} {
		if got := w.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	for range 3 {
		if w := rig.get(t, "ips"); w.Code != 200 || w.Header().Get("ETag") != etag {
			t.Fatalf("repeat GET: %d %s", w.Code, w.Header().Get("ETag"))
		}
	}
	if n := rig.producerCalls(); n != 1 {
		t.Fatalf("producer called %d times for 4 requests with no data change, want 1", n)
	}
	// Time passes without a data change: no regeneration.
	rig.advance(time.Hour)
	rig.get(t, "ips")
	if n := rig.producerCalls(); n != 1 {
		t.Fatalf("producer called %d times after time passed without data change, want 1", n)
	}
	// Data change, within the refresh interval of the last generation: not yet.
	rig.change(Entry{Observable: intel.Observable{Type: intel.IPv4, Value: "192.0.2.66"}, Score: 70,
		LastSeen: time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC)})
	if w := rig.get(t, "ips"); rig.producerCalls() != 2 || !strings.Contains(w.Body.String(), "192.0.2.66") {
		t.Fatalf("data changed an hour after the last generation: producer calls %d, body %q", rig.producerCalls(), w.Body)
	}
	etag2 := rig.get(t, "ips").Header().Get("ETag")
	if etag2 == etag {
		t.Error("the ETag did not change with the content")
	}
	rig.change(Entry{Observable: intel.Observable{Type: intel.IPv4, Value: "192.0.2.67"}, Score: 70})
	rig.advance(4 * time.Minute)
	if w := rig.get(t, "ips"); rig.producerCalls() != 2 || strings.Contains(w.Body.String(), "192.0.2.67") {
		t.Fatalf("regenerated within the refresh interval: calls %d", rig.producerCalls())
	}
	rig.advance(time.Minute)
	if w := rig.get(t, "ips"); rig.producerCalls() != 3 || !strings.Contains(w.Body.String(), "192.0.2.67") {
		t.Fatalf("not regenerated after the refresh interval: calls %d, body %q", rig.producerCalls(), w.Body)
	}
	// The selection comes from the export.
	sel := rig.sels[0]
	if sel.TLP != intel.TLPAmber || !sel.Since.IsZero() {
		t.Errorf("selection %+v: want the default amber ceiling and no since", sel)
	}
}

func TestFeedServerUnchangedBytesKeepETagAndLastModified(t *testing.T) {
	rig := newFeedRig(t, config.Export{Name: "ips", Format: feedTestFormat})
	w1 := rig.get(t, "ips")
	rig.mu.Lock()
	rig.version++ // a change that does not touch this feed
	rig.mu.Unlock()
	rig.advance(2 * time.Minute)
	w2 := rig.get(t, "ips")
	if rig.producerCalls() != 2 {
		t.Fatalf("producer calls %d, want 2", rig.producerCalls())
	}
	if w1.Header().Get("ETag") != w2.Header().Get("ETag") || w1.Header().Get("Last-Modified") != w2.Header().Get("Last-Modified") {
		t.Errorf("identical bytes changed validators: %v vs %v", w1.Header(), w2.Header())
	}
}

func TestFeedServerConditionalAndGzip(t *testing.T) {
	rig := newFeedRig(t, config.Export{Name: "ips", Format: feedTestFormat, TLP: "green", MinScore: 50, Max: 10,
		Types: []string{"ipv4"}})
	w := rig.get(t, "ips")
	etag, lm := w.Header().Get("ETag"), w.Header().Get("Last-Modified")
	plain := w.Body.String()

	if w := rig.get(t, "ips", "If-None-Match", etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("If-None-Match with the ETag: %d, %d bytes", w.Code, w.Body.Len())
	}
	if w := rig.get(t, "ips", "If-None-Match", `"other", W/`+etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match list with a weak form of the ETag: %d", w.Code)
	}
	if w := rig.get(t, "ips", "If-None-Match", `"other"`); w.Code != 200 || w.Body.String() != plain {
		t.Errorf("If-None-Match with another ETag: %d", w.Code)
	}
	if w := rig.get(t, "ips", "If-Modified-Since", lm); w.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since Last-Modified: %d", w.Code)
	}

	w = rig.get(t, "ips", "Accept-Encoding", "br, gzip;q=0.8")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip not served: %v", w.Header())
	}
	zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || string(got) != plain {
		t.Fatalf("gzip body %q (%v), want %q", got, err, plain)
	}
	gzTag := w.Header().Get("ETag")
	if gzTag == etag {
		t.Error("the gzip representation has the identity ETag")
	}
	for _, tag := range []string{gzTag, etag} {
		if w := rig.get(t, "ips", "Accept-Encoding", "gzip", "If-None-Match", tag); w.Code != http.StatusNotModified ||
			w.Header().Get("Content-Encoding") != "" {
			t.Errorf("gzip If-None-Match %s: %d %v", tag, w.Code, w.Header())
		}
	}
	if w := rig.get(t, "ips", "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
	if n := rig.producerCalls(); n != 1 {
		t.Errorf("producer called %d times, want 1", n)
	}
	sel := rig.sels[0]
	if sel.TLP != intel.TLPGreen || sel.MinScore != 50 || sel.Max != 10 || len(sel.Types) != 1 || sel.Types[0] != intel.IPv4 {
		t.Errorf("selection %+v does not follow the export", sel)
	}

	req := httptest.NewRequest(http.MethodHead, "/feeds/ips", nil)
	hw := httptest.NewRecorder()
	rig.fs.ServeFeed(hw, req, "ips", "")
	if hw.Code != 200 || hw.Body.Len() != 0 || hw.Header().Get("Content-Length") != "25" {
		t.Errorf("HEAD: %d, %d bytes, length %s", hw.Code, hw.Body.Len(), hw.Header().Get("Content-Length"))
	}
	req = httptest.NewRequest(http.MethodPost, "/feeds/ips", nil)
	pw := httptest.NewRecorder()
	rig.fs.ServeFeed(pw, req, "ips", "")
	if pw.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", pw.Code)
	}
}

func TestFeedServerSince(t *testing.T) {
	rig := newFeedRig(t, config.Export{Name: "ips", Format: feedTestFormat},
		config.Export{Name: "misp", Format: MISPFeedFormat})
	full := rig.get(t, "ips")
	w := rig.get(t, "ips?since=2026-11-02T08:00:59Z")
	if w.Code != 200 || w.Body.String() != "203.0.113.9\n" {
		t.Fatalf("since: %d %q", w.Code, w.Body)
	}
	if w.Header().Get("ETag") == full.Header().Get("ETag") {
		t.Error("the delta has the full feed's ETag")
	}
	if got := rig.sels[1].Since; !got.Equal(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("since %v: want it rounded down to the minute", got)
	}
	// Same minute, relative form: served from the cache.
	rig.get(t, "ips?since=2h0m30s")
	rig.get(t, "ips?since=2026-11-02T08:00:01Z")
	if n := rig.producerCalls(); n != 2 {
		t.Errorf("producer calls %d, want 2 (the deltas of one minute share a copy)", n)
	}
	if w := rig.get(t, "ips?since=3d"); w.Code != 200 || w.Body.String() != full.Body.String() {
		t.Errorf("since=3d: %d %q", w.Code, w.Body)
	}
	for _, q := range []string{"yesterday", "-5m", "0s", "2026-13-01T00:00:00Z"} {
		if w := rig.get(t, "ips?since="+q); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "since") {
			t.Errorf("since=%s: %d %s", q, w.Code, w.Body)
		}
	}
	if w := rig.get(t, "misp/manifest.json?since=1h"); w.Code != http.StatusBadRequest {
		t.Errorf("since on a misp-feed: %d", w.Code)
	}
	// The delta cache is capped.
	for i := range 20 {
		rig.get(t, fmt.Sprintf("ips?since=%dm", 10+i))
	}
	rig.fs.feeds["ips"].mu.Lock()
	n := len(rig.fs.feeds["ips"].variants)
	rig.fs.feeds["ips"].mu.Unlock()
	if n > 9 {
		t.Errorf("%d cached variants, want at most 1 + MaxDeltas (8)", n)
	}
}

func TestFeedServerDirectoryFormat(t *testing.T) {
	rig := newFeedRig(t, config.Export{Name: "misp", Format: MISPFeedFormat})
	w := rig.get(t, "misp/manifest.json")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("manifest: %d %v", w.Code, w.Header())
	}
	var manifest map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &manifest); err != nil || len(manifest) != 2 {
		t.Fatalf("manifest %s: %v", w.Body, err)
	}
	for id := range manifest {
		if w := rig.get(t, "misp/"+id+".json"); w.Code != 200 || !strings.Contains(w.Body.String(), `"Event"`) {
			t.Errorf("event %s: %d", id, w.Code)
		}
	}
	if w := rig.get(t, "misp/hashes.csv"); w.Code != 200 || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		strings.Count(w.Body.String(), "\n") != 2 {
		t.Errorf("hashes.csv: %d %v %q", w.Code, w.Header(), w.Body)
	}
	for _, p := range []string{"misp", "misp/nope.json", "misp/../manifest.json", "nope"} {
		if w := rig.get(t, p); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
	if n := rig.producerCalls(); n != 1 {
		t.Errorf("producer called %d times for one directory, want 1", n)
	}
}

func TestFeedServerFailures(t *testing.T) {
	rig := newFeedRig(t, config.Export{Name: "ips", Format: feedTestFormat})
	rig.fail = errors.New("store down")
	if w := rig.get(t, "ips"); w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "store down") {
		t.Fatalf("failed first generation: %d %s", w.Code, w.Body)
	}
	rig.get(t, "ips")
	if n := rig.producerCalls(); n != 1 {
		t.Errorf("failed generation retried at once: %d calls", n)
	}
	rig.mu.Lock()
	rig.fail = nil
	rig.mu.Unlock()
	rig.advance(time.Minute)
	w := rig.get(t, "ips")
	if w.Code != 200 {
		t.Fatalf("retry after the refresh interval: %d", w.Code)
	}
	// A failed regeneration keeps serving the last good copy.
	rig.mu.Lock()
	rig.fail = errors.New("store down")
	rig.mu.Unlock()
	rig.change(Entry{Observable: intel.Observable{Type: intel.IPv4, Value: "192.0.2.1"}})
	rig.advance(time.Minute)
	if w2 := rig.get(t, "ips"); w2.Code != 200 || w2.Body.String() != w.Body.String() {
		t.Errorf("failed regeneration: %d %q", w2.Code, w2.Body)
	}
	if _, _, ok := rig.fs.LastReport("ips"); !ok {
		t.Error("no last report")
	}
}

func TestFeedServerSingleFlight(t *testing.T) {
	rig := newFeedRig(t, config.Export{Name: "ips", Format: feedTestFormat})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if w := rig.get(t, "ips"); w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		})
	}
	wg.Wait()
	if n := rig.producerCalls(); n != 1 {
		t.Errorf("16 concurrent first requests called the producer %d times, want 1", n)
	}
}

func TestNewFeedServerRefusesUnknownFormats(t *testing.T) {
	_, err := NewFeedServer(FeedOptions{
		Exports: []config.Export{{Name: "a", Format: "no-such-format"}, {Name: "b", Format: feedTestFormat},
			{Name: "b", Format: feedTestFormat}, {Name: "c", Format: feedTestFormat, TLP: "red"}},
		Produce: func(context.Context, string, Selection, Format) ([]Entry, Report, error) { return nil, Report{}, nil },
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`exports[0] (a).format "no-such-format"`, `exports[2].name "b": used twice`, "exports[3] (c).tlp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := NewFeedServer(FeedOptions{}); err == nil {
		t.Error("no error without a producer")
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-11-01T00:00:00Z":      time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"2026-11-01T02:00:00+02:00": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		"90m":                       now.Add(-90 * time.Minute),
		"1d":                        now.Add(-24 * time.Hour),
	} {
		got, err := ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "now", "-1h", "0", "2026-11-01", "1e400h"} {
		if _, err := ParseSince(in, now); err == nil {
			t.Errorf("ParseSince(%q): no error", in)
		}
	}
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"2026-11-01T00:00:00Z", "2026-11-01T02:00:00.5+02:00", "90m", "7d", "24h", "-1h", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s, now)
		if err != nil && !strings.Contains(err.Error(), "since") {
			t.Errorf("error %q does not name the parameter", err)
		}
		if err == nil && got.Location() != time.UTC {
			t.Errorf("since %v not in UTC", got)
		}
	})
}

func TestAcceptsGzipAndETagMatch(t *testing.T) {
	for in, want := range map[string]bool{"gzip": true, "GZIP": true, "deflate, gzip;q=1.0": true, "gzip;q=0": false,
		"gzip; q=0.000": false, "identity": false, "": false, "x-gzip": true, "*": false} {
		if got := acceptsGzip([]string{in}); got != want {
			t.Errorf("acceptsGzip(%q) = %v", in, got)
		}
	}
	if !etagMatch("*", `"a"`) || !etagMatch(`"b", "a-gzip"`, `"a"`) || etagMatch(`"ab"`, `"a"`) {
		t.Error("etagMatch")
	}
}

func TestFeedServerDropsEntriesAboveTheCeiling(t *testing.T) {
	rig := newFeedRig(t, config.Export{Name: "ips", Format: feedTestFormat, TLP: "clear"})
	rig.entries = append(rig.entries,
		Entry{Observable: intel.Observable{Type: intel.IPv4, Value: "192.0.2.99"}, TLP: intel.TLPRed},
		Entry{Observable: intel.Observable{Type: intel.IPv4, Value: "192.0.2.98"}, TLP: intel.TLPAmber})
	if w := rig.get(t, "ips"); w.Code != 200 || w.Body.String() != "198.51.100.7\n" {
		t.Errorf("a clear feed served %q", w.Body)
	}
}
