package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/api"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/lookup"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/risk"
)

// apiParams sizes [API]; tests shrink it.
type apiParams struct {
	n        int           // indicators in the store
	clients  int           // concurrent keep-alive clients of the load runs
	duration time.Duration // of each load run
	bulk     int           // values per bulk POST
	reps     int           // bulk POSTs per case (the median is reported)
}

// API measures the REST API (path 3 of performance-baselines.md) over n indicators in the B6 mix,
// served by api.New with lookup.NewWithKB on 127.0.0.1: requests/s of GET /api/v1/lookup/{value}
// (half known values, half unknown) beside a no-op handler on the same kind of server under the
// same load (R1), the latency of single lookups, and the median latency of POST /api/v1/lookup
// with 1,000 values (R2): 10% known, all known never looked up before (cold details cache), and all
// known repeated. The repeating cases run twice: as a server answers them (recent answers given
// again, see lookup's answer cache), and with every answer computed afresh.
func API(ctx context.Context, dir string, n int, logf func(string, ...any)) ([]Figure, error) {
	return runAPI(ctx, dir, apiParams{n: n, clients: 16, duration: 5 * time.Second, bulk: 1000, reps: 20}, logf)
}

func runAPI(ctx context.Context, dir string, p apiParams, logf func(string, ...any)) ([]Figure, error) {
	logf("generating and ingesting %d indicators (B6 mix)", p.n)
	set := mixedSet(p.n, 21)
	st, took, err := loadStore(ctx, filepath.Join(dir, "api.db"), set, logf)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	logf("  took %s", took.Round(time.Millisecond))
	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		return nil, err
	}
	logf("building the knowledge base")
	k, err := kb.Open(ctx, st, kb.Options{Warninglists: lists})
	if err != nil {
		return nil, err
	}
	svc := lookup.NewWithKB(k, risk.DefaultModel())
	_, secret, err := api.CreateKey(ctx, st, "bench", intel.RoleReader, nil, "bench")
	if err != nil {
		return nil, err
	}
	apiURL, stopAPI, err := serve(api.New(api.Deps{Store: st, Lookup: svc, Version: "bench"}))
	if err != nil {
		return nil, err
	}
	defer stopAPI()
	// The same API with every answer computed afresh: what a value not asked in the last seconds
	// costs.
	fresh := lookup.NewWithKB(k, risk.DefaultModel())
	fresh.NoAnswerCache()
	freshURL, stopFresh, err := serve(api.New(api.Deps{Store: st, Lookup: fresh, Version: "bench"}))
	if err != nil {
		return nil, err
	}
	defer stopFresh()
	noopURL, stopNoop, err := serve(noopHandler{})
	if err != nil {
		return nil, err
	}
	defer stopNoop()

	// The values: known ones from the set (in random order, so that each bulk case gets values no
	// earlier request looked up), unknown ones from TEST-NET-3 and random SHA-256.
	r := rand.New(rand.NewPCG(22, 22))
	known := make([]string, len(set.all))
	for i, j := range r.Perm(len(set.all)) {
		known[i] = set.all[j].Value
	}
	// Keep only the values the runs use (the head for the bulk cases, the tail for single
	// lookups), so that the harness's own million strings do not weigh on the server's garbage
	// collections.
	if keep := 3*p.reps*p.bulk + p.bulk + 50000; len(known) > keep {
		known = slices.Concat(known[:keep-50000], known[len(known)-50000:])
	}
	set = nil
	runtime.GC()
	unknown := func() string {
		if r.IntN(2) == 0 {
			return fmt.Sprintf("203.0.113.%d", r.IntN(256))
		}
		return randHex(r, 64)
	}

	// Single lookups: half known, half unknown; the known ones are the tail of known, which the
	// bulk cases below do not use first.
	const paths = 4096
	lookups := make([]string, paths)
	freshes := make([]string, paths)
	noops := make([]string, paths)
	for i := range lookups {
		v := unknown()
		if i%2 == 0 {
			v = known[len(known)-1-r.IntN(min(len(known), 50000))]
		}
		lookups[i] = apiURL + "/api/v1/lookup/" + url.PathEscape(v)
		freshes[i] = freshURL + "/api/v1/lookup/" + url.PathEscape(v)
		noops[i] = noopURL + "/api/v1/lookup/" + url.PathEscape(v)
	}
	auth := "Bearer " + secret
	client := httpClient(p.clients)
	defer client.CloseIdleConnections()
	// Check the lookup route answers before timing it.
	if err := get(ctx, client, lookups[0], auth); err != nil {
		return nil, err
	}

	var figs []Figure
	logf("no-op handler: %d clients for %s", p.clients, p.duration)
	noopRun, err := load(ctx, client, noops, auth, p.clients, p.duration, 0)
	if err != nil {
		return nil, fmt.Errorf("no-op run: %w", err)
	}
	logf("GET /api/v1/lookup/{value}: %d clients for %s", p.clients, p.duration)
	lookRun, err := load(ctx, client, lookups, auth, p.clients, p.duration, 0)
	if err != nil {
		return nil, fmt.Errorf("lookup run: %w", err)
	}
	logf("the same with the answer cache off, for %s", p.duration)
	freshRun, err := load(ctx, client, freshes, auth, p.clients, p.duration, 0)
	if err != nil {
		return nil, fmt.Errorf("lookup run: %w", err)
	}
	logf("one client, one request at a time, for %s each", p.duration)
	noopSeq, err := load(ctx, client, noops, auth, 1, p.duration, 0)
	if err != nil {
		return nil, fmt.Errorf("no-op run: %w", err)
	}
	lookSeq, err := load(ctx, client, lookups, auth, 1, p.duration, 0)
	if err != nil {
		return nil, fmt.Errorf("lookup run: %w", err)
	}
	half := noopRun.rate / 2
	logf("both again, paced at %.0f req/s (half the no-op rate), for %s each", half, p.duration)
	noopHalf, err := load(ctx, client, noops, auth, p.clients, p.duration, half)
	if err != nil {
		return nil, fmt.Errorf("no-op run: %w", err)
	}
	lookHalf, err := load(ctx, client, lookups, auth, p.clients, p.duration, half)
	if err != nil {
		return nil, fmt.Errorf("lookup run: %w", err)
	}
	figs = append(figs,
		Figure{Name: fmt.Sprintf("R1 GET lookup, %d clients (half known)", p.clients), Value: lookRun.rate, Unit: "req/s",
			Baseline: noopRun.rate, BaseName: "no-op handler req/s", Ratio: lookRun.rate / noopRun.rate, Target: "≥ 0.7"},
		Figure{Name: fmt.Sprintf("R1 GET lookup, %d clients, answer cache off", p.clients), Value: freshRun.rate, Unit: "req/s",
			Baseline: noopRun.rate, BaseName: "no-op handler req/s", Ratio: freshRun.rate / noopRun.rate, Target: "≥ 0.7"},
		Figure{Name: fmt.Sprintf("GET lookup p50, %d clients", p.clients), Value: us(lookRun.p50), Unit: "µs",
			Baseline: us(noopRun.p50), BaseName: "no-op p50 µs", Ratio: us(lookRun.p50) / us(noopRun.p50)},
		Figure{Name: fmt.Sprintf("GET lookup p99, %d clients", p.clients), Value: us(lookRun.p99), Unit: "µs",
			Baseline: us(noopRun.p99), BaseName: "no-op p99 µs", Ratio: us(lookRun.p99) / us(noopRun.p99)},
		Figure{Name: "GET lookup, 1 client", Value: lookSeq.rate, Unit: "req/s",
			Baseline: noopSeq.rate, BaseName: "no-op handler req/s", Ratio: lookSeq.rate / noopSeq.rate},
		Figure{Name: "GET lookup p50, 1 client", Value: us(lookSeq.p50), Unit: "µs",
			Baseline: us(noopSeq.p50), BaseName: "no-op p50 µs", Ratio: us(lookSeq.p50) / us(noopSeq.p50)},
		Figure{Name: "GET lookup p99, 1 client", Value: us(lookSeq.p99), Unit: "µs",
			Baseline: us(noopSeq.p99), BaseName: "no-op p99 µs", Ratio: us(lookSeq.p99) / us(noopSeq.p99)},
		Figure{Name: fmt.Sprintf("GET lookup paced at %.0f req/s: achieved", half), Value: lookHalf.rate, Unit: "req/s",
			Baseline: noopHalf.rate, BaseName: "no-op req/s", Ratio: lookHalf.rate / noopHalf.rate},
		Figure{Name: "R1 GET lookup p99 at half the no-op rate", Value: us(lookHalf.p99), Unit: "µs",
			Baseline: us(noopHalf.p99), BaseName: "no-op p99 µs", Ratio: us(lookHalf.p99) / us(noopHalf.p99), Target: "≤ 2"})

	// Bulk lookups. Known values are taken from the head of known, each only once across the
	// cold cases, so that their details are not in the KB's cache yet.
	next := 0
	take := func(m int) []string {
		out := make([]string, m)
		for i := range out {
			out[i] = known[next%len(known)]
			next++
		}
		return out
	}
	bulkCase := func(name, base string, body func(i int) []string) error {
		var lat []time.Duration
		for i := range p.reps {
			vals := body(i)
			t0 := time.Now()
			if err := postLookup(ctx, client, base, auth, vals); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		figs = append(figs, Figure{Name: fmt.Sprintf("R2 POST lookup of %d, %s (median of %d)", p.bulk, name, p.reps),
			Value: us(lat[len(lat)/2]), Unit: "µs", Target: "< 10,000 µs (10 ms)"})
		return nil
	}
	logf("POST /api/v1/lookup with %d values, %d times per case", p.bulk, p.reps)
	if err := bulkCase("10% known", apiURL, func(int) []string {
		vals := take(p.bulk / 10)
		for len(vals) < p.bulk {
			vals = append(vals, unknown())
		}
		r.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
		return vals
	}); err != nil {
		return nil, err
	}
	if err := bulkCase("all known, cold cache", apiURL, func(int) []string { return take(p.bulk) }); err != nil {
		return nil, err
	}
	repeated := take(p.bulk)
	if err := postLookup(ctx, client, apiURL, auth, repeated); err != nil { // warm the cache
		return nil, err
	}
	if err := bulkCase("all known, repeated", apiURL, func(int) []string { return repeated }); err != nil {
		return nil, err
	}
	if err := bulkCase("all known, repeated, answer cache off", freshURL, func(int) []string { return repeated }); err != nil {
		return nil, err
	}
	// The same in process, without HTTP and JSON, for reference.
	var lat []time.Duration
	for range p.reps {
		t0 := time.Now()
		if _, err := fresh.Lookup(ctx, repeated, intel.TLPAmber); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	figs = append(figs, Figure{Name: fmt.Sprintf("lookup.Service.Lookup of %d known, in process, repeated, answer cache off (median)", p.bulk),
		Value: us(lat[len(lat)/2]), Unit: "µs"})
	return figs, nil
}

// noopHandler is the baseline handler: it answers "{}".
type noopHandler struct{}

func (noopHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("{}")) }

// httpClient returns a client keeping enough idle connections for clients concurrent users.
func httpClient(clients int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2,
		IdleConnTimeout: time.Minute}}
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// serve serves h on a fresh 127.0.0.1 port and returns its base URL and a function stopping it.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) //nolint:errcheck // ErrServerClosed on stop
	}()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) //nolint:errcheck // best effort
		<-done
	}, nil
}

// loadResult is one load run.
type loadResult struct {
	rate     float64 // requests/s
	p50, p99 time.Duration
}

// load runs clients goroutines, each sending GET requests to the urls in turn (from its own
// offset) over keep-alive connections for d, and returns the requests/s and the latency
// percentiles. Any answer but 200 ends the run with an error.
// With rate > 0 the clients together send at most rate requests/s, each on a schedule of its own.
func load(ctx context.Context, client *http.Client, urls []string, auth string, clients int, d time.Duration, rate float64) (loadResult, error) {
	lats := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for c := range clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1<<16)
			var every time.Duration
			if rate > 0 {
				every = time.Duration(float64(clients) / rate * float64(time.Second))
			}
			slot := start.Add(every * time.Duration(c) / time.Duration(clients))
			for i := c * 997; ; i++ {
				if every > 0 {
					time.Sleep(time.Until(slot))
					slot = slot.Add(every)
				}
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				if err := get(ctx, client, urls[i%len(urls)], auth); err != nil {
					errs[c] = err
					return
				}
				lat = append(lat, time.Since(t0))
			}
			lats[c] = lat
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return loadResult{}, err
	}
	all := slices.Concat(lats...)
	if len(all) == 0 {
		return loadResult{}, errors.New("no request completed")
	}
	slices.Sort(all)
	return loadResult{rate: float64(len(all)) / took.Seconds(), p50: all[len(all)/2], p99: all[len(all)*99/100]}, nil
}

// get sends one GET and reads the whole answer, which must be a 200.
func get(ctx context.Context, client *http.Client, u, auth string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	return do(client, req)
}

func do(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// postLookup sends POST /api/v1/lookup with values and reads the whole answer.
func postLookup(ctx context.Context, client *http.Client, base, auth string, values []string) error {
	body, err := json.Marshal(map[string][]string{"values": values})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/lookup", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	return do(client, req)
}
