package collect_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/collect"
	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

type fakeCollector struct {
	runs  *atomic.Int32
	fail  bool
	block bool
}

func (f fakeCollector) Collect(ctx context.Context, env *collect.Env) (collect.Result, error) {
	f.runs.Add(1)
	if f.block {
		<-ctx.Done()
		return collect.Result{}, ctx.Err()
	}
	if f.fail {
		return collect.Result{}, errors.New("feed down")
	}
	return collect.Result{Records: 3, New: 3, State: []byte(`{"cursor":1}`)}, nil
}

func runner(t *testing.T) *collect.Runner {
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/omen.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &collect.Runner{Store: st}
}

func TestBackoffAndJitter(t *testing.T) {
	for i := range 100 {
		if d := collect.Jitter(time.Hour); d < 54*time.Minute || d > 66*time.Minute {
			t.Fatalf("jitter %d: %v", i, d)
		}
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for n, w := range want {
		d := collect.Backoff(n+1, time.Minute, 10*time.Minute)
		if d < w*9/10 || d > w*11/10 {
			t.Errorf("backoff after %d failures: %v, want about %v", n+1, d, w)
		}
	}
}

func TestRunnerRecordsRuns(t *testing.T) {
	var runs atomic.Int32
	defer collect.RegisterTestFactory("fake-ok", func(config.Source) (collect.Collector, error) { return fakeCollector{runs: &runs}, nil })()
	defer collect.RegisterTestFactory("fake-bad", func(config.Source) (collect.Collector, error) { return fakeCollector{runs: &runs, fail: true}, nil })()
	r := runner(t)
	ctx := t.Context()
	ok := config.Source{Name: "ok", Kind: "fake-ok", URL: "http://127.0.0.1/", Interval: config.Duration(time.Hour), Reliability: 'B'}
	if _, err := r.Run(ctx, ok); err != nil {
		t.Fatal(err)
	}
	s, _ := r.Store.Source(ctx, "ok")
	st, _ := r.Store.SourceState(ctx, "ok")
	if s.Health() != intel.HealthOK || s.GoodRecords != 3 || s.Reliability != 'B' || string(st) != `{"cursor":1}` {
		t.Errorf("ok source: %+v state %s", s, st)
	}
	bad := config.Source{Name: "bad", Kind: "fake-bad", URL: "http://127.0.0.1/", Interval: config.Duration(time.Hour)}
	if _, err := r.Run(ctx, bad); err == nil {
		t.Fatal("no error")
	}
	if s, _ := r.Store.Source(ctx, "bad"); s.Health() != intel.HealthDegraded || s.LastError != "feed down" {
		t.Errorf("bad source: %+v", s)
	}
	if _, err := r.Run(ctx, config.Source{Name: "x", Kind: "nope", URL: "http://127.0.0.1/"}); err == nil {
		t.Error("unknown kind ran")
	}
}

// The scheduler runs each enabled source at start, runs one on demand, never runs a disabled one,
// and returns once its context ends, abandoning a run in flight.
func TestScheduler(t *testing.T) {
	var okRuns, offRuns, slowRuns atomic.Int32
	defer collect.RegisterTestFactory("fake-ok", func(config.Source) (collect.Collector, error) { return fakeCollector{runs: &okRuns}, nil })()
	defer collect.RegisterTestFactory("fake-off", func(config.Source) (collect.Collector, error) { return fakeCollector{runs: &offRuns}, nil })()
	defer collect.RegisterTestFactory("fake-slow", func(config.Source) (collect.Collector, error) {
		return fakeCollector{runs: &slowRuns, block: true}, nil
	})()
	off := false
	s := &collect.Scheduler{Runner: runner(t), Concurrency: 2, Sources: []config.Source{
		{Name: "ok", Kind: "fake-ok", URL: "http://127.0.0.1/", Interval: config.Duration(time.Hour)},
		{Name: "off", Kind: "fake-off", URL: "http://127.0.0.1/", Interval: config.Duration(time.Hour), Enabled: &off},
		{Name: "slow", Kind: "fake-slow", URL: "http://127.0.0.1/", Interval: config.Duration(time.Hour)},
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	waitFor(t, func() bool { return okRuns.Load() == 1 && slowRuns.Load() == 1 })
	if err := s.RunNow("ok"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return okRuns.Load() == 2 })
	if err := s.RunNow("off"); err == nil {
		t.Error("RunNow of a disabled source")
	}
	if err := s.RunNow("nobody"); err == nil {
		t.Error("RunNow of an unknown source")
	}
	cancel()
	<-done
	if offRuns.Load() != 0 {
		t.Errorf("disabled source ran %d times", offRuns.Load())
	}
	// The abandoned run is not recorded as a failure.
	if src, err := s.Runner.Store.Source(t.Context(), "slow"); err == nil && src.Health() == intel.HealthDegraded {
		t.Errorf("abandoned run recorded as a failure: %+v", src)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 30s")
}
