package ctlog

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/store"
)

// StoreCursor keeps the cursors of all logs in the saved state of one source of the store (the
// source must exist: store.PutSource), as {"next":{"<log>":<index>,...}}. Every Save records a
// successful run of the source with the whole state, marked not-modified so that the source's
// good-record count is left alone; the source's last run and last success then show that the
// monitor is alive.
type StoreCursor struct {
	Store  store.Store
	Source string
	Now    func() time.Time // default time.Now

	mu     sync.Mutex
	loaded bool
	next   map[string]int64
}

type cursorState struct {
	Next map[string]int64 `json:"next"`
}

func (c *StoreCursor) load(ctx context.Context) error {
	if c.loaded {
		return nil
	}
	b, err := c.Store.SourceState(ctx, c.Source)
	if err != nil {
		return fmt.Errorf("reading the state of source %s: %w", c.Source, err)
	}
	var st cursorState
	if len(b) > 0 {
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("state of source %s: %w", c.Source, err)
		}
	}
	c.next = st.Next
	if c.next == nil {
		c.next = map[string]int64{}
	}
	c.loaded = true
	return nil
}

// Load implements [Cursor].
func (c *StoreCursor) Load(ctx context.Context, log string) (int64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(ctx); err != nil {
		return 0, false, err
	}
	n, ok := c.next[log]
	return n, ok, nil
}

// Save implements [Cursor].
func (c *StoreCursor) Save(ctx context.Context, log string, next int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(ctx); err != nil {
		return err
	}
	old, had := c.next[log]
	c.next[log] = next
	b, err := json.Marshal(cursorState{Next: c.next})
	if err == nil {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		err = c.Store.RecordSourceRun(ctx, c.Source, intel.SourceRun{At: now().UTC(),
			Stats: intel.RunStats{NotModified: true}, State: b})
	}
	if err != nil {
		if had {
			c.next[log] = old
		} else {
			delete(c.next, log)
		}
		return fmt.Errorf("saving the cursor of %s: %w", log, err)
	}
	return nil
}
