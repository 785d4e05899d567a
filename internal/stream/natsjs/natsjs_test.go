package natsjs

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The tests below need a NATS server with JetStream: OMEN_TEST_NATS_URL=nats://127.0.0.1:4222.

const (
	envURL    = "OMEN_TEST_NATS_URL"
	envHelper = "OMEN_NATSJS_HELPER" // switches TestHelperConsumer on in a child process
	envConfig = "OMEN_NATSJS_HELPER_CONFIG"

	helperPrefix = "natsjs-helper:"
	waitLimit    = 60 * time.Second
)

type fixture struct {
	url string
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg Config
}

func testURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		t.Skipf("%s not set: no NATS JetStream server to test against", envURL)
	}
	return u
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newFixture connects to the test server and picks unique names; streams are deleted at the end of the test.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	u := testURL(t)
	nc, err := nats.Connect(u)
	if err != nil {
		t.Fatalf("connecting to %s: %v", RedactURL(u), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := strings.ToUpper(hex.EncodeToString(b))
	f := &fixture{url: u, nc: nc, js: js, cfg: Config{
		URL:           u,
		Stream:        "OMEN_TEST_IN_" + id,
		OutStream:     "OMEN_TEST_OUT_" + id,
		From:          "omentest." + id + ".events",
		To:            "omentest." + id + ".enriched",
		Durable:       "omen-test-" + id,
		Workers:       4,
		Batch:         4,
		AckWait:       2 * time.Second,
		MaxDeliver:    10,
		NakDelay:      100 * time.Millisecond,
		MaxAckPending: 64,
		Log:           testLogger(t),
	}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range []string{f.cfg.Stream, f.cfg.OutStream} {
			if err := js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Errorf("deleting stream %s: %v", s, err)
			}
		}
		nc.Close()
	})
	return f
}

type event struct {
	ID int `json:"id"`
}

type enriched struct {
	Event    event `json:"event"`
	Enriched bool  `json:"enriched"`
}

func enrich(event []byte) []byte {
	return []byte(`{"enriched":true,"event":` + string(event) + `}`)
}

// publishEvents creates the input stream when needed and stores events with ids from..to-1.
func (f *fixture) publishEvents(t *testing.T, from, to int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := ensureStream(ctx, f.js, jetstream.StreamConfig{Name: f.cfg.Stream, Subjects: []string{f.cfg.From}}); err != nil {
		t.Fatal(err)
	}
	for i := from; i < to; i++ {
		if _, err := f.js.Publish(ctx, f.cfg.From, fmt.Appendf(nil, `{"id":%d}`, i)); err != nil {
			t.Fatalf("publishing event %d: %v", i, err)
		}
	}
}

// outputs reads every message of the output stream.
func (f *fixture) outputs(t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	s, err := f.js.Stream(ctx, f.cfg.OutStream)
	if err != nil {
		t.Fatalf("output stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("output message %d: %v", seq, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// outputCount returns the number of messages on the output stream, 0 while it does not exist.
func (f *fixture) outputCount() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := f.js.Stream(ctx, f.cfg.OutStream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// settled reports whether the durable consumer has delivered everything and holds no unacked message.
func (f *fixture) settled() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := f.js.Consumer(ctx, f.cfg.Stream, f.cfg.Durable)
	if err != nil {
		return false
	}
	info, err := c.Info(ctx)
	if err != nil {
		return false
	}
	return info.NumPending == 0 && info.NumAckPending == 0
}

// waitUntil polls cond with a generous limit; it fails the test only if cond never holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type runResult struct {
	stats Stats
	err   error
}

// startRun runs Run in a goroutine; the returned function (also called at cleanup) stops it and waits.
func startRun(t *testing.T, cfg Config, p Process) (stop func() runResult) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan runResult, 1)
	go func() {
		s, err := Run(ctx, cfg, p)
		done <- runResult{s, err}
	}()
	var once sync.Once
	var res runResult
	stop = func() runResult {
		once.Do(func() {
			cancel()
			res = <-done
		})
		return res
	}
	t.Cleanup(func() { stop() })
	return stop
}

// checkOutputs asserts that the output stream holds exactly one enriched copy of each wanted event id, and that
// each carries the Nats-Msg-Id of its input.
func (f *fixture) checkOutputs(t *testing.T, want map[int]bool) {
	t.Helper()
	seen := map[int]int{}
	for _, m := range f.outputs(t) {
		var e enriched
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatalf("output %d: %v: %q", m.Sequence, err, m.Data)
		}
		if !e.Enriched {
			t.Errorf("output %d not enriched: %s", m.Sequence, m.Data)
		}
		seen[e.Event.ID]++
		// Input sequences start at 1 and event ids at 0 in every test.
		if got, wantID := m.Header.Get(jetstream.MsgIDHeader), MsgID(f.cfg.Stream, uint64(e.Event.ID+1)); got != wantID {
			t.Errorf("output %d: Nats-Msg-Id %q, want %q", m.Sequence, got, wantID)
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("event %d published %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if !want[id] {
			t.Errorf("event %d published %d times, want never", id, n)
		}
	}
}

func ids(from, to int, skip func(int) bool) map[int]bool {
	m := map[int]bool{}
	for i := from; i < to; i++ {
		if skip == nil || !skip(i) {
			m[i] = true
		}
	}
	return m
}

func TestRunRoundTrip(t *testing.T) {
	f := newFixture(t)
	const n = 100
	f.publishEvents(t, 0, n)
	var calls atomic.Int64
	p := func(_ context.Context, ev []byte) ([]byte, bool, error) {
		calls.Add(1)
		return enrich(ev), false, nil
	}

	stop := startRun(t, f.cfg, p)
	waitUntil(t, "all events enriched", func() bool { return f.outputCount() == n && f.settled() })
	res := stop()
	if res.err != nil {
		t.Fatalf("Run: %v", res.err)
	}
	if res.stats.Published != n || res.stats.Received < n || res.stats.Failed != 0 {
		t.Errorf("stats = %+v, want %d published, no failure", res.stats, n)
	}
	f.checkOutputs(t, ids(0, n, nil))

	// A restart picks up where the durable consumer left off: only new events are processed.
	f.publishEvents(t, n, n+10)
	before := calls.Load()
	stop = startRun(t, f.cfg, p)
	waitUntil(t, "new events enriched after restart", func() bool { return f.outputCount() == n+10 && f.settled() })
	res = stop()
	if res.err != nil {
		t.Fatalf("Run after restart: %v", res.err)
	}
	if res.stats.Published != 10 || calls.Load()-before < 10 {
		t.Errorf("after restart: stats = %+v, process calls %d, want 10 published", res.stats, calls.Load()-before)
	}
	f.checkOutputs(t, ids(0, n+10, nil))
}

func TestRunProcessErrorsAndDrops(t *testing.T) {
	f := newFixture(t)
	f.cfg.MaxDeliver = 3
	const n = 60
	failFirst := func(id int) bool { return id%4 == 1 }
	dropped := func(id int) bool { return id%5 == 0 }
	const alwaysFails, panicsFirst = 7, 11
	f.publishEvents(t, 0, n)

	var mu sync.Mutex
	attempts := map[int]int{}
	p := func(_ context.Context, ev []byte) ([]byte, bool, error) {
		var e event
		if err := json.Unmarshal(ev, &e); err != nil {
			return nil, false, err
		}
		mu.Lock()
		attempts[e.ID]++
		a := attempts[e.ID]
		mu.Unlock()
		switch {
		case e.ID == alwaysFails:
			return nil, false, errors.New("enrichment backend down")
		case e.ID == panicsFirst && a == 1:
			panic("boom")
		case failFirst(e.ID) && a == 1:
			return nil, false, errors.New("transient failure")
		case dropped(e.ID):
			return nil, true, nil
		}
		return enrich(ev), false, nil
	}

	want := ids(0, n, func(id int) bool { return dropped(id) || id == alwaysFails })
	stop := startRun(t, f.cfg, p)
	waitUntil(t, "events enriched, dropped or terminated", func() bool {
		return f.outputCount() == uint64(len(want)) && f.settled()
	})
	res := stop()
	if res.err != nil {
		t.Fatalf("Run: %v", res.err)
	}
	f.checkOutputs(t, want)

	nFailFirst, nDropped := 0, 0
	for id := range n {
		if failFirst(id) {
			nFailFirst++
		}
		if dropped(id) {
			nDropped++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for id := range n {
		if (failFirst(id) || id == panicsFirst) && attempts[id] < 2 {
			t.Errorf("event %d failed once but was processed %d times, want a redelivery", id, attempts[id])
		}
	}
	if attempts[alwaysFails] != f.cfg.MaxDeliver {
		t.Errorf("always failing event processed %d times, want MaxDeliver=%d", attempts[alwaysFails], f.cfg.MaxDeliver)
	}
	s := res.stats
	if s.Terminated != 1 || s.Dropped < int64(nDropped) || s.Failed < int64(nFailFirst+1+f.cfg.MaxDeliver) {
		t.Errorf("stats = %+v, want 1 terminated, >= %d dropped, >= %d failed", s, nDropped, nFailFirst+1+f.cfg.MaxDeliver)
	}
}

func TestRunSetupErrors(t *testing.T) {
	t.Run("short duplicate window", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		if _, err := f.js.CreateStream(ctx, jetstream.StreamConfig{
			Name: f.cfg.OutStream, Subjects: []string{f.cfg.To}, Duplicates: 5 * time.Second,
		}); err != nil {
			t.Fatal(err)
		}
		_, err := Run(ctx, f.cfg, func(context.Context, []byte) ([]byte, bool, error) { return nil, true, nil })
		if err == nil || !strings.Contains(err.Error(), "duplicate window 5s") {
			t.Fatalf("Run = %v, want duplicate window error", err)
		}
	})
	t.Run("input stream captures to", func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		wide := strings.TrimSuffix(f.cfg.From, ".events") + ".>"
		if _, err := f.js.CreateStream(ctx, jetstream.StreamConfig{Name: f.cfg.Stream, Subjects: []string{wide}}); err != nil {
			t.Fatal(err)
		}
		_, err := Run(ctx, f.cfg, func(context.Context, []byte) ([]byte, bool, error) { return nil, true, nil })
		if err == nil || !strings.Contains(err.Error(), "would be consumed again") {
			t.Fatalf("Run = %v, want loop error", err)
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		_, err := Run(context.Background(), Config{URL: "nats://127.0.0.1:1", From: "a", To: "a"}, nil)
		if err == nil {
			t.Fatal("Run with nil process: want error")
		}
		_, err = Run(context.Background(), Config{URL: "nats://127.0.0.1:1", From: "a", To: "a"},
			func(context.Context, []byte) ([]byte, bool, error) { return nil, true, nil })
		if err == nil || !strings.Contains(err.Error(), "invalid config") {
			t.Fatalf("Run = %v, want invalid config", err)
		}
	})
}

// helperConfig is what the parent test hands to the child consumer.
type helperConfig struct {
	Config
	PauseAfter int           // publishes after which every worker blocks between publish and ack
	Delay      time.Duration // per-event processing time
}

// TestHelperConsumer is not a test: TestRunKilledConsumer runs it in a child process, which it then kills.
// It consumes slowly, reports progress on stdout and, after PauseAfter publishes, blocks each worker after its
// publish was acknowledged and before the input is acked: the window a crash must not turn into a duplicate.
func TestHelperConsumer(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		t.Skip("helper process for TestRunKilledConsumer")
	}
	var hc helperConfig
	if err := json.Unmarshal([]byte(os.Getenv(envConfig)), &hc); err != nil {
		t.Fatalf("helper config: %v", err)
	}
	hc.URL = testURL(t)
	hc.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	var published atomic.Int64
	var out sync.Mutex
	say := func(format string, a ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(helperPrefix+" "+format+"\n", a...)
	}
	hc.afterPublish = func(id string) {
		n := published.Add(1)
		say("published %d %s", n, id)
		if n >= int64(hc.PauseAfter) {
			say("paused %s", id)
			select {} // killed here
		}
	}
	_, err := Run(context.Background(), hc.Config, func(_ context.Context, ev []byte) ([]byte, bool, error) {
		time.Sleep(hc.Delay)
		return enrich(ev), false, nil
	})
	t.Fatalf("helper Run returned: %v", err)
}

func TestRunKilledConsumer(t *testing.T) {
	f := newFixture(t)
	const n = 300
	f.publishEvents(t, 0, n)

	// The child: two slow workers, frozen between publish and ack after 30 publishes, then SIGKILLed.
	hc := helperConfig{Config: f.cfg, PauseAfter: 30, Delay: 10 * time.Millisecond}
	hc.Log, hc.URL = nil, ""
	hc.Workers, hc.Batch = 2, 2
	raw, err := json.Marshal(hc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperConsumer$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"=1", envConfig+"="+string(raw))
	cmd.Stderr = tWriter{t}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	progress := make(chan string)
	go func() {
		defer close(progress)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), helperPrefix+" "); ok {
				progress <- line
			}
		}
	}()
	next := func(what string) string {
		select {
		case line, ok := <-progress:
			if !ok {
				t.Fatalf("child exited before %s", what)
			}
			return line
		case <-time.After(waitLimit):
			t.Fatalf("gave up waiting for the child: %s", what)
		}
		return ""
	}

	// Once the child has published a few, a second consumer on the same durable joins in this process.
	for {
		fields := strings.Fields(next("first publishes"))
		if fields[0] == "published" {
			if k, _ := strconv.Atoi(fields[1]); k >= 5 {
				break
			}
		}
	}
	parentCfg := f.cfg
	parentCfg.Workers, parentCfg.Batch = 2, 2
	stop := startRun(t, parentCfg, func(_ context.Context, ev []byte) ([]byte, bool, error) {
		time.Sleep(20 * time.Millisecond)
		return enrich(ev), false, nil
	})

	var pausedID string
	for pausedID == "" {
		if line, ok := strings.CutPrefix(next("the child to pause after publish"), "paused "); ok {
			pausedID = line
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed = true
	_ = cmd.Wait()
	for range progress { // drain what the child printed before dying
	}
	t.Logf("child killed after publishing %s without acking it", pausedID)

	waitUntil(t, "every event enriched", func() bool { return f.outputCount() >= n && f.settled() })
	res := stop()
	if res.err != nil {
		t.Fatalf("Run: %v", res.err)
	}
	f.checkOutputs(t, ids(0, n, nil))
	if res.stats.Duplicates < 1 {
		t.Errorf("stats = %+v: the event published but not acked by the killed child was not republished", res.stats)
	}
	if res.stats.Published >= n {
		t.Errorf("stats = %+v: the second consumer published everything, the child none", res.stats)
	}
}

// TestRunShutdownFinishesInFlight cancels Run while an event is being processed: that event is still published
// and acked before Run returns.
func TestRunShutdownFinishesInFlight(t *testing.T) {
	f := newFixture(t)
	f.cfg.Workers, f.cfg.Batch = 1, 1
	f.publishEvents(t, 0, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	var once sync.Once
	p := func(_ context.Context, ev []byte) ([]byte, bool, error) {
		once.Do(func() {
			close(started)
			<-ctx.Done() // still processing when shutdown begins
		})
		return enrich(ev), false, nil
	}
	done := make(chan runResult, 1)
	go func() {
		s, err := Run(ctx, f.cfg, p)
		done <- runResult{s, err}
	}()
	select {
	case <-started:
	case res := <-done:
		t.Fatalf("Run returned before processing: %+v", res)
	}
	cancel()
	res := <-done
	if res.err != nil {
		t.Fatalf("Run: %v", res.err)
	}
	if res.stats.Published < 1 {
		t.Fatalf("stats = %+v: the in-flight event was not published", res.stats)
	}
	var first bool
	for _, m := range f.outputs(t) {
		first = first || m.Header.Get(jetstream.MsgIDHeader) == MsgID(f.cfg.Stream, 1)
	}
	if !first {
		t.Error("event in flight at shutdown missing from the output")
	}
	c, err := f.js.Consumer(context.Background(), f.cfg.Stream, f.cfg.Durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream < 1 {
		t.Errorf("ack floor %d: the event in flight at shutdown was not acked", info.AckFloor.Stream)
	}
}

// TestRunConsumerDeleted checks that Run stops with an error naming the consumer when it is deleted under it.
func TestRunConsumerDeleted(t *testing.T) {
	f := newFixture(t)
	f.publishEvents(t, 0, 1)
	done := make(chan runResult, 1)
	go func() {
		s, err := Run(context.Background(), f.cfg, func(_ context.Context, ev []byte) ([]byte, bool, error) {
			return enrich(ev), false, nil
		})
		done <- runResult{s, err}
	}()
	waitUntil(t, "first event enriched", func() bool { return f.outputCount() == 1 && f.settled() })
	if err := f.js.DeleteConsumer(context.Background(), f.cfg.Stream, f.cfg.Durable); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.err == nil || !strings.Contains(res.err.Error(), f.cfg.Durable) {
			t.Fatalf("Run = %v, want an error naming consumer %s", res.err, f.cfg.Durable)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after its consumer was deleted")
	}
}

// cutProxy forwards TCP connections to a NATS server and can cut them all, as a network failure would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestRunReconnects cuts the connection midway: Run reconnects and every event still comes out exactly once.
func TestRunReconnects(t *testing.T) {
	f := newFixture(t)
	u, err := url.Parse(strings.Split(f.url, ",")[0])
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	const n = 200
	f.publishEvents(t, 0, n)
	cfg := f.cfg
	cfg.URL = "nats://" + proxy.ln.Addr().String()
	if u.User != nil {
		cfg.URL = "nats://" + u.User.String() + "@" + proxy.ln.Addr().String()
	}
	cfg.Workers, cfg.Batch = 2, 4
	stop := startRun(t, cfg, func(_ context.Context, ev []byte) ([]byte, bool, error) {
		time.Sleep(5 * time.Millisecond)
		return enrich(ev), false, nil
	})
	waitUntil(t, "some events enriched", func() bool { return f.outputCount() >= 30 })
	proxy.cut()
	waitUntil(t, "every event enriched after the cut", func() bool { return f.outputCount() >= n && f.settled() })
	res := stop()
	if res.err != nil {
		t.Fatalf("Run: %v", res.err)
	}
	f.checkOutputs(t, ids(0, n, nil))
}

// TestRunLogsNoCredentials runs with a password in the URL (a server without auth ignores it) and checks that
// no log line shows it.
func TestRunLogsNoCredentials(t *testing.T) {
	f := newFixture(t)
	u, err := url.Parse(strings.Split(f.url, ",")[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.User != nil {
		t.Skip("test server URL already carries credentials")
	}
	u.User = url.UserPassword("omen", "hunter2")
	var buf safeBuffer
	cfg := f.cfg
	cfg.URL = u.String()
	cfg.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.publishEvents(t, 0, 1)
	stop := startRun(t, cfg, func(_ context.Context, ev []byte) ([]byte, bool, error) { return enrich(ev), false, nil })
	waitUntil(t, "event enriched", func() bool { return f.outputCount() == 1 && f.settled() })
	if res := stop(); res.err != nil {
		t.Fatalf("Run: %v", res.err)
	}
	logs := buf.String()
	if strings.Contains(logs, "hunter2") {
		t.Errorf("logs show the password:\n%s", logs)
	}
	if !strings.Contains(logs, "omen:xxxxx@") {
		t.Errorf("logs do not show the redacted URL:\n%s", logs)
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
