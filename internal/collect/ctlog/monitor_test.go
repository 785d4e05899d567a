package ctlog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// testNames are lookalikes of paypal.com and benign names, cycled over the fixture.
var testNames = [][]string{
	{"paypa1.com", "www.paypa1.com"},
	{"xn--pypal-4ve.com"},
	{"paypal-login-secure.com", "*.paypal-login-secure.com"},
	{"PayPal.com.verify-account.top"},
	{"example.org", "www.example.org"},
	{"golang.org"},
	{"mail.example.net", "*.example.net", "example.net"},
}

func nameSets(n int) [][]string {
	out := make([][]string, n)
	for i := range out {
		base := testNames[i%len(testNames)]
		out[i] = make([]string, len(base))
		for j, s := range base {
			// make every set distinct, keeping the lookalike shape
			out[i][j] = strings.Replace(s, ".", fmt.Sprintf("-%d.", i), 1)
		}
	}
	return out
}

type recorder struct {
	mu      sync.Mutex
	got     map[int64]int
	entries map[int64]Entry
	calls   int
	failAt  map[int]bool // Handle calls (1-based) that fail
}

func (r *recorder) handle(ctx context.Context, es []Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failAt[r.calls] {
		return errors.New("handler down")
	}
	if r.got == nil {
		r.got, r.entries = map[int64]int{}, map[int64]Entry{}
	}
	for _, e := range es {
		r.got[e.Index]++
		r.entries[e.Index] = e
	}
	return nil
}

func testClient() *Client {
	return &Client{Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Retries: 8}
}

// Both APIs, a small page size, 500s, short pages, a log that grows while it is read, a failing
// handler and restarts from the saved cursor: every entry is delivered exactly once, with the
// names of its certificate.
func TestMonitorExactlyOnce(t *testing.T) {
	f := newFixture(t, nameSets(300), func(i int) bool { return i%2 == 0 }) // 450 entries: a full tile and a partial one
	for _, tc := range []struct {
		api   API
		setup func(l *fakeLog)
	}{
		{RFC6962, func(l *fakeLog) { l.pageCap = 7 }},
		{Static, func(l *fakeLog) {}},
		{Static, func(l *fakeLog) { l.noPartials = true; l.gzipTiles = true }},
	} {
		t.Run(string(tc.api), func(t *testing.T) {
			fl := &fakeLog{leaves: f.leaves, published: 100, growBy: 37, failEvery: 5}
			tc.setup(fl)
			srv := httptest.NewServer(fl)
			defer srv.Close()
			cur := &MemCursor{}
			rec := &recorder{failAt: map[int]bool{3: true, 4: true, 9: true}}
			cfg := LogConfig{Name: "test", URL: srv.URL, API: tc.api, Start: "0"}
			newMonitor := func() *Monitor {
				return &Monitor{Client: testClient(), Cursor: cur, Handle: rec.handle, PageSize: 10, DedupeWindow: -1}
			}
			m := newMonitor()
			var errs int
			for i := 0; i < 500; i++ {
				if i%3 == 2 {
					m = newMonitor() // a restart: only the cursor survives
				}
				if _, err := m.Sync(t.Context(), cfg); err != nil {
					errs++
				}
				if next, _, _ := cur.Load(t.Context(), "test"); next == int64(len(f.leaves)) {
					break
				}
			}
			if errs == 0 {
				t.Error("no injected fault surfaced")
			}
			if len(rec.got) != len(f.leaves) {
				t.Fatalf("%d entries delivered, want %d", len(rec.got), len(f.leaves))
			}
			for i := range f.leaves {
				e := rec.entries[int64(i)]
				if rec.got[int64(i)] != 1 || !slices.Equal(e.Names, f.names[i]) || e.Precert != f.leaves[i].Precert || e.Log != "test" {
					t.Fatalf("entry %d delivered %d times as %+v, want names %v", i, rec.got[int64(i)], e, f.names[i])
				}
			}
			if tc.api == Static && !fl.noPartials && fl.partialSeen == 0 {
				t.Error("no partial tile read")
			}
		})
	}
}

// A precertificate and its final certificate are delivered once, also when a second log has
// them too.
func TestMonitorDedupe(t *testing.T) {
	f := newFixture(t, nameSets(20), func(i int) bool { return i%4 != 3 })
	a := httptest.NewServer(&fakeLog{leaves: f.leaves, published: len(f.leaves), pageCap: 6})
	defer a.Close()
	b := httptest.NewServer(&fakeLog{leaves: f.leaves, published: len(f.leaves)})
	defer b.Close()
	var mu sync.Mutex
	keys := map[[32]byte]Entry{}
	m := &Monitor{Client: testClient(), PageSize: 4, Handle: func(_ context.Context, es []Entry) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range es {
			if old, dup := keys[e.Key]; dup {
				return fmt.Errorf("%s %d duplicates %s %d", e.Log, e.Index, old.Log, old.Index)
			}
			keys[e.Key] = e
		}
		return nil
	}}
	for _, cfg := range []LogConfig{{Name: "a", URL: a.URL, Start: "0"}, {Name: "b", URL: b.URL, API: Static, Start: "0"}} {
		if _, err := m.Sync(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	if len(keys) != 20 {
		t.Fatalf("%d certificates delivered, want 20", len(keys))
	}
	for _, e := range keys {
		if e.Log != "a" || (e.Precert != (f.leaves[e.Index].Precert)) {
			t.Errorf("delivered %+v", e)
		}
	}
}

// Without a saved cursor a log is followed from its current size ("now"); a configured index
// starts there.
func TestMonitorStart(t *testing.T) {
	f := newFixture(t, nameSets(30), func(int) bool { return false })
	fl := &fakeLog{leaves: f.leaves, published: 10}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	for _, tc := range []struct {
		start string
		first int
	}{{"", 10}, {"now", 10}, {"4", 4}} {
		fl.set(func(l *fakeLog) { l.published = 10 })
		rec := &recorder{}
		m := &Monitor{Client: testClient(), Handle: rec.handle}
		cfg := LogConfig{URL: srv.URL, Start: tc.start}
		if _, err := m.Sync(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		fl.set(func(l *fakeLog) { l.published = 30 })
		if n, err := m.Sync(t.Context(), cfg); err != nil || n != 20 {
			t.Fatalf("start %q: %d, %v", tc.start, n, err)
		}
		if len(rec.got) != 30-tc.first || rec.got[int64(tc.first)] != 1 {
			t.Errorf("start %q: delivered %v", tc.start, rec.got)
		}
	}
}

// Run follows several logs until its context ends.
func TestMonitorRun(t *testing.T) {
	f := newFixture(t, nameSets(40), func(i int) bool { return false })
	a := httptest.NewServer(&fakeLog{leaves: f.leaves, published: 5, growBy: 3, pageCap: 4})
	defer a.Close()
	b := httptest.NewServer(&fakeLog{leaves: f.leaves, published: 5, growBy: 3})
	defer b.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	got := map[string]int{}
	m := &Monitor{Client: testClient(), Poll: time.Millisecond, ErrorWait: time.Millisecond, DedupeWindow: -1,
		Logs: []LogConfig{{Name: "a", URL: a.URL, Start: "0"}, {Name: "b", URL: b.URL, API: Static, Start: "0"}},
		Handle: func(_ context.Context, es []Entry) error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range es {
				got[e.Log]++
			}
			if got["a"] == 40 && got["b"] == 40 {
				cancel()
			}
			return nil
		}}
	if err := m.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if got["a"] != 40 || got["b"] != 40 {
		t.Errorf("delivered %v", got)
	}
	bad := &Monitor{Logs: []LogConfig{{URL: "ftp://x"}}, Handle: func(context.Context, []Entry) error { return nil }}
	if err := bad.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "url must be http") {
		t.Errorf("bad config: %v", err)
	}
}

func TestClientRetries(t *testing.T) {
	f := newFixture(t, nameSets(3), func(int) bool { return false })
	fl := &fakeLog{leaves: f.leaves, published: 3}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	cfg := LogConfig{URL: srv.URL}
	c := testClient()

	fl.set(func(l *fakeLog) { l.fail, l.tooMany = 3, true })
	if n, err := c.TreeSize(t.Context(), cfg); err != nil || n != 3 {
		t.Errorf("after three 429s: %d, %v", n, err)
	}
	c.Retries = 2
	fl.set(func(l *fakeLog) { l.fail, l.tooMany, l.requests = 5, false, 0 })
	var he *HTTPError
	if _, err := c.TreeSize(t.Context(), cfg); !errors.As(err, &he) || he.Status != 500 || fl.requests != 3 {
		t.Errorf("after 500s: %v, %d requests", err, fl.requests)
	}
	fl.set(func(l *fakeLog) { l.fail, l.requests = 0, 0 })
	if _, err := c.TreeSize(t.Context(), LogConfig{URL: srv.URL + "/nolog"}); !errors.As(err, &he) || he.Status != 404 || fl.requests != 1 {
		t.Errorf("404: %v, %d requests (a 404 is not retried)", err, fl.requests)
	}
	if _, err := c.Entries(t.Context(), cfg, 3, 3, 10); err == nil {
		t.Error("entries past the tree size: no error")
	}
}

// A log answering with garbage: clear errors naming the log and position, and a bad entry skipped
// without stopping the log.
func TestMonitorBadLog(t *testing.T) {
	f := newFixture(t, nameSets(3), func(int) bool { return false })
	leaves := slices.Clone(f.leaves)
	leaves[1].Cert = []byte{0x30, 0x00} // not a certificate
	fl := &fakeLog{leaves: leaves, published: 3}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	rec := &recorder{}
	m := &Monitor{Client: testClient(), Handle: rec.handle}
	if n, err := m.Sync(t.Context(), LogConfig{URL: srv.URL, Start: "0"}); err != nil || n != 3 || len(rec.got) != 2 || rec.got[1] != 0 {
		t.Errorf("%d, %v, delivered %v", n, err, rec.got)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ct/v1/get-sth":
			w.Write([]byte(`{"tree_size":5}`))
		case "/checkpoint":
			w.Write([]byte("origin\n5\nAAAA\n\n"))
		default:
			w.Write([]byte(`{"entries":[{"leaf_input":"AAE=","extra_data":""}]}`))
		}
	}))
	defer bad.Close()
	c := testClient()
	raws, err := c.Entries(t.Context(), LogConfig{Name: "bad", URL: bad.URL}, 2, 5, 10)
	if err != nil || len(raws) != 1 || raws[0].Err == nil || !strings.Contains(raws[0].Err.Error(), "bad entry 2: leaf_input") {
		t.Errorf("%v, %+v", err, raws)
	}
	if _, err := c.TreeSize(t.Context(), LogConfig{URL: bad.URL, API: Static}); err == nil || !strings.Contains(err.Error(), "checkpoint line 3") {
		t.Errorf("checkpoint: %v", err)
	}
}

// StoreCursor keeps the cursors in the source state: a new cursor over the same store resumes.
func TestStoreCursor(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.PutSource(ctx, intel.Source{Name: "ct", Kind: "ctlog", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	c := &StoreCursor{Store: st, Source: "ct"}
	if _, found, err := c.Load(ctx, "a"); err != nil || found {
		t.Fatalf("empty: %v %v", found, err)
	}
	if err := c.Save(ctx, "a", 42); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(ctx, "b", 7); err != nil {
		t.Fatal(err)
	}
	c2 := &StoreCursor{Store: st, Source: "ct"}
	if n, found, err := c2.Load(ctx, "a"); err != nil || !found || n != 42 {
		t.Errorf("a: %d %v %v", n, found, err)
	}
	if n, _, _ := c2.Load(ctx, "b"); n != 7 {
		t.Errorf("b: %d", n)
	}
	missing := &StoreCursor{Store: st, Source: "nope"}
	if err := missing.Save(ctx, "a", 1); err == nil {
		t.Error("saving to an unknown source: no error")
	}

	// The monitor resumes from the store after a restart.
	f := newFixture(t, nameSets(12), func(int) bool { return false })
	fl := &fakeLog{leaves: f.leaves, published: 5}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	rec := &recorder{}
	cfg := LogConfig{Name: "fake", URL: srv.URL, API: Static, Start: "0"}
	if _, err := (&Monitor{Client: testClient(), Cursor: &StoreCursor{Store: st, Source: "ct"}, Handle: rec.handle}).Sync(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	fl.set(func(l *fakeLog) { l.published = 12 })
	if _, err := (&Monitor{Client: testClient(), Cursor: &StoreCursor{Store: st, Source: "ct"}, Handle: rec.handle}).Sync(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 12 {
		t.Errorf("delivered %v", rec.got)
	}
	for i, n := range rec.got {
		if n != 1 {
			t.Errorf("entry %d delivered %d times", i, n)
		}
	}
}

// A partial data tile that is gone (the log has filled the tile since its checkpoint) is replaced
// by the full tile; gzip-compressed tiles are read without Content-Encoding.
func TestStaticPartialFallback(t *testing.T) {
	f := newFixture(t, nameSets(300), func(int) bool { return false })
	fl := &fakeLog{leaves: f.leaves, published: 300, noPartials: true, gzipTiles: true}
	srv := httptest.NewServer(fl)
	defer srv.Close()
	raws, err := testClient().Entries(t.Context(), LogConfig{URL: srv.URL, API: Static}, 10, 200, 0)
	if err != nil || len(raws) != TileWidth-10 || raws[0].Index != 10 || fl.partialSeen != 0 {
		t.Fatalf("%d entries, %v, %d partial tiles", len(raws), err, fl.partialSeen)
	}
	e, err := Decode(raws[0].Leaf)
	if err != nil || !slices.Equal(e.Names, f.names[10]) {
		t.Errorf("%+v, %v", e, err)
	}
	// The partial tile of the tree's current size is read while the tile is not full.
	raws, err = testClient().Entries(t.Context(), LogConfig{URL: srv.URL, API: Static}, 256, 300, 0)
	if err != nil || len(raws) != 44 || fl.partialSeen != 1 {
		t.Errorf("%d entries, %v, %d partial tiles", len(raws), err, fl.partialSeen)
	}
}
