package brandwatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/brand"
	"github.com/omen-tip/omen/internal/brandwatch"
	"github.com/omen-tip/omen/internal/findings"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// feedServer serves named bodies with an ETag and answers 304 to a matching If-None-Match.
type feedServer struct {
	mu     sync.Mutex
	bodies map[string][]byte
	full   map[string]int // 200 answers per path
	not    map[string]int // 304 answers per path
	agent  string
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agent = r.Header.Get("User-Agent")
	b, ok := s.bodies[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%s-%d"`, strings.Trim(r.URL.Path, "/"), len(b))
	if r.Header.Get("If-None-Match") == etag {
		s.not[r.URL.Path]++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	s.full[r.URL.Path]++
	w.Header().Set("ETag", etag)
	w.Write(b)
}

func newWatcher(t *testing.T) (*brandwatch.Watcher, store.Store) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.PutAsset(ctx, intel.Asset{Kind: "brand", Name: "PayPal", Values: []string{"paypal.com"},
		Criticality: intel.CriticalityExtreme, Exposure: "internet-facing"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	fs := findings.New(st, nil, findings.Options{MinPriority: -1, Now: func() time.Time { return now }})
	w := brandwatch.New(st, fs, risk.DefaultPriorityModel(), nil, nil)
	w.SetClock(func() time.Time { return now })
	if err := w.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	return w, st
}

// planted returns one generated lookalike of paypal.com per fuzzer family.
func planted(t *testing.T) []string {
	t.Helper()
	perms, err := brand.Generate("paypal.com")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	families := map[string]bool{}
	for _, p := range perms {
		if !families[p.Fuzzer] && p.Domain != "paypal.com" {
			families[p.Fuzzer] = true
			out = append(out, p.Domain)
		}
	}
	return append(out, "xn--pypal-4ve.com", "paypal-secure-login.com")
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every planted lookalike in a list feed and in an NDJSON feed becomes a finding whose evidence
// names the feed; benign names (a genuine newly-registered-domains list, fillers spread over
// several batches) create none; broken lines are counted and skipped; an unchanged feed is
// answered 304 and not parsed again.
func TestFeedPollerPlantedLookalikes(t *testing.T) {
	ctx := t.Context()
	w, st := newWatcher(t)
	names := planted(t)
	if len(names) < 10 {
		t.Fatalf("only %d planted names", len(names))
	}
	half := len(names) / 2
	inList, inNDJSON := names[:half], names[half:]

	var list bytes.Buffer
	list.Write(readTestdata(t, "nrd-7.head.txt"))
	list.WriteString("# planted\n")
	for i, n := range inList {
		if i%2 == 0 {
			fmt.Fprintf(&list, "%s,2026-11-21\n", strings.ToUpper(n)) // CSV with a date, upper case
		} else {
			fmt.Fprintf(&list, "%s.\n", n) // trailing dot
		}
	}
	for i := range 2100 { // spread the names over three batches
		fmt.Fprintf(&list, "filler%04d.org\n", i)
	}
	list.WriteString("not a domain\nhttp://example.com/x\n,2026-11-21\n")
	list.WriteString("last-line-without-newline.net")

	var nd bytes.Buffer
	for _, n := range inNDJSON {
		b, _ := json.Marshal(map[string]any{"domain": n, "first_seen": "2026-11-21T10:00:00Z"})
		nd.Write(b)
		nd.WriteByte('\n')
	}
	nd.Write(readTestdata(t, "zonedb.head.jl"))
	nd.WriteString("{\"domain\": 42}\n{\"name\": \"x.com\"}\n{broken\n\n")

	srv := &feedServer{bodies: map[string][]byte{"/nrd.txt": list.Bytes(), "/nrd.jsonl": nd.Bytes()},
		full: map[string]int{}, not: map[string]int{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	p := &brandwatch.FeedPoller{Watcher: w, Client: ts.Client(), UserAgent: "omen-test"}
	listFeed := brandwatch.FeedConfig{Name: "nrd-list", URL: ts.URL + "/nrd.txt", Format: "list"}
	ndFeed := brandwatch.FeedConfig{Name: "nrd-ndjson", URL: ts.URL + "/nrd.jsonl?key=secret", Format: "ndjson"}

	ls, err := p.Poll(ctx, listFeed)
	if err != nil {
		t.Fatal(err)
	}
	// 108 genuine lines (100 names), a comment, the planted, the fillers, 3 broken, 1 unterminated.
	if want := 100 + len(inList) + 2100 + 1; ls.Names != want || ls.Bad != 3 || ls.Lines != 108+1+len(inList)+2100+4 ||
		ls.Lookalikes != len(inList) || ls.Unchanged {
		t.Errorf("list stats %+v, want %d names, 3 bad, %d lookalikes", ls, want, len(inList))
	}
	if len(ls.BadSamples) != 3 || !strings.HasPrefix(ls.BadSamples[0], fmt.Sprintf("line %d: ", 108+1+len(inList)+2100+1)) {
		t.Errorf("bad samples %q", ls.BadSamples)
	}
	ns, err := p.Poll(ctx, ndFeed)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Names != len(inNDJSON)+15 || ns.Bad != 3 || ns.Lookalikes != len(inNDJSON) {
		t.Errorf("ndjson stats %+v", ns)
	}
	if srv.agent != "omen-test" {
		t.Errorf("User-Agent %q", srv.agent)
	}

	list2, err := st.ListFindings(ctx, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byValue := map[string]intel.Finding{}
	for _, f := range list2 {
		if f.Kind != brandwatch.FindingKind || f.Observable == nil {
			t.Errorf("unexpected finding %+v", f)
			continue
		}
		byValue[f.Observable.Value] = f
	}
	for i, n := range names {
		f, ok := byValue[n]
		if !ok {
			t.Errorf("planted %s: no finding", n)
			continue
		}
		feed := "nrd-list"
		if i >= half {
			feed = "nrd-ndjson"
		}
		if f.Priority <= 0 || len(f.Evidence) < 2 || f.Evidence[1] != "Observed: newly observed in feed "+feed+"." {
			t.Errorf("%s: finding %+v", n, f)
		}
	}
	if len(byValue) != len(names) {
		for v := range byValue {
			if !strings.Contains(strings.Join(names, " "), v) {
				t.Errorf("benign %s raised a finding", v)
			}
		}
	}

	// Unchanged feeds: 304, nothing parsed, no new findings.
	for _, f := range []brandwatch.FeedConfig{listFeed, ndFeed} {
		s, err := p.Poll(ctx, f)
		if err != nil || !s.Unchanged || s.Lines != 0 {
			t.Errorf("%s second poll: %+v, %v", f.Name, s, err)
		}
	}
	if srv.full["/nrd.txt"] != 1 || srv.not["/nrd.txt"] != 1 || srv.full["/nrd.jsonl"] != 1 || srv.not["/nrd.jsonl"] != 1 {
		t.Errorf("requests: full %v, not modified %v", srv.full, srv.not)
	}
	t.Logf("%d planted lookalikes became findings; list %+v; ndjson %+v", len(names), ls, ns)
	after, err := st.ListFindings(ctx, store.FindingFilter{})
	if err != nil || len(after) != len(list2) {
		t.Errorf("%d findings after the 304 polls, %d before (%v)", len(after), len(list2), err)
	}
}

// A failing server is an error naming the feed and the redacted URL, and saves no validators.
func TestFeedPollerErrors(t *testing.T) {
	w, _ := newWatcher(t)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer ts.Close()
	state := &brandwatch.MemoryFeedState{}
	p := &brandwatch.FeedPoller{Watcher: w, Client: ts.Client(), State: state}
	_, err := p.Poll(t.Context(), brandwatch.FeedConfig{Name: "down", URL: ts.URL + "/f?apikey=hunter2"})
	if err == nil || !strings.Contains(err.Error(), "domain feed down") || !strings.Contains(err.Error(), "500") ||
		strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v", err)
	}
	if v, _ := state.LoadFeed(t.Context(), "down"); v != (brandwatch.FeedValidators{}) {
		t.Errorf("validators saved after a failure: %+v", v)
	}
	for _, u := range []string{"ftp://x/y", "::nope"} {
		if _, err := p.Poll(t.Context(), brandwatch.FeedConfig{URL: u}); err == nil {
			t.Errorf("%s: no error", u)
		}
	}
	if _, err := p.Poll(t.Context(), brandwatch.FeedConfig{URL: ts.URL, Format: "csv"}); err == nil {
		t.Error("unknown format: no error")
	}
}

// Run polls each feed at once and returns when the context ends.
func TestFeedPollerRun(t *testing.T) {
	w, st := newWatcher(t)
	hit := make(chan struct{}, 1)
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Write([]byte("paypa1.com\nexample.org\n"))
		// Signal once the body has been written; the handler returning lets the poll finish.
		defer once.Do(func() { hit <- struct{}{} })
	}))
	defer ts.Close()
	ctx, cancel := context.WithCancel(t.Context())
	p := &brandwatch.FeedPoller{Watcher: w, Client: ts.Client(), Feeds: []brandwatch.FeedConfig{{Name: "f", URL: ts.URL}}}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-hit
	// Wait for the poll to record the finding before cancelling, without timing assertions:
	// poll the store until it shows up or the test's own deadline ends the run.
	for {
		fs, err := st.ListFindings(t.Context(), store.FindingFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}

func TestParseFeed(t *testing.T) {
	tests := []struct {
		name, format, field string
		in                  string
		names               []string
		bad                 int
		wantErr             string
	}{
		{name: "genuine list", in: string(readTestdata(t, "nrd-7.head.txt")), names: nil},
		{name: "genuine ndjson", format: "ndjson", in: string(readTestdata(t, "zonedb.head.jl"))},
		{name: "csv first column", in: "domain,registered\nExample.COM,2026-11-21\n\"quoted.net\",x\ntab.org\t1\n",
			names: []string{"domain", "example.com", "quoted.net", "tab.org"}},
		{name: "wildcards and dots", in: "*.wild.com\n.lead.org\ntrail.net.\r\n\ufeffbom.io\n",
			names: []string{"wild.com", "lead.org", "trail.net", "bom.io"}},
		{name: "idn", in: "pаypal.com\nxn--pypal-4ve.com\n", names: []string{"pаypal.com", "xn--pypal-4ve.com"}},
		{name: "bad list lines", in: "a b.com\nhttp://x.com/\nuser@x.com\n..\n" + strings.Repeat("a", 64) + ".com\nok.com\n",
			names: []string{"ok.com"}, bad: 5},
		{name: "ndjson other field", format: "ndjson", field: "host", in: "{\"host\":\"a.com\",\"domain\":\"b.com\"}\n",
			names: []string{"a.com"}},
		{name: "bad ndjson", format: "ndjson", in: "[1]\n{\"domain\":null}\n{\"domain\":\"\"}\n{\"d\":1}\n{\n\"x\"\n",
			bad: 6},
		{name: "long line", in: strings.Repeat("x", 70000) + "\nok.com\n" + strings.Repeat("y", 200000),
			names: []string{"ok.com"}, bad: 2},
		{name: "unknown format", format: "csv", wantErr: "unknown feed format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			st, err := brandwatch.ParseFeed(strings.NewReader(tc.in), tc.format, tc.field, func(n string) error {
				got = append(got, n)
				return nil
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Bad != tc.bad || st.Names != len(got) {
				t.Errorf("stats %+v, want %d bad; names %q", st, tc.bad, got)
			}
			if tc.names != nil && strings.Join(got, " ") != strings.Join(tc.names, " ") {
				t.Errorf("names %q, want %q", got, tc.names)
			}
		})
	}

	// The genuine samples in full.
	var got []string
	st, err := brandwatch.ParseFeed(bytes.NewReader(readTestdata(t, "nrd-7.head.txt")), "", "", func(n string) error {
		got = append(got, n)
		return nil
	})
	if err != nil || st.Lines != 108 || st.Names != 100 || st.Bad != 0 || got[0] != "highlandbotanicals.scot" || got[99] != "growergarden.farm" {
		t.Errorf("nrd-7: %+v %v; first %q", st, err, got[:min(len(got), 1)])
	}
	got = nil
	st, err = brandwatch.ParseFeed(bytes.NewReader(readTestdata(t, "zonedb.head.jl")), "ndjson", "", func(n string) error {
		got = append(got, n)
		return nil
	})
	if err != nil || st.Names != 15 || st.Bad != 0 || got[0] != "aaa" || got[14] != "ar" {
		t.Errorf("zonedb: %+v %v; %q", st, err, got)
	}

	// A callback error stops the parse.
	stop := errors.New("stop")
	if _, err := brandwatch.ParseFeed(strings.NewReader("a.com\nb.com\n"), "", "", func(string) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error %v", err)
	}
}

func FuzzParseFeed(f *testing.F) {
	f.Add(readTestdata(f, "nrd-7.head.txt"), false)
	f.Add(readTestdata(f, "zonedb.head.jl"), true)
	f.Add([]byte("a.com,2026-01-01\n*.b.org\n#c\n\n"), false)
	f.Add([]byte("{\"domain\":\"x.com\"}\n{broken\n"), true)
	f.Fuzz(func(t *testing.T, in []byte, nd bool) {
		format := "list"
		if nd {
			format = "ndjson"
		}
		st, err := brandwatch.ParseFeed(bytes.NewReader(in), format, "", func(n string) error {
			if n == "" || strings.ContainsAny(n, " /@:\n") || n != strings.ToLower(n) {
				t.Fatalf("bad name %q passed on", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st.Names+st.Bad > st.Lines {
			t.Fatalf("stats %+v", st)
		}
	})
}
