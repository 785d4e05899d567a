package taxii_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/collect/taxii"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/stix"
)

const (
	srcName = "taxii-test"
	authEnv = "OMEN_TEST_TAXII_AUTH"
)

// sink is a fake of the STIX importer: it keeps each object version once (by id and modified, as
// the store does) and counts like the importer.
type sink struct {
	mu     sync.Mutex
	pages  [][]json.RawMessage
	held   map[string]bool
	err    error
	reject bool // reject every object
}

func (s *sink) objects(_ context.Context, objs []json.RawMessage) (stix.Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = map[string]bool{}
	}
	n := stix.Counts{Objects: len(objs)}
	if s.err != nil {
		return n, s.err
	}
	s.pages = append(s.pages, objs)
	for _, o := range objs {
		var h struct{ ID, Created, Modified string }
		if s.reject || json.Unmarshal(o, &h) != nil || h.ID == "" {
			n.Rejected++
			continue
		}
		key := h.ID + "|" + h.Modified + "|" + h.Created
		if s.held[key] {
			n.Unchanged++
			continue
		}
		s.held[key] = true
		n.Stored++
	}
	return n, nil
}

// ids lists the ids of the objects received, in order.
func (s *sink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.pages {
		for _, o := range p {
			var h struct{ ID string }
			json.Unmarshal(o, &h)
			out = append(out, h.ID)
		}
	}
	return out
}

func (s *sink) pageCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pages)
}

// fast are options for tests: short waits, few attempts.
func fast(s *sink) taxii.Options {
	o := taxii.Options{Attempts: 3, Backoff: time.Millisecond, MaxRetryAfter: 2 * time.Second}
	if s != nil {
		o.Sink = s.objects
	}
	return o
}

func source(srv *server) config.Source {
	return config.Source{Name: srcName, Kind: "taxii", URL: srv.URL + collPath, Confidence: 70,
		TLP: intel.TLPGreen, Timeout: config.Duration(5 * time.Second)}
}

// harness runs one collector the way the runner does: the state of a good run is kept.
type harness struct {
	c   *taxii.Collector
	env *collect.Env
	log *bytes.Buffer
}

func newHarness(t *testing.T, src config.Source, o taxii.Options) *harness {
	t.Helper()
	c, err := taxii.NewCollector(src, o)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &harness{c: c, env: &collect.Env{Source: src, Logger: log, Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}, log: &buf}
}

func (h *harness) run(t *testing.T) (collect.Result, error) {
	t.Helper()
	res, err := h.c.Collect(t.Context(), h.env)
	if err == nil {
		h.env.State = res.State
	}
	return res, err
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// cursorOf reads the added_after a state holds.
func cursorOf(t *testing.T, st []byte) string {
	t.Helper()
	var s struct {
		URL        string `json:"url"`
		AddedAfter string `json:"added_after"`
	}
	if err := json.Unmarshal(st, &s); err != nil {
		t.Fatalf("state %q: %v", st, err)
	}
	return s.AddedAfter
}

func query(t *testing.T, r request) url.Values {
	t.Helper()
	q, err := url.ParseQuery(r.query)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// newObject is a constructed indicator the server adds after the first run (the spec example
// indicator of the TAXII client tests, with a new id).
func newObject(t *testing.T) entry {
	t.Helper()
	b, err := os.ReadFile("testdata/stix-object.json")
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	o["id"] = "indicator--0b2e4c1a-7d3f-4f6e-9a51-2c8d7e6f5a41"
	raw, _ := json.Marshal(o)
	return entry{id: o["id"].(string), version: o["modified"].(string), added: "2018-01-01T00:00:00.000000Z", raw: raw}
}

// Three pages through next/more; the cursor saved by the run is the added_after of the next.
func TestCollectPages(t *testing.T) {
	srv := newServer(t)
	s := &sink{}
	o := fast(s)
	o.PageSize = 3
	h := newHarness(t, source(srv), o)

	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 8 || res.New != 8 || res.Updated != 0 || res.Rejected != 0 || res.Fetched == 0 {
		t.Errorf("first run = %+v", res)
	}
	if c := cursorOf(t, res.State); c != lastAdded {
		t.Errorf("cursor = %q, want %q", c, lastAdded)
	}
	reqs := srv.seen()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3: %+v", len(reqs), reqs)
	}
	if reqs[0].query != "limit=3&match%5Bversion%5D=all" { // every version, not the last only
		t.Errorf("first query = %q", reqs[0].query)
	}
	for i, want := range []string{"", "tok-3", "tok-6"} {
		q := query(t, reqs[i])
		if q.Get("next") != want || q.Get("limit") != "3" || q.Has("added_after") {
			t.Errorf("request %d: query %q", i+1, reqs[i].query)
		}
		if reqs[i].accept != taxii.MediaType || reqs[i].ua != taxii.DefaultUserAgent || reqs[i].auth != "" {
			t.Errorf("request %d: headers %+v", i+1, reqs[i])
		}
	}
	var want []string
	for _, e := range srv.objs {
		want = append(want, e.id)
	}
	if got := s.ids(); strings.Join(got, " ") != strings.Join(want, " ") || s.pageCount() != 3 {
		t.Errorf("sink got %d pages, ids %v, want %v", s.pageCount(), got, want)
	}

	// The next run asks only for what was added since: nothing.
	srv.reset()
	res, err = h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	reqs = srv.seen()
	if len(reqs) != 1 || query(t, reqs[0]).Get("added_after") != lastAdded {
		t.Errorf("second run requests = %+v", reqs)
	}
	if res.Records != 0 || res.New != 0 || cursorOf(t, res.State) != lastAdded {
		t.Errorf("second run = %+v, state %s", res, res.State)
	}

	// An object added on the server comes with the run after.
	added := newObject(t)
	srv.mu.Lock()
	srv.objs = append(srv.objs, added)
	srv.mu.Unlock()
	res, err = h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 1 || res.New != 1 || cursorOf(t, res.State) != added.added {
		t.Errorf("third run = %+v, state %s", res, res.State)
	}
}

// A collector made from a state of another URL starts over; an unreadable state too.
func TestCollectStateOfOtherURL(t *testing.T) {
	srv := newServer(t)
	h := newHarness(t, source(srv), fast(&sink{}))
	for _, st := range []string{`{"url":"https://elsewhere.example/c/","added_after":"2017-01-01T00:00:00Z"}`, `{not json`} {
		srv.reset()
		h.env.State = []byte(st)
		res, err := h.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if q := query(t, srv.seen()[0]); q.Has("added_after") || res.Records != 8 {
			t.Errorf("state %s: query %v, result %+v", st, q, res)
		}
	}
}

// Without X-TAXII-Date-Added-Last headers the run still follows next, and the cursor stays.
func TestCollectNoDateHeaders(t *testing.T) {
	srv := newServer(t)
	srv.noHeaders = true
	o := fast(&sink{})
	o.PageSize = 3
	h := newHarness(t, source(srv), o)
	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 8 || cursorOf(t, res.State) != "" || len(srv.seen()) != 3 {
		t.Errorf("result %+v, state %s, %d requests", res, res.State, len(srv.seen()))
	}
	const before = "2016-01-01T00:00:00Z"
	h.env.State, _ = json.Marshal(map[string]string{"url": h.env.Source.URL, "added_after": before})
	srv.reset()
	res, err = h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 7 || cursorOf(t, res.State) != before {
		t.Errorf("result %+v, state %s", res, res.State)
	}
}

// A server that says more without a next token is asked again from its newest date_added.
//
// With added_after alone, objects sharing the date_added that ends a page would be skipped
// (added_after is strictly after): the page size here keeps the two objects of
// 2017-01-27T13:49:59.997Z in one page.
func TestCollectMoreWithoutNext(t *testing.T) {
	srv := newServer(t)
	srv.noNext = true
	o := fast(&sink{})
	o.PageSize = 4
	h := newHarness(t, source(srv), o)
	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.seen()
	if res.Records != 8 || len(reqs) != 2 || query(t, reqs[1]).Get("added_after") != "2016-12-27T13:49:59.000000Z" ||
		query(t, reqs[1]).Has("next") {
		t.Errorf("result %+v, requests %+v", res, reqs)
	}
}

// The page cap ends a run early but successfully; the next run goes on from there.
func TestCollectPageCap(t *testing.T) {
	srv := newServer(t)
	s := &sink{}
	o := fast(s)
	o.PageSize, o.MaxPages = 2, 2
	h := newHarness(t, source(srv), o)
	res, err := h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 4 || cursorOf(t, res.State) != "2016-12-27T13:49:59.000000Z" {
		t.Errorf("first run %+v, state %s", res, res.State)
	}
	res, err = h.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 4 || res.New != 4 || cursorOf(t, res.State) != lastAdded || len(s.ids()) != 8 {
		t.Errorf("second run %+v, state %s, %d objects", res, res.State, len(s.ids()))
	}
}

func TestCollectAuth(t *testing.T) {
	for name, tc := range map[string]struct{ env, want string }{
		"basic user:password": {"alice:s3cret-pw", "Basic YWxpY2U6czNjcmV0LXB3"},
		"bare token":          {"tok-0123456789", "Bearer tok-0123456789"},
		"bearer value":        {"Bearer tok-0123456789", "Bearer tok-0123456789"},
		"basic value":         {"Basic YWxpY2U6czNjcmV0LXB3", "Basic YWxpY2U6czNjcmV0LXB3"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(authEnv, tc.env)
			srv := newServer(t)
			srv.wantAuth = tc.want
			src := source(srv)
			src.AuthHeader, src.AuthEnv = "Authorization", authEnv
			h := newHarness(t, src, fast(&sink{}))
			res, err := h.run(t)
			if err != nil || res.Records != 8 {
				t.Fatalf("result %+v, err %v", res, err)
			}
			if got := srv.seen()[0].auth; got != tc.want {
				t.Errorf("Authorization = %q, want %q", got, tc.want)
			}
		})
	}
}

// Wrong credentials: a 401 that is not retried, and neither the error nor the log holds the secret.
func TestCollectAuthRefused(t *testing.T) {
	const secret = "alice:wrong-s3cret"
	t.Setenv(authEnv, secret)
	srv := newServer(t)
	srv.wantAuth = "Basic YWxpY2U6czNjcmV0LXB3"
	src := source(srv)
	src.AuthHeader, src.AuthEnv = "Authorization", authEnv
	h := newHarness(t, src, fast(&sink{}))
	_, err := h.run(t)
	var se *taxii.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusUnauthorized || !strings.Contains(err.Error(), srv.URL+objectsPath) {
		t.Fatalf("err = %v", err)
	}
	if len(srv.seen()) != 1 {
		t.Errorf("%d requests: a 401 is not retried", len(srv.seen()))
	}
	for _, leak := range []string{"wrong-s3cret", "YWxpY2U6d3JvbmctczNjcmV0"} {
		if strings.Contains(err.Error(), leak) || strings.Contains(h.log.String(), leak) {
			t.Errorf("secret %q in the error or the log", leak)
		}
	}
}

func TestCollectAuthEnvMissing(t *testing.T) {
	t.Setenv(authEnv, "")
	srv := newServer(t)
	src := source(srv)
	src.AuthHeader, src.AuthEnv = "Authorization", authEnv
	h := newHarness(t, src, fast(&sink{}))
	if _, err := h.run(t); err == nil || !strings.Contains(err.Error(), authEnv) {
		t.Errorf("err = %v", err)
	}
	if len(srv.seen()) != 0 {
		t.Error("requests made without the credentials")
	}
}

// Transient failures are retried within the run, honouring Retry-After.
func TestCollectRetry(t *testing.T) {
	for name, tc := range map[string]struct {
		fail     func(w http.ResponseWriter)
		minWait  time.Duration
		maxWait  time.Duration
		attempts int
	}{
		"429 Retry-After 1": {fail: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			taxiiError(w, http.StatusTooManyRequests, "Too Many Requests")
		}, minWait: time.Second, maxWait: 10 * time.Second},
		"429 Retry-After capped": {fail: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3600")
			taxiiError(w, http.StatusTooManyRequests, "Too Many Requests")
		}, maxWait: 5 * time.Second},
		"500": {fail: func(w http.ResponseWriter) { taxiiError(w, http.StatusInternalServerError, "boom") }, maxWait: 5 * time.Second},
		"503 html": {fail: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("<html><body>down</body></html>"))
		}, maxWait: 5 * time.Second},
		"body cut short": {fail: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", taxii.MediaType)
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(`{"more": false, "objects": [`))
		}, maxWait: 5 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			srv.set(func(n int, w http.ResponseWriter, r *http.Request) bool {
				if n == 1 {
					tc.fail(w)
					return true
				}
				return false
			})
			o := fast(&sink{})
			o.MaxRetryAfter = 1500 * time.Millisecond
			h := newHarness(t, source(srv), o)
			start := time.Now()
			res, err := h.run(t)
			took := time.Since(start)
			if err != nil || res.Records != 8 || cursorOf(t, res.State) != lastAdded {
				t.Fatalf("result %+v, err %v", res, err)
			}
			if len(srv.seen()) != 2 || took < tc.minWait || took > tc.maxWait {
				t.Errorf("%d requests in %v, want 2 in [%v, %v]", len(srv.seen()), took, tc.minWait, tc.maxWait)
			}
		})
	}
}

// Broken answers on page 2 fail the run: the error says why, page 1 alone reached the sink, and no
// state is returned (the runner keeps the old cursor).
func TestCollectFailures(t *testing.T) {
	envelope := func(w http.ResponseWriter, ct, body string) {
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Write([]byte(body))
	}
	for name, tc := range map[string]struct {
		page2    func(w http.ResponseWriter, r *http.Request)
		sinkErr  error
		reject   bool
		timeout  time.Duration
		want     string
		requests int // 0: 2
		is       error
	}{
		"500 forever": {page2: func(w http.ResponseWriter, _ *http.Request) {
			taxiiError(w, http.StatusInternalServerError, "Internal Server Error")
		}, want: "HTTP status 500 Internal Server Error (Internal Server Error) (gave up after 3 attempts)", requests: 4},
		"429 forever": {page2: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "0")
			taxiiError(w, http.StatusTooManyRequests, "slow down")
		}, want: "429", requests: 4},
		"never answers": {page2: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			timeout: 300 * time.Millisecond, want: "deadline exceeded", is: context.DeadlineExceeded},
		"html": {page2: func(w http.ResponseWriter, _ *http.Request) {
			envelope(w, "text/html; charset=utf-8", "<!DOCTYPE html><html><body>Sign in</body></html>")
		}, want: "HTML"},
		"html as taxii": {page2: func(w http.ResponseWriter, _ *http.Request) {
			envelope(w, taxii.MediaType, "<!DOCTYPE html><html><body>Sign in</body></html>")
		}, want: "an HTML page"},
		"truncated json": {page2: func(w http.ResponseWriter, _ *http.Request) {
			envelope(w, taxii.MediaType, `{"more": true, "next": "tok-6", "objects": [{"type": "indicator", "id": "indicator--cd98`)
		}, want: "rejected the input"},
		"wrong content type": {page2: func(w http.ResponseWriter, _ *http.Request) {
			envelope(w, "text/plain", `{"more": false, "objects": []}`)
		}, want: `Content-Type "text/plain"`},
		"taxii 2.0": {page2: func(w http.ResponseWriter, _ *http.Request) {
			envelope(w, "application/taxii+json;version=2.0", `{"more": false, "objects": []}`)
		}, want: "TAXII version 2.0"},
		"a bundle array": {page2: func(w http.ResponseWriter, _ *http.Request) {
			envelope(w, taxii.MediaType, `[{"type": "indicator"}]`)
		}, want: "not a JSON object"},
		"objects not STIX": {page2: func(w http.ResponseWriter, _ *http.Request) {
			envelope(w, taxii.MediaType, `{"more": false, "objects": [1, "x", {"type": "indicator"}]}`)
		}, want: "3 of 3 records unparsable"},
		"same next twice": {page2: func(w http.ResponseWriter, _ *http.Request) {
			envelope(w, taxii.MediaType, `{"more": true, "next": "tok-3", "objects": []}`)
		}, want: "same next token"},
		"404": {page2: func(w http.ResponseWriter, _ *http.Request) {
			taxiiError(w, http.StatusNotFound, "Collection not found")
		}, want: "HTTP status 404 Not Found (Collection not found)"},
		"sink error":       {sinkErr: errors.New("disk full"), want: "importing 3 objects: disk full", requests: 1},
		"importer rejects": {reject: true, want: "objects the STIX importer rejected", requests: 1},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			if tc.page2 != nil {
				done := make(chan struct{})
				t.Cleanup(func() { close(done) }) // runs before srv.Close
				srv.set(func(n int, w http.ResponseWriter, r *http.Request) bool {
					if n < 2 {
						return false
					}
					select {
					case <-done:
						return true
					default:
					}
					tc.page2(w, r)
					return true
				})
			}
			s := &sink{err: tc.sinkErr, reject: tc.reject}
			o := fast(s)
			o.PageSize = 3
			src := source(srv)
			if tc.timeout > 0 {
				src.Timeout = config.Duration(tc.timeout)
			}
			h := newHarness(t, src, o)
			res, err := h.run(t)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			t.Logf("error: %v", err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), srv.URL+objectsPath) {
				t.Errorf("err = %v: does not name the URL", err)
			}
			if res.State != nil || h.env.State != nil {
				t.Errorf("state %s after a failed run", res.State)
			}
			want := tc.requests
			if want == 0 {
				want = 2
			}
			if got := len(srv.seen()); got != want {
				t.Errorf("%d requests, want %d", got, want)
			}
			if tc.sinkErr == nil && !tc.reject && s.pageCount() != 1 {
				t.Errorf("the sink got %d pages, want page 1 only", s.pageCount())
			}
		})
	}
}

// The bound on retries of a run holds across pages.
func TestCollectRunRetries(t *testing.T) {
	srv := newServer(t)
	srv.set(func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n%2 == 1 { // every page fails once
			taxiiError(w, http.StatusBadGateway, "Bad Gateway")
			return true
		}
		return false
	})
	o := fast(&sink{})
	o.PageSize, o.RunRetries = 3, 2
	h := newHarness(t, source(srv), o)
	_, err := h.run(t)
	if err == nil || !strings.Contains(err.Error(), "page 3") || !strings.Contains(err.Error(), "502") {
		t.Errorf("err = %v", err)
	}
}

// A run cancelled from outside returns the context's error.
func TestCollectCancel(t *testing.T) {
	srv := newServer(t)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	srv.set(func(n int, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-done:
		}
		return true
	})
	h := newHarness(t, source(srv), fast(&sink{}))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := h.c.Collect(ctx, h.env)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

func TestNewCollector(t *testing.T) {
	share := 0.3
	ok := config.Source{Name: "t", Kind: "taxii", URL: "https://taxii.example.org/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/"}
	for name, mod := range map[string]func(*config.Source){
		"list settings":      func(s *config.Source) { s.Format = "csv" },
		"max_shrink":         func(s *config.Source) { s.MaxShrink = &share },
		"file url":           func(s *config.Source) { s.URL = "file:///tmp/x.json" },
		"ftp url":            func(s *config.Source) { s.URL = "ftp://x/y/" },
		"no host":            func(s *config.Source) { s.URL = "https:///api1/collections/x/" },
		"user info":          func(s *config.Source) { s.URL = "https://alice:pw@taxii.example.org/api1/collections/x/" },
		"auth header alone":  func(s *config.Source) { s.AuthHeader = "Authorization" },
		"proxy scheme":       func(s *config.Source) { s.Proxy = "ftp://proxy:21" },
		"unparsable url":     func(s *config.Source) { s.URL = "https://taxii.example.org/%zz" },
		"proxy without host": func(s *config.Source) { s.Proxy = "socks5://" },
	} {
		src := ok
		mod(&src)
		if _, err := taxii.NewCollector(src, taxii.Options{}); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: password in %v", name, err)
		}
	}
	for name, mod := range map[string]func(*config.Source){
		"plain":        func(*config.Source) {},
		"auth":         func(s *config.Source) { s.AuthHeader, s.AuthEnv = "Authorization", authEnv },
		"socks5 proxy": func(s *config.Source) { s.Proxy = "socks5h://127.0.0.1:9050" },
		"http proxy":   func(s *config.Source) { s.Proxy = "http://proxy.example.org:3128" },
		"max_rejected": func(s *config.Source) { s.MaxRejected = &share },
	} {
		src := ok
		mod(&src)
		if _, err := taxii.NewCollector(src, taxii.Options{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if kinds := collect.Kinds(); !strings.Contains(strings.Join(kinds, " "), "taxii") {
		t.Errorf("kind taxii not registered: %v", kinds)
	}
}

func TestObjectsURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://h.example/api1/collections/c1/":                       "https://h.example/api1/collections/c1/objects/",
		"https://h.example/api1/collections/c1":                        "https://h.example/api1/collections/c1/objects/",
		"https://h.example/api1/collections/c1/objects/":               "https://h.example/api1/collections/c1/objects/",
		"https://h.example/api1/collections/c1/?match%5Btype%5D=x#f":   "https://h.example/api1/collections/c1/objects/?match%5Btype%5D=x",
		"http://127.0.0.1:8080/trustgroup1/collections/91a7b528-80eb/": "http://127.0.0.1:8080/trustgroup1/collections/91a7b528-80eb/objects/",
	} {
		got, err := taxii.ObjectsURL(in)
		if err != nil || got != want {
			t.Errorf("ObjectsURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// A filter in the configured URL is kept on every request.
func TestCollectURLFilter(t *testing.T) {
	srv := newServer(t)
	src := source(srv)
	src.URL += "?match[type]=indicator"
	o := fast(&sink{})
	o.PageSize = 3
	h := newHarness(t, src, o)
	if _, err := h.run(t); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.seen() {
		if query(t, r).Get("match[type]") != "indicator" {
			t.Errorf("query %q lost the filter", r.query)
		}
	}
}

// A source's proxy carries its requests.
func TestCollectProxy(t *testing.T) {
	srv := newServer(t)
	var mu sync.Mutex
	var via []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		via = append(via, r.URL.Host)
		mu.Unlock()
		req, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	src := source(srv)
	src.Proxy = proxy.URL
	o := fast(&sink{})
	o.PageSize = 3
	h := newHarness(t, src, o)
	res, err := h.run(t)
	if err != nil || res.Records != 8 {
		t.Fatalf("result %+v, err %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(via) != 3 || via[0] != strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("requests through the proxy: %q", via)
	}
}
