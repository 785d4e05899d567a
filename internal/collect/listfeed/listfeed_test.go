package listfeed_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/fetch"
	_ "github.com/omen-tip/omen/internal/collect/listfeed"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// feed serves the genuine Feodo Tracker CSV, or whatever the test switches it to.
type feed struct {
	handler atomic.Pointer[http.HandlerFunc]
	hits    atomic.Int32
}

func (f *feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	(*f.handler.Load())(w, r)
}

func (f *feed) set(h http.HandlerFunc) { f.handler.Store(&h) }

// body serves b with an ETag of its content, answering 304 to a conditional GET for the same.
func body(b []byte) http.HandlerFunc {
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(b))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(b)
	}
}

func setup(t *testing.T) (*feed, *collect.Runner, config.Source, []byte) {
	t.Helper()
	genuine, err := os.ReadFile("testdata/feodo-ipblocklist.csv")
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{}
	f.set(body(genuine))
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cl, err := fetch.New(fetch.Options{Timeout: 2 * time.Second, Retries: 2, Backoff: time.Millisecond, MaxBytes: 64 << 10, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := &collect.Runner{Store: st, Fetch: cl, Importer: &ingest.Importer{Store: st}}
	src := config.Source{Name: "feodotracker", Kind: "list", URL: srv.URL + "/ipblocklist.csv", Interval: config.Duration(time.Hour),
		Reliability: 'B', Confidence: 90, TLP: intel.TLPClear, Format: "csv", ThreatType: "c2"}
	return f, r, src, genuine
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// Every broken-server case ends with the right health, the right counts and the earlier data intact.
func TestBrokenFeeds(t *testing.T) {
	_, _, _, genuine := setup(t)
	lines := strings.SplitAfter(string(genuine), "\n")
	shrunk := strings.Join(lines[:9], "") + strings.Join(lines[9:12], "") // header and 3 of 28 rows: ~10%
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, "500"},
		{"429", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", 429)
		}, "429"},
		{"never answers", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, "deadline"},
		{"truncated gzip", func(w http.ResponseWriter, r *http.Request) {
			b := gz(genuine)
			w.Write(b[:len(b)/2])
		}, "unexpected EOF"},
		{"over the size cap", func(w http.ResponseWriter, r *http.Request) {
			w.Write(bytes.Repeat([]byte("1.2.3.4\n"), 20000))
		}, "limit"},
		{"HTML instead of CSV", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>Back soon</body></html>\n"))
		}, "HTML page"},
		{"shrunk to 10%", body([]byte(shrunk)), "down from 28"},
		{"garbage lines", body([]byte(strings.Join(lines[:9], "") + strings.Repeat("\"x\",\"not an ip\",\"1\",\"online\",\"2024-01-01\",\"y\"\n", 30) + strings.Join(lines[9:], ""))), "unparsable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, r, src, _ := setup(t)
			ctx := t.Context()
			if _, err := r.Run(ctx, src); err != nil {
				t.Fatalf("good run: %v", err)
			}
			good, _ := r.Store.Source(ctx, src.Name)
			if good.Health() != intel.HealthOK || good.GoodRecords != 28 || good.LastStats.New != 28 {
				t.Fatalf("after the good run: %+v", good)
			}
			f.set(tc.handler)
			_, err := r.Run(ctx, src)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("broken run: %v, want an error containing %q", err, tc.wantErr)
			}
			s, _ := r.Store.Source(ctx, src.Name)
			if s.Health() != intel.HealthDegraded || s.LastError == "" || !s.LastSuccess.Equal(good.LastSuccess) || s.GoodRecords != 28 {
				t.Errorf("after the broken run: health %s, error %q, good records %d", s.Health(), s.LastError, s.GoodRecords)
			}
			ins, err := r.Store.Indicators(ctx, []intel.Observable{{Type: intel.IPv4, Value: "192.9.135.73"}, {Type: intel.IPv4, Value: "172.233.221.61"}})
			if err != nil || len(ins) != 2 || ins[0].Reports[0].Source != src.Name {
				t.Errorf("earlier data: %+v %v", ins, err)
			}
			st, _ := r.Store.Stats(ctx)
			if st.Indicators != 28 {
				t.Errorf("%d indicators after a rejected run, want the 28 of the good one", st.Indicators)
			}
			// The feed comes back: the source is healthy again.
			f.set(body(genuineOf(t)))
			if _, err := r.Run(ctx, src); err != nil {
				t.Fatalf("recovery run: %v", err)
			}
			if s, _ := r.Store.Source(ctx, src.Name); s.Health() != intel.HealthOK {
				t.Errorf("after recovery: %s %q", s.Health(), s.LastError)
			}
		})
	}
}

func genuineOf(t *testing.T) []byte {
	b, err := os.ReadFile("testdata/feodo-ipblocklist.csv")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A second run of an unchanged feed is a conditional GET answered 304: nothing is parsed or written.
func TestNotModified(t *testing.T) {
	f, r, src, _ := setup(t)
	ctx := t.Context()
	if _, err := r.Run(ctx, src); err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(ctx, src)
	if err != nil || !run.Stats.NotModified || run.Stats.New != 0 {
		t.Fatalf("second run: %+v %v", run, err)
	}
	s, _ := r.Store.Source(ctx, src.Name)
	if s.Health() != intel.HealthOK || s.GoodRecords != 28 || f.hits.Load() != 2 {
		t.Errorf("source %+v, %d hits", s, f.hits.Load())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, src := range []config.Source{
		{Name: "a", Kind: "list", URL: "http://127.0.0.1/", Format: "xml"},
		{Name: "b", Kind: "list", URL: "http://127.0.0.1/", Type: "fish"},
	} {
		if _, err := collect.New(src); err == nil {
			t.Errorf("%+v: no error", src)
		}
	}
}
