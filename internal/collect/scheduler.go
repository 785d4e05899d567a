package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/intel"
)

// Scheduler runs every enabled source on its interval inside `omen serve`: a first run when the
// source's last run is older than its interval, then one run per interval with ±10% jitter, an
// exponential backoff after failures (1 minute doubling, capped at the interval), at most
// Concurrency runs at once, and runs on demand through [Scheduler.RunNow].
type Scheduler struct {
	Runner      *Runner
	Sources     []config.Source
	Concurrency int
	Logger      *slog.Logger
	// MinBackoff is the first delay after a failure (default 1 minute).
	MinBackoff time.Duration

	once sync.Once
	now  map[string]chan struct{}
}

func (s *Scheduler) init() {
	s.once.Do(func() {
		s.now = map[string]chan struct{}{}
		for _, src := range s.Sources {
			s.now[src.Name] = make(chan struct{}, 1)
		}
	})
}

// RunNow asks for an immediate run of the named source; it returns an error for an unknown or
// disabled source.
func (s *Scheduler) RunNow(name string) error {
	s.init()
	for _, src := range s.Sources {
		if src.Name == name {
			if !src.IsEnabled() {
				return fmt.Errorf("source %s is disabled", name)
			}
			select {
			case s.now[name] <- struct{}{}:
			default: // a run is already requested
			}
			return nil
		}
	}
	return fmt.Errorf("no source named %s", name)
}

// Run schedules the sources until ctx is done, then waits for the runs in flight to end: they see
// the cancelled context and abandon cleanly (what a run committed stays consistent, and the source
// keeps its last good state, so the next run redoes it).
func (s *Scheduler) Run(ctx context.Context) {
	s.init()
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := s.Concurrency
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, src := range s.Sources {
		if !src.IsEnabled() {
			continue
		}
		if _, err := New(src); err != nil { // configuration errors are reported once, not retried
			log.Error("source not scheduled", "source", src.Name, "err", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, src, sem, log)
		}()
	}
	wg.Wait()
}

func (s *Scheduler) loop(ctx context.Context, src config.Source, sem chan struct{}, log *slog.Logger) {
	interval := time.Duration(src.Interval)
	wait := s.firstDelay(ctx, src)
	failures := 0
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.now[src.Name]:
			t.Stop()
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		_, err := s.Runner.Run(ctx, src)
		<-sem
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			wait = Backoff(failures, s.minBackoff(), interval)
			log.Info("next try after a failure", "source", src.Name, "in", wait.Round(time.Second), "failures", failures)
			continue
		}
		failures = 0
		wait = Jitter(interval)
	}
}

func (s *Scheduler) minBackoff() time.Duration {
	if s.MinBackoff > 0 {
		return s.MinBackoff
	}
	return time.Minute
}

// firstDelay is the wait before a source's first run: none when it never ran or its last run is
// older than its interval, else what remains of the interval; plus a little jitter so that sources
// do not all start at once.
func (s *Scheduler) firstDelay(ctx context.Context, src config.Source) time.Duration {
	spread := time.Duration(rand.Int64N(int64(5*time.Second) + 1))
	st, err := s.Runner.Store.Source(ctx, src.Name)
	if err != nil || st.LastRun.IsZero() {
		return spread
	}
	next := st.LastRun.Add(time.Duration(src.Interval))
	if st.Health() != intel.HealthOK {
		next = st.LastRun.Add(min(s.minBackoff(), time.Duration(src.Interval)))
	}
	if d := time.Until(next); d > 0 {
		return d + spread
	}
	return spread
}

// Jitter returns d ± 10%.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	j := int64(d) / 10
	return d - time.Duration(j) + time.Duration(rand.Int64N(2*j+1))
}

// Backoff is the wait after the n-th failure in a row (n ≥ 1): first doubled n-1 times, capped at
// limit, with ±10% jitter.
func Backoff(n int, first, limit time.Duration) time.Duration {
	d := first
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return Jitter(min(d, limit))
}

// Sync runs the named sources once (all enabled ones when names is empty), up to concurrency at a
// time, and returns each run's error by source name. It is `omen feeds sync`.
func Sync(ctx context.Context, r *Runner, sources []config.Source, names []string, concurrency int) (map[string]error, error) {
	byName := map[string]config.Source{}
	for _, s := range sources {
		byName[s.Name] = s
	}
	var todo []config.Source
	if len(names) == 0 {
		for _, s := range sources {
			if s.IsEnabled() {
				todo = append(todo, s)
			}
		}
	}
	var errs []error
	for _, n := range names {
		s, ok := byName[n]
		if !ok {
			errs = append(errs, fmt.Errorf("no source named %s", n))
			continue
		}
		todo = append(todo, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if concurrency <= 0 {
		concurrency = 4
	}
	out := make(map[string]error, len(todo))
	var mu sync.Mutex
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, s := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := r.Run(ctx, s)
			mu.Lock()
			out[s.Name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}
