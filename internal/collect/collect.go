// Package collect is omen's collection stage: the contract every source kind implements, the
// registry the kinds add themselves to, and the scheduler that runs the configured sources.
//
// A kind lives in its own package under collect/ (list, misp, attack, kev, epss, ...), registers a
// [Factory] in init() with [Register], and never imports another kind. A Factory validates the
// source's configuration without I/O; [Collector.Collect] does one run.
package collect

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/config"
	"github.com/omen-tip/omen/internal/ingest"
	"github.com/omen-tip/omen/internal/store"
)

// Collector runs one collection of one source. It fetches through env.Fetch, writes through env
// (the importer for reports, the store for entities and relationships), and returns what it did.
// It must return when ctx is done; retries across runs, backoff and scheduling are the scheduler's.
//
// A run that finds its input unusable (failed or truncated download, an HTML page instead of data,
// too many bad lines, a list that shrank too much) returns an error before writing anything: the
// source's last good data stays in force.
type Collector interface {
	Collect(ctx context.Context, env *Env) (Result, error)
}

// Factory makes the collector of one configured source. It validates the kind-specific settings
// and does no I/O.
type Factory func(src config.Source) (Collector, error)

// Fetcher downloads a source's URL (http, https or file) to a local file. The returned Download
// says whether the body changed since the last run (conditional GET).
type Fetcher interface {
	Fetch(ctx context.Context, req FetchRequest) (*Download, error)
}

// FetchRequest is one download.
type FetchRequest struct {
	URL     string
	Headers map[string]string // e.g. an auth header taken from the environment
	// ETag and LastModified of the last good run, for a conditional GET.
	ETag, LastModified string
	MaxBytes           int64         // 0: the fetcher's default
	Timeout            time.Duration // whole download; 0: the fetcher's default
}

// Download is a fetched body, decompressed, stored in a temporary file the caller must Close.
type Download struct {
	Path         string // the body, decompressed (gzip) or extracted (a single-file zip)
	NotModified  bool   // 304: Path is empty and nothing needs doing
	ETag         string
	LastModified string
	ContentType  string
	Bytes        int64 // decompressed size
	close        func() error
}

// Close removes the temporary file.
func (d *Download) Close() error {
	if d == nil || d.close == nil {
		return nil
	}
	return d.close()
}

// NewDownload wraps a file that close removes; fetchers use it.
func NewDownload(path string, close func() error) *Download {
	return &Download{Path: path, close: close}
}

// Env is what a collector may use during a run.
type Env struct {
	Source   config.Source
	Fetch    Fetcher
	Store    store.Store
	Importer *ingest.Importer
	Logger   *slog.Logger
	Now      time.Time
	// State is the source's saved state from the last good run (cursor, ETag, manifest
	// timestamps...), nil the first time; a collector returns the new state in its Result.
	State []byte
	// GoodRecords is the record count of the last good full run, 0 the first time (see [CheckInput]).
	GoodRecords int
}

// AuthHeaders returns the source's auth header with its secret read from the environment (nil when
// the source has none), or an error naming the variable when it is not set. The secret never
// appears in the configuration, the logs or an error.
func AuthHeaders(src config.Source) (map[string]string, error) {
	if src.AuthHeader == "" {
		return nil, nil
	}
	v := os.Getenv(src.AuthEnv)
	if v == "" {
		return nil, fmt.Errorf("environment variable %s (auth for %s) is not set", src.AuthEnv, src.Name)
	}
	return map[string]string{src.AuthHeader: v}, nil
}

// NoListSettings rejects the list-only settings in a source of a kind that reads one known
// format.
func NoListSettings(src config.Source) error {
	if src.Format != "" || src.Column != "" || src.Type != "" || src.Delimiter != "" || len(src.Comment) > 0 {
		return fmt.Errorf("kind %s takes no list settings (format, column, type, delimiter, comment)", src.Kind)
	}
	return nil
}

// CheckInput applies the safety rules to a parsed input before anything of it is written: too large
// a share of rejected lines, or a full snapshot that shrank by more than the source allows against
// the last good run, rejects the run as a whole. records counts the good records, rejected the bad.
func CheckInput(src config.Source, records, rejected, goodRecords int) error {
	if total := records + rejected; total > 0 && float64(rejected)/float64(total) > src.RejectShare() {
		return fmt.Errorf("rejected the input: %d of %d records unparsable, more than the allowed %.0f%%",
			rejected, total, 100*src.RejectShare())
	}
	if records == 0 && goodRecords > 0 {
		return fmt.Errorf("rejected the input: no records, against %d in the last good run", goodRecords)
	}
	if goodRecords > 0 && float64(records) < float64(goodRecords)*(1-src.ShrinkShare()) {
		return fmt.Errorf("rejected the input: %d records, down from %d in the last good run (more than the allowed %.0f%% shrink)",
			records, goodRecords, 100*src.ShrinkShare())
	}
	return nil
}

// Result counts what one run did.
type Result struct {
	Fetched       int64 `json:"fetched_bytes"`
	Records       int   `json:"records"` // records parsed (for shrink detection)
	New           int   `json:"new"`
	Updated       int   `json:"updated"`
	Rejected      int   `json:"rejected"`
	Entities      int   `json:"entities"`
	Relationships int   `json:"relationships"`
	NotModified   bool  `json:"not_modified"`
	// State replaces the saved state when the run succeeds; nil keeps the old one.
	State []byte `json:"-"`
}

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register adds a kind. It panics when the kind is registered twice, like http.Handle.
func Register(kind string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[kind]; dup {
		panic("collect: kind registered twice: " + kind)
	}
	factories[kind] = f
}

// RegisterTestFactory replaces a kind's factory for a test and returns the function that restores it.
func RegisterTestFactory(kind string, f Factory) (restore func()) {
	mu.Lock()
	defer mu.Unlock()
	old, had := factories[kind]
	factories[kind] = f
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if had {
			factories[kind] = old
		} else {
			delete(factories, kind)
		}
	}
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(factories))
	for k := range factories {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New makes the collector of src through its kind's factory.
func New(src config.Source) (Collector, error) {
	mu.RLock()
	f, ok := factories[src.Kind]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("source %s: unknown kind %q (known: %v)", src.Name, src.Kind, Kinds())
	}
	c, err := f(src)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	return c, nil
}
