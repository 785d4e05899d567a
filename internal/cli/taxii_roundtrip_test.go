package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/cli"
	ctaxii "github.com/omen-tip/omen/internal/collect/taxii"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/stix"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
	"github.com/omen-tip/omen/internal/taxii"
)

// The round trip: omen A serves its intelligence over TAXII 2.1, omen B's taxii source
// pulls the "all" collection over HTTP into an empty store, and B then knows what A knows.
func TestTAXIIRoundTrip(t *testing.T) {
	// A small page size, so that the collector has to follow "next" over several pages.
	a := newRTNode(t, "taxii:\n  max_page_size: 20\n")
	fixtures := rtOASISFixtures(t)
	a.importSTIX(append(fixtures, "../collect/attack/testdata/enterprise-subset-stix21-derived/groups-software.json")...)
	key := a.createKey("reader", "red") // clearance red: B must see everything A holds
	addr, stop := a.serve()
	defer stop()
	served := rtServedVersions(t, addr, key, config.TAXIIAllID)
	if len(served) < 60 {
		t.Fatalf("A serves only %d object versions", len(served))
	}

	b := newRTNode(t, rtSourceConfig("http://"+addr))
	t.Setenv("OMEN_TEST_TAXII_KEY", key) // a bare token: sent as Bearer
	if code, out, errs := b.run("feeds", "sync", "--json"); code != 0 {
		t.Fatalf("B feeds sync: exit %d\n%s\n%s", code, out, errs)
	}
	st := b.status()
	if st.Health != intel.HealthOK || st.LastStats.Records != len(served) || st.LastStats.New != len(served) {
		t.Errorf("B's source after the sync: %+v; A serves %d versions", st, len(served))
	}
	rtSameVersions(t, served, b.storedVersions())
	values := rtFixtureValues(t, fixtures)
	rtSameLookups(t, a, b, values)
	// What the genuine examples say, seen from B: the C2 address indicates Poison Ivy and is part of
	// Operation Omega; the file hash indicates Poison Ivy. B files it under its own source.
	r := b.lookup("10.0.0.0")
	view := rtMatchView(r)
	for _, want := range []string{`entity campaign "Operation Omega" id=campaign--b549a58c-afd9-4847-85c3-5be13d56d3cc via=""`,
		`entity malware "Poison Ivy" id=malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111 via=""`, "indicator exact ipv4 10.0.0.0"} {
		if !slices.Contains(view, want) {
			t.Errorf("B's lookup of 10.0.0.0 lacks %s: %q", want, view)
		}
	}
	if ms := append(r.Matches, r.Expired...); len(ms) == 0 || len(ms[0].Indicator.Sources) != 1 || ms[0].Indicator.Sources[0].Name != "from-a" {
		t.Errorf("B's lookup of 10.0.0.0 is not from its source from-a: %+v", r)
	}
	if view := rtMatchView(b.lookup("ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c")); !slices.Contains(view,
		`entity malware "Poison Ivy" id=malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111 via=""`) {
		t.Errorf("B's lookup of the Poison Ivy hash: %q", view)
	}

	// A second sync asks only for what was added since (nothing) and changes nothing.
	if code, out, errs := b.run("feeds", "sync", "--json"); code != 0 {
		t.Fatalf("B second feeds sync: exit %d\n%s\n%s", code, out, errs)
	}
	if st := b.status(); st.Health != intel.HealthOK || st.LastStats.New != 0 || st.LastStats.Records != 0 {
		t.Errorf("B's second sync of an unchanged collection: %+v", st.LastStats)
	}
	rtSameVersions(t, served, b.storedVersions())
}

// The round trip interrupted: B's first sync gets page 1 and then only HTTP 500s (the collector
// retries, then gives up), or is killed (its context cancelled) while a page is in flight. The
// sync after it must leave B with exactly A's versions: none lost, none twice.
func TestTAXIIRoundTripInterrupted(t *testing.T) {
	// Pages of 100 over a few hundred genuine ATT&CK objects and the OASIS examples, plus
	// generated indicators (two versions each of some), so that indicators sit on every page.
	a := newRTNode(t, "taxii:\n  max_page_size: 100\n")
	fixtures := rtOASISFixtures(t)
	var attack []string
	for _, f := range []string{"tactics-identity-marking", "groups-software", "techniques", "rel-software-uses-1", "rel-group-uses-3"} {
		attack = append(attack, "../collect/attack/testdata/enterprise-subset-stix21-derived/"+f+".json")
	}
	gen, genValues := rtGeneratedBundle(t, 150)
	a.importSTIX(append(append(fixtures, attack...), gen)...)
	key := a.createKey("consumer", "red")
	addr, stop := a.serve()
	defer stop()
	served := rtServedVersions(t, addr, key, config.TAXIIAllID)
	if len(served) < 400 {
		t.Fatalf("A serves only %d object versions", len(served))
	}
	values := append(rtFixtureValues(t, fixtures), genValues...)
	t.Setenv("OMEN_TEST_TAXII_KEY", "client:"+key) // user:password: sent as HTTP Basic

	for _, mode := range []string{"http-500", "killed"} {
		t.Run(mode, func(t *testing.T) {
			// The proxy passes page 1 and, while failing is set, breaks every later page request.
			var failing atomic.Bool
			var broken, pages atomic.Int32
			kill := make(chan struct{}, 1)
			target, _ := url.Parse("http://" + addr)
			rp := httputil.NewSingleHostReverseProxy(target)
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/objects/") {
					pages.Add(1)
					if failing.Load() && r.URL.Query().Get("next") != "" {
						broken.Add(1)
						if mode == "killed" {
							select {
							case kill <- struct{}{}:
							default:
							}
							<-r.Context().Done() // B goes away mid-request
							return
						}
						// Retry-After: 0 keeps the collector's retries quick.
						w.Header().Set("Retry-After", "0")
						w.Header().Set("Content-Type", taxii.MediaType)
						w.WriteHeader(http.StatusInternalServerError)
						io.WriteString(w, `{"title":"injected failure"}`)
						return
					}
				}
				rp.ServeHTTP(w, r)
			}))
			defer proxy.Close()

			b := newRTNode(t, rtSourceConfig(proxy.URL))
			failing.Store(true)
			if mode == "killed" {
				ctx, cancel := context.WithCancel(t.Context())
				go func() {
					select {
					case <-kill:
					case <-ctx.Done():
					}
					cancel()
				}()
				var out, errw bytes.Buffer
				code := cli.Run(ctx, b.args("feeds", "sync", "--json"), strings.NewReader(""), &out, &errw)
				cancel()
				if code == 0 {
					t.Fatalf("B's killed sync exited 0: %s %s", out.String(), errw.String())
				}
				if !strings.Contains(errw.String(), "context canceled") {
					t.Errorf("B's killed sync: exit %d, stderr %s", code, errw.String())
				}
			} else {
				code, out, errs := b.run("feeds", "sync", "--json")
				if code != 1 {
					t.Fatalf("B's failing sync: exit %d, want 1\n%s\n%s", code, out, errs)
				}
				st := b.status()
				if st.Health != intel.HealthDegraded || !strings.Contains(st.LastError, "page 2") ||
					!strings.Contains(st.LastError, "500") {
					t.Errorf("B's source after the failed sync: health %s, error %q", st.Health, st.LastError)
				}
				if n := broken.Load(); n < 2 {
					t.Errorf("page 2 was asked %d times: no retry", n)
				}
			}
			if broken.Load() == 0 {
				t.Fatal("the sync never reached page 2")
			}
			partial := b.storedVersions()
			if len(partial) == 0 || len(partial) >= len(served) {
				t.Fatalf("after the interrupted sync B holds %d of %d versions: not interrupted midway", len(partial), len(served))
			}
			for k := range partial {
				if _, ok := served[k]; !ok {
					t.Errorf("B holds %s, which A does not serve", k)
				}
			}
			t.Logf("interrupted after %d page requests: B holds %d of %d versions", pages.Load(), len(partial), len(served))

			// The restart: the proxy lets everything through.
			failing.Store(false)
			if code, out, errs := b.run("feeds", "sync", "--json"); code != 0 {
				t.Fatalf("B's second sync: exit %d\n%s\n%s", code, out, errs)
			}
			st := b.status()
			if st.Health != intel.HealthOK || st.LastError != "" {
				t.Errorf("B's source after the good sync: %+v", st)
			}
			// The restart reads from the start (the failed run saved no cursor): what B already held
			// comes again as unchanged, the rest as new, each version once.
			held := b.storedVersions()
			if c := st.LastStats; c.Records != len(held) || c.New+c.Updated != c.Records || c.New != len(held)-len(partial) {
				t.Errorf("second sync counts %+v; B held %d versions before it, %d after", c, len(partial), len(held))
			}
			rtSameVersions(t, served, held)
			rtSameLookups(t, a, b, values)
		})
	}
}

// An envelope POSTed to A's writable inbox is stored and imported: A's lookup then knows the
// indicator's address from the source taxii-<inbox id>.
func TestTAXIIInboxPost(t *testing.T) {
	a := newRTNode(t, "")
	admin := a.createKey("admin", "")
	addr, stop := a.serve()
	defer stop()

	b, err := os.ReadFile("../stix/testdata/oasis-examples/indicator-for-c2-ip-address.json")
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil || len(bundle.Objects) != 1 {
		t.Fatalf("fixture: %v", err)
	}
	env, _ := json.Marshal(map[string]any{"objects": bundle.Objects})
	inbox := "http://" + addr + "/omen/collections/" + config.TAXIIInboxID + "/objects/"
	code, body := rtDo(t, "POST", inbox, admin, env)
	var st taxii.Status
	if err := json.Unmarshal(body, &st); err != nil || code != http.StatusAccepted {
		t.Fatalf("POST: %d %v %s", code, err, body)
	}
	if st.Status != "complete" || st.TotalCount != 1 || st.SuccessCount != 1 || st.FailureCount != 0 ||
		len(st.Successes) != 1 || st.Successes[0].ID != "indicator--33fe3b22-0201-47cf-85d0-97c02164528d" {
		t.Errorf("status: %s", body)
	}
	// The status resource is kept.
	if code, body := rtDo(t, "GET", "http://"+addr+"/omen/status/"+st.ID+"/", admin, nil); code != 200 ||
		!strings.Contains(string(body), `"success_count":1`) {
		t.Errorf("GET status: %d %s", code, body)
	}
	// The inbox serves the object back.
	served := rtServedVersions(t, addr, admin, config.TAXIIInboxID)
	if _, ok := served["indicator--33fe3b22-0201-47cf-85d0-97c02164528d|2014-05-08T09:00:00Z"]; !ok || len(served) != 1 {
		t.Errorf("the inbox serves %v", slices.Sorted(maps.Keys(served)))
	}
	// The REST lookup of the running server, with the same key.
	code, body = rtDo(t, "GET", "http://"+addr+"/api/v1/lookup/10.0.0.0", admin, nil)
	var live lookup.Result
	if err := json.Unmarshal(body, &live); err != nil || code != 200 {
		t.Fatalf("GET lookup: %d %v %s", code, err, body)
	}
	stop()
	r := a.lookup("10.0.0.0")
	want := "taxii-" + config.TAXIIInboxID
	for _, res := range []lookup.Result{live, r} {
		ms := append(slices.Clone(res.Matches), res.Expired...)
		if len(ms) != 1 || len(ms[0].Indicator.Sources) != 1 || ms[0].Indicator.Sources[0].Name != want {
			t.Errorf("lookup of the posted indicator's address, want one match from %s: %+v", want, res)
		}
	}
	if r.Verdict == "unknown" && len(r.Matches) > 0 {
		t.Errorf("a matched value with verdict unknown: %+v", r)
	}
}

// rtNode is one omen: a data directory and its configuration file.
type rtNode struct {
	t             *testing.T
	cfgPath, data string
}

func newRTNode(t *testing.T, cfg string) *rtNode {
	t.Helper()
	dir := t.TempDir()
	n := &rtNode{t: t, cfgPath: filepath.Join(dir, "omen.yaml"), data: filepath.Join(dir, "data")}
	n.writeConfig(cfg)
	return n
}

func (n *rtNode) writeConfig(cfg string) {
	n.t.Helper()
	if cfg == "" {
		cfg = "{}\n"
	}
	if err := os.WriteFile(n.cfgPath, []byte(cfg), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

func (n *rtNode) args(args ...string) []string {
	return append([]string{"--config", n.cfgPath, "--data", n.data}, args...)
}

func (n *rtNode) run(args ...string) (int, string, string) {
	n.t.Helper()
	return omen(n.t, "", n.args(args...)...)
}

// importSTIX imports STIX bundles as the source "a-import" (reliability A, TLP amber).
func (n *rtNode) importSTIX(files ...string) {
	n.t.Helper()
	code, out, errs := n.run(append([]string{"import", "--json", "--format", "stix", "--source", "a-import",
		"--reliability", "A", "--confidence", "90", "--tlp", "amber"}, files...)...)
	if code != 0 {
		n.t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
	}
}

// createKey creates an API key with `omen keys create` and returns its secret.
func (n *rtNode) createKey(role, clearance string) string {
	n.t.Helper()
	args := []string{"keys", "create", "--json", "--role", role, "--name", "rt-" + role}
	if clearance != "" {
		args = append(args, "--clearance", clearance)
	}
	code, out, errs := n.run(args...)
	var k struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &k); code != 0 || err != nil || k.Secret == "" {
		n.t.Fatalf("keys create: exit %d %v\n%s\n%s", code, err, out, errs)
	}
	return k.Secret
}

// serve starts `omen serve --collect=false` on a free 127.0.0.1 port and waits for /healthz; stop
// (also run at cleanup) ends it and checks its exit status.
func (n *rtNode) serve() (addr string, stop func()) {
	n.t.Helper()
	srv := startServe(n.t, n.args("serve", "--collect=false")...)
	return srv.addr, srv.stop
}

// lookupAll looks the values up with one `omen lookup --json` and returns the results in order.
func (n *rtNode) lookupAll(values []string) []lookup.Result {
	n.t.Helper()
	if len(values) == 1 {
		return []lookup.Result{n.lookup(values[0])}
	}
	code, out, errs := n.run(append([]string{"lookup", "--json"}, values...)...)
	var r struct{ Results []lookup.Result }
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 || len(r.Results) != len(values) {
		n.t.Fatalf("lookup of %d values: exit %d %v\n%s\n%s", len(values), code, err, out, errs)
	}
	for i, res := range r.Results {
		if res.Query != values[i] {
			n.t.Fatalf("lookup result %d is of %q, want %q", i, res.Query, values[i])
		}
	}
	return r.Results
}

func (n *rtNode) lookup(value string) lookup.Result {
	n.t.Helper()
	code, out, errs := n.run("lookup", "--json", value)
	var r lookup.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		n.t.Fatalf("lookup %s: exit %d %v\n%s\n%s", value, code, err, out, errs)
	}
	return r
}

// rtSource is the part of `omen feeds status --json` the tests read.
type rtSource struct {
	Name, Health string
	LastError    string         `json:"last_error"`
	LastStats    intel.RunStats `json:"last_stats"`
}

func (n *rtNode) status() rtSource {
	n.t.Helper()
	code, out, errs := n.run("feeds", "status", "--json")
	var st struct{ Sources []rtSource }
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || len(st.Sources) != 1 {
		n.t.Fatalf("feeds status: exit %d %v\n%s\n%s", code, err, out, errs)
	}
	return st.Sources[0]
}

// storedVersions opens the node's store (no server may be running on it) and returns every STIX
// object version of omen's pool, keyed by id and version, with its JSON.
func (n *rtNode) storedVersions() map[string]json.RawMessage {
	t := n.t
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(n.data, "omen.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]json.RawMessage{}
	q := store.STIXQuery{Collection: store.STIXPool, Versions: []string{"all"}, MaxTLP: intel.TLPRed, Limit: 500}
	for {
		pg, err := db.STIXObjects(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range pg.Objects {
			rtAddVersion(t, out, o.Raw)
		}
		if !pg.More {
			return out
		}
		q.Next = pg.Next
	}
}

// rtAddVersion adds one object to a version set, failing on a version seen twice.
func rtAddVersion(t *testing.T, set map[string]json.RawMessage, raw json.RawMessage) {
	t.Helper()
	m, err := stix.ObjectMeta(raw)
	if err != nil {
		t.Fatalf("object %s: %v", raw, err)
	}
	k := m.ID + "|"
	if !m.Modified.IsZero() {
		k += m.Modified.UTC().Format(time.RFC3339Nano)
	}
	if _, dup := set[k]; dup {
		t.Errorf("version %s twice", k)
	}
	set[k] = raw
}

// rtServedVersions pages a collection of A's TAXII server with match[version]=all, following next.
func rtServedVersions(t *testing.T, addr, key, coll string) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	base := "http://" + addr + "/omen/collections/" + coll + "/objects/?match[version]=all"
	u := base
	for page := 1; ; page++ {
		code, body := rtDo(t, "GET", u, key, nil)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", u, code, body)
		}
		env, err := ctaxii.ParseEnvelope(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Objects {
			rtAddVersion(t, out, o)
		}
		if !env.More {
			return out
		}
		if env.Next == "" || page > 1000 {
			t.Fatalf("page %d: more without next", page)
		}
		u = base + "&next=" + url.QueryEscape(env.Next)
	}
}

// rtDo sends a TAXII request with the key as a Bearer token.
func rtDo(t *testing.T, method, u, key string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", taxii.MediaType)
	if body != nil {
		req.Header.Set("Content-Type", taxii.MediaType)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// rtSameVersions checks that B holds exactly the versions A serves, each with the same content.
// A version B lacks while it holds a newer version of the same object is reported apart from a
// plain loss, as it has a known cause (see the report at the end).
func rtSameVersions(t *testing.T, served, held map[string]json.RawMessage) {
	t.Helper()
	newest := map[string]string{} // object id -> the newest version B holds
	for k := range held {
		id, v, _ := strings.Cut(k, "|")
		newest[id] = max(newest[id], v)
	}
	var older, lost []string
	for k, raw := range served {
		got, ok := held[k]
		id, v, _ := strings.Cut(k, "|")
		switch {
		case !ok && newest[id] > v:
			older = append(older, k)
		case !ok:
			lost = append(lost, k)
		case !rtSameJSON(raw, got):
			t.Errorf("%s differs:\nA %s\nB %s", k, raw, got)
		}
	}
	slices.Sort(older)
	slices.Sort(lost)
	if len(lost) > 0 {
		t.Errorf("lost: B lacks %d versions A serves: %q", len(lost), lost)
	}
	if len(older) > 0 {
		t.Errorf("B lacks %d older versions of objects whose newest version it holds, e.g. %q: does the taxii "+
			"collector still ask for match[version]=all?", len(older), older[:min(3, len(older))])
	}
	for k := range held {
		if _, ok := served[k]; !ok {
			t.Errorf("B holds %s, which A does not serve", k)
		}
	}
	if len(held) != len(served) {
		t.Errorf("B holds %d versions, A serves %d", len(held), len(served))
	}
}

func rtSameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// rtSameLookups compares A's and B's `omen lookup --json` of each value. What must match is what
// the intelligence says: the verdict class (a known value, matching or expired, or unknown), the
// indicators matched, and the entities (malware, campaign, threat actor, ATT&CK...) linked to
// them. Scores, bands and the verdict's strength may differ: A holds the objects from a source
// graded A with confidence 90, B from its TAXII source graded B with confidence 80, and the
// sources' names differ.
func rtSameLookups(t *testing.T, a, b *rtNode, values []string) {
	t.Helper()
	ras, rbs := a.lookupAll(values), b.lookupAll(values)
	known := 0
	for i, v := range values {
		ra, rb := ras[i], rbs[i]
		ca, cb := rtVerdictClass(ra), rtVerdictClass(rb)
		if ca != cb {
			t.Errorf("%s: A %s (%s), B %s (%s)", v, ca, ra.Verdict, cb, rb.Verdict)
			continue
		}
		if ca != "unknown" {
			known++
		}
		if ea, eb := rtMatchView(ra), rtMatchView(rb); !slices.Equal(ea, eb) {
			t.Errorf("%s: different matches and entities\nA %q\nB %q", v, ea, eb)
		}
	}
	if known == 0 {
		t.Errorf("none of %d values is known to A", len(values))
	}
	t.Logf("compared %d lookups (%d known)", len(values), known)
}

// rtVerdictClass is "matched" (a live match), "expired" (known only from expired indicators) or
// "unknown".
func rtVerdictClass(r lookup.Result) string {
	switch {
	case len(r.Matches) > 0:
		return "matched"
	case len(r.Expired) > 0:
		return "expired"
	}
	return "unknown"
}

// rtMatchView lists, sorted, the matched indicators and the entities linked to them (a link made
// twice shows twice).
func rtMatchView(r lookup.Result) []string {
	var out []string
	for _, ms := range [][]lookup.Match{r.Matches, r.Expired} {
		for _, m := range ms {
			out = append(out, fmt.Sprintf("indicator %s %s %s", m.Match, m.Indicator.Type, m.Indicator.Value))
			for _, e := range m.Indicator.Entities {
				out = append(out, fmt.Sprintf("entity %s %q id=%s via=%q", e.Type, e.Name, e.ID, e.Via))
			}
		}
	}
	slices.Sort(out)
	return out
}

// rtSourceConfig is B's configuration: one taxii source reading A's "all" collection.
func rtSourceConfig(base string) string {
	return fmt.Sprintf("sources:\n  - {name: from-a, kind: taxii, url: %q, auth_header: Authorization, auth_env: OMEN_TEST_TAXII_KEY, reliability: B, confidence: 80, tlp: amber}\n",
		base+"/omen/collections/"+config.TAXIIAllID+"/")
}

// rtOASISFixtures are the genuine OASIS STIX 2.1 examples that are bundles.
func rtOASISFixtures(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../stix/testdata/oasis-examples/*.json")
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(`"bundle"`)) {
			out = append(out, f)
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d OASIS bundles", len(out))
	}
	return out
}

var rtPatternValue = regexp.MustCompile(`(?:ipv4-addr|ipv6-addr|domain-name|url):value\s*=\s*'([^']+)'|file:hashes\.'?[A-Za-z0-9-]+'?\s*=\s*'([0-9a-fA-F]+)'`)

// rtFixtureValues returns the observable values of the fixtures' indicator patterns and of their
// ipv4-addr, domain-name and url objects.
func rtFixtureValues(t *testing.T, files []string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var bundle struct {
			Objects []struct {
				Type, Pattern, Value string
			}
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range bundle.Objects {
			switch o.Type {
			case "indicator":
				for _, m := range rtPatternValue.FindAllStringSubmatch(o.Pattern, -1) {
					out = append(out, m[1]+m[2])
				}
			case "ipv4-addr", "ipv6-addr", "domain-name", "url":
				out = append(out, o.Value)
			}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) < 3 {
		t.Fatalf("only %d values in the fixtures: %q", len(out), out)
	}
	return out
}

// rtGeneratedBundle writes a STIX 2.1 bundle (generated here, not a fixture) of n indicators of
// private addresses, so that they name nothing real: every third one in two versions, every fifth
// one indicating a generated malware family. It returns the file and the addresses.
func rtGeneratedBundle(t *testing.T, n int) (string, []string) {
	t.Helper()
	const mal = "malware--2d1b1d6c-9f0e-4c5b-8a3d-5e6f7a8b9c0d"
	objs := []map[string]any{{"type": "malware", "spec_version": "2.1", "id": mal, "created": "2026-01-02T00:00:00.000Z",
		"modified": "2026-01-02T00:00:00.000Z", "name": "rt-generated-family", "is_family": true}}
	var values []string
	for i := range n {
		ip := fmt.Sprintf("10.77.%d.%d", i/200, i%200+1)
		values = append(values, ip)
		id := fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", 0x7e570000+i, i)
		ind := func(modified, pattern string) map[string]any {
			return map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "created": "2026-01-01T00:00:00.000Z",
				"modified": modified, "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
				"indicator_types": []string{"malicious-activity"}}
		}
		pattern := fmt.Sprintf("[ipv4-addr:value = '%s']", ip)
		objs = append(objs, ind("2026-01-01T00:00:00.000Z", pattern))
		if i%3 == 0 {
			objs = append(objs, ind("2026-01-03T00:00:00.000Z", pattern))
		}
		if i%5 == 0 {
			objs = append(objs, map[string]any{"type": "relationship", "spec_version": "2.1",
				"id": fmt.Sprintf("relationship--%08x-0000-4000-8000-%012x", 0x7e570000+i, i), "created": "2026-01-02T00:00:00.000Z",
				"modified": "2026-01-02T00:00:00.000Z", "relationship_type": "indicates", "source_ref": id, "target_ref": mal})
		}
	}
	b, err := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "objects": objs})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "generated.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f, values
}
