package ctlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LogConfig is one log to follow.
type LogConfig struct {
	Name string // the cursor's key; default the URL
	URL  string // RFC 6962: the prefix before /ct/v1; static: the monitoring prefix
	API  API    // rfc6962 (default) or static
	// Start says where to begin when no cursor is saved: "" or "now" for the current tree size
	// (only new entries), or a decimal entry index (0: the whole log).
	Start string
	// Key is the log's public key (DER SubjectPublicKeyInfo, from the log list): when set, every
	// tree head read is verified with it, and a log whose tree head does not verify is not read.
	Key []byte
	// Origin is a static-ct log's checkpoint origin, verified with Key (the submission prefix
	// without its scheme).
	Origin      string
	Description string // from the log list, for the logs
}

// Validate checks the configuration without I/O and fills the defaults.
func (l *LogConfig) Validate() error {
	if l.URL == "" || !(strings.HasPrefix(l.URL, "http://") || strings.HasPrefix(l.URL, "https://")) {
		return fmt.Errorf("ct log %q: url must be http or https", l.URL)
	}
	switch l.API {
	case "":
		l.API = RFC6962
	case RFC6962, Static:
	default:
		return fmt.Errorf("ct log %s: unknown api %q (want rfc6962 or static)", l.URL, l.API)
	}
	if l.Name == "" {
		l.Name = strings.TrimRight(l.URL, "/")
	}
	if l.Start != "" && l.Start != "now" {
		if n, err := strconv.ParseInt(l.Start, 10, 64); err != nil || n < 0 {
			return fmt.Errorf("ct log %s: start %q is neither \"now\" nor an entry index", l.Name, l.Start)
		}
	}
	return nil
}

// Cursor keeps the next entry index to read of each log.
type Cursor interface {
	// Load returns the saved next index of the log; found is false when none is saved.
	Load(ctx context.Context, log string) (next int64, found bool, err error)
	// Save records that every entry before next has been handled.
	Save(ctx context.Context, log string, next int64) error
}

// MemCursor is a Cursor in memory, for tests and one-shot runs.
type MemCursor struct {
	mu   sync.Mutex
	next map[string]int64
}

// Load implements [Cursor].
func (c *MemCursor) Load(_ context.Context, log string) (int64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.next[log]
	return n, ok, nil
}

// Save implements [Cursor].
func (c *MemCursor) Save(_ context.Context, log string, next int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == nil {
		c.next = map[string]int64{}
	}
	c.next[log] = next
	return nil
}

// Handler receives a batch of entries; the cursor moves past the batch only when it returns nil.
// A Monitor following several logs calls it from one goroutine per log.
type Handler func(ctx context.Context, entries []Entry) error

// Monitor follows CT logs and hands their entries to Handle, batch by batch, in log order.
//
// Delivery is exactly once per log entry across restarts as long as the Cursor is durable: the
// cursor is saved after Handle succeeded for a batch, and a failed Handle is retried with the same
// batch. (A crash between Handle and Save repeats that one batch: the guarantee is at least once
// with a one-batch window, exactly once otherwise.) Entries that cannot be parsed are logged with
// their log and index and skipped. A precertificate and its final certificate (same [Entry.Key]),
// in the same or another followed log, are delivered once: the later copy is dropped when the
// first was delivered recently enough to be remembered (see DedupeWindow; the memory starts empty
// after a restart).
type Monitor struct {
	Logs   []LogConfig
	Client *Client
	Cursor Cursor
	Handle Handler
	// PageSize is the number of entries asked per get-entries request (default 256); static-ct
	// logs are read a data tile (256 entries) at a time.
	PageSize int
	// Poll is the wait when a log has no new entries (default 10s); ErrorWait the first wait
	// after a failed read or Handle (default 5s, doubling to 5 minutes).
	Poll, ErrorWait time.Duration
	// DedupeWindow is how many certificate keys are remembered (default 1<<19, about 20 MB; <0
	// disables): a key stays known for at least DedupeWindow/2 later certificates.
	DedupeWindow int
	Logger       *slog.Logger

	once  sync.Once
	dedup *dedupe
}

func (m *Monitor) init() {
	m.once.Do(func() {
		if m.Client == nil {
			m.Client = &Client{Logger: m.Logger}
		}
		if m.Cursor == nil {
			m.Cursor = &MemCursor{}
		}
		if m.Logger == nil {
			m.Logger = slog.New(slog.DiscardHandler)
		}
		w := m.DedupeWindow
		if w == 0 {
			w = 1 << 19
		}
		if w > 0 {
			m.dedup = newDedupe(w)
		}
	})
}

// Run follows every log until ctx is done, and returns ctx's error; a log's configuration error
// is returned at once. Read and Handle errors are logged and retried with backoff.
func (m *Monitor) Run(ctx context.Context) error {
	if m.Handle == nil {
		return errors.New("ctlog monitor: no Handle")
	}
	for i := range m.Logs {
		if err := m.Logs[i].Validate(); err != nil {
			return err
		}
	}
	m.init()
	var wg sync.WaitGroup
	for _, l := range m.Logs {
		wg.Go(func() { m.follow(ctx, l) })
	}
	wg.Wait()
	return ctx.Err()
}

func (m *Monitor) follow(ctx context.Context, l LogConfig) {
	poll, errWait := m.Poll, m.ErrorWait
	if poll <= 0 {
		poll = 10 * time.Second
	}
	if errWait <= 0 {
		errWait = 5 * time.Second
	}
	failures := 0
	for ctx.Err() == nil {
		n, err := m.Sync(ctx, l)
		wait := poll
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			wait = min(errWait<<min(failures-1, 10), 5*time.Minute)
			m.Logger.Warn("ct log read failed", "log", l.Name, "err", err, "failures", failures, "wait", wait)
		case err == nil:
			failures = 0
			if n > 0 {
				m.Logger.Debug("ct log caught up", "log", l.Name, "entries", n)
			}
		}
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// Sync reads l from its cursor up to the tree size it finds now, handing the entries to Handle
// batch by batch, and returns the number of entries it moved past. It stops at the first error,
// with the cursor after the last handled batch.
func (m *Monitor) Sync(ctx context.Context, l LogConfig) (int64, error) {
	if m.Handle == nil {
		return 0, errors.New("ctlog monitor: no Handle")
	}
	if err := l.Validate(); err != nil {
		return 0, err
	}
	m.init()
	size, err := m.Client.TreeSize(ctx, l)
	if err != nil {
		return 0, fmt.Errorf("ct log %s: tree size: %w", l.Name, err)
	}
	next, found, err := m.Cursor.Load(ctx, l.Name)
	if err != nil {
		return 0, fmt.Errorf("ct log %s: loading the cursor: %w", l.Name, err)
	}
	if !found {
		next = size
		if l.Start != "" && l.Start != "now" {
			next, _ = strconv.ParseInt(l.Start, 10, 64)
		}
		if err := m.Cursor.Save(ctx, l.Name, next); err != nil {
			return 0, fmt.Errorf("ct log %s: saving the cursor: %w", l.Name, err)
		}
		m.Logger.Info("ct log: starting", "log", l.Name, "at", next, "tree_size", size)
	}
	if next > size {
		// The log answered with an older tree head (a lagging mirror): wait for it to catch up.
		m.Logger.Warn("ct log tree smaller than the cursor; waiting", "log", l.Name, "tree_size", size, "next", next)
		return 0, nil
	}
	var done int64
	for next < size {
		raws, err := m.Client.Entries(ctx, l, next, size, m.PageSize)
		if err != nil {
			return done, fmt.Errorf("ct log %s: entries from %d: %w", l.Name, next, err)
		}
		batch := make([]Entry, 0, len(raws))
		var keys []uint64
		for _, r := range raws {
			if r.Err != nil {
				m.Logger.Warn("ct log entry skipped", "log", l.Name, "index", r.Index, "err", r.Err)
				continue
			}
			e, err := Decode(r.Leaf)
			if err != nil {
				m.Logger.Warn("ct log entry skipped", "log", l.Name, "index", r.Index, "err", err)
				continue
			}
			e.Log, e.Index = l.Name, r.Index
			k := binary.BigEndian.Uint64(e.Key[:8])
			if m.dedup != nil && (m.dedup.seen(k) || containsKey(keys, k)) {
				continue
			}
			keys = append(keys, k)
			batch = append(batch, e)
		}
		if len(batch) > 0 {
			if err := m.Handle(ctx, batch); err != nil {
				return done, fmt.Errorf("ct log %s: handling entries %d-%d: %w", l.Name, next, next+int64(len(raws))-1, err)
			}
		}
		if m.dedup != nil {
			m.dedup.add(keys)
		}
		next += int64(len(raws))
		done += int64(len(raws))
		if err := m.Cursor.Save(ctx, l.Name, next); err != nil {
			return done, fmt.Errorf("ct log %s: saving the cursor: %w", l.Name, err)
		}
	}
	return done, nil
}

func containsKey(keys []uint64, k uint64) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// dedupe remembers recent certificate keys in two generations of at most size/2 keys each: a key
// is remembered for at least size/2 and at most size later keys.
type dedupe struct {
	mu       sync.Mutex
	cur, old map[uint64]struct{}
	half     int
}

func newDedupe(size int) *dedupe {
	h := max(size/2, 1)
	return &dedupe{cur: make(map[uint64]struct{}), old: map[uint64]struct{}{}, half: h}
}

func (d *dedupe) seen(k uint64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, a := d.cur[k]
	_, b := d.old[k]
	return a || b
}

func (d *dedupe) add(keys []uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, k := range keys {
		if len(d.cur) >= d.half {
			d.old, d.cur = d.cur, make(map[uint64]struct{}, d.half)
		}
		d.cur[k] = struct{}{}
	}
}
