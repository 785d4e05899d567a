package findings

import (
	"context"
	"fmt"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Sighting queue limits.
const (
	// flushEvery is how often Run writes the queued sightings.
	flushEvery = time.Second
	// flushAt is the number of queued (observable, where) pairs that wakes Run early.
	flushAt = 1000
	// maxPending bounds the queue when nothing flushes it (Run not running, store failing): new
	// pairs beyond it are dropped and counted; repeats of queued pairs still merge.
	maxPending = 100_000
)

type sightKey struct {
	o     intel.Observable
	where string
}

// Sight records one internal sighting of the matched value o, seen at where (the event's host or
// user) at at (zero: now). It only queues, merging equal (observable, where) pairs; [Service.Run]
// writes the queue every second or as soon as 1000 pairs wait, and [Service.Flush] writes it now.
// An invalid observable is ignored.
func (s *Service) Sight(o intel.Observable, where string, at time.Time) {
	if !o.Type.Valid() || o.Value == "" {
		return
	}
	if at.IsZero() {
		at = s.now()
	}
	at = at.UTC()
	s.sightMu.Lock()
	n, ok := s.queue(intel.Sighting{Observable: o, Where: where, FirstSeen: at, LastSeen: at, Count: 1})
	s.sightMu.Unlock()
	if ok && n == flushAt {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// queue merges x into the pending sightings and returns their number and whether x was kept.
// sightMu must be held.
func (s *Service) queue(x intel.Sighting) (int, bool) {
	k := sightKey{x.Observable, x.Where}
	if p := s.pending[k]; p != nil {
		p.Count += x.Count
		if x.FirstSeen.Before(p.FirstSeen) {
			p.FirstSeen = x.FirstSeen
		}
		if x.LastSeen.After(p.LastSeen) {
			p.LastSeen = x.LastSeen
		}
		return len(s.pending), true
	}
	if len(s.pending) >= maxPending {
		s.dropped += x.Count
		return len(s.pending), false
	}
	s.pending[k] = &x
	return len(s.pending), true
}

// Flush writes the queued sightings now. On a store error the sightings not written go back to
// the queue and the error is returned.
func (s *Service) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.sightMu.Lock()
	batch, dropped := s.pending, s.dropped
	s.pending, s.dropped = make(map[sightKey]*intel.Sighting, len(batch)), 0
	s.sightMu.Unlock()
	if dropped > 0 {
		s.log.Warn("sighting queue full: sightings dropped", "dropped", dropped, "queued", len(batch))
	}
	for k, x := range batch {
		if _, err := s.st.AddSighting(ctx, *x); err != nil {
			s.sightMu.Lock()
			for _, rest := range batch {
				s.queue(*rest)
			}
			s.sightMu.Unlock()
			return err
		}
		delete(batch, k)
	}
	return nil
}

// Run writes the queued sightings every second, and as soon as 1000 pairs wait, until ctx is
// done; then it flushes one last time (ignoring ctx's cancellation) and returns that flush's
// error. Errors of the periodic flushes are logged and retried.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.Flush(context.WithoutCancel(ctx)); err != nil {
				return fmt.Errorf("final sighting flush: %w", err)
			}
			return nil
		case <-t.C:
		case <-s.kick:
		}
		if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("writing sightings", "err", err)
		}
	}
}
