// Package sqlite is omen's default [store.Store]: one embedded SQLite file (modernc.org/sqlite, pure
// Go) in WAL mode.
//
// Connections are split in two pools. Every write goes through a pool of exactly one connection, so
// writers queue in Go instead of racing for SQLite's write lock (no SQLITE_BUSY between an importer
// and the API), and write transactions start with BEGIN IMMEDIATE. Reads use a separate pool of
// read-only connections; in WAL mode they never wait for the writer. A busy timeout still covers a
// second process (an `omen import` next to `omen serve`) writing the same file.
//
// New files use 16 KiB pages; the writer has a large page cache and checkpoints the WAL every
// 256 MiB, which suits bulk ingest (see [DB.NewIngester] and batch.go for its design).
//
// Times are stored as Unix nanoseconds, 0 meaning the zero [time.Time], and come back in UTC. Times
// outside the years 1678..2261 are clamped to that range. String lists are JSON arrays (the empty
// string for an empty list). The schema is in migrations/; Open applies the embedded migrations
// (goose), and a migration never drops data.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/omen-tip/omen/internal/store"
)

// Connection settings. The writer gets a large page cache because bulk ingest touches the whole
// (type, value) index; readers rely on the shared memory map instead of private caches.
const (
	busyTimeout     = 10 * time.Second
	pageSize        = 16384     // for new files; bulk ingest is much faster than with 4 KiB pages
	writerCacheKiB  = 512 << 10 // 512 MiB upper bound; pages are only allocated when used
	readerCacheKiB  = 16 << 10
	mmapSize        = 1 << 30
	walAutoCkpt     = 16384    // pages (256 MiB) between automatic checkpoints: fewer copies in bulk ingest
	walSizeLimit    = 64 << 20 // the WAL file is truncated to this after a checkpoint
	minReadConns    = 4
	readConnsPerCPU = 2
)

// DB is a [store.Store] backed by one SQLite file. Its methods are safe for concurrent use.
type DB struct {
	path   string
	w      *sql.DB // exactly one connection: every write
	r      *sql.DB // read-only connections
	logger *slog.Logger
	now    func() time.Time
	names  atomic.Pointer[map[int64]string] // source names by ID, see sourceNames

	mergeMu            sync.Mutex // guards the statements of MergeEntityAttributes, see mergeStmts
	mergeSel, mergeUpd *sql.Stmt
	stmts              stmtCache // prepared read queries, see prepared
}

// Interface guard.
var _ store.Store = (*DB)(nil)

// Open opens the database at path, creating the file and its parent directory when missing, and
// applies the embedded migrations that the file lacks. A nil logger discards log output.
func Open(ctx context.Context, path string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" {
		return nil, errors.New("opening sqlite database: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating database directory %s: %w", dir, err)
		}
	}
	w, err := openPool(ctx, path, writerPragmas(), 1)
	if err != nil {
		return nil, fmt.Errorf("opening sqlite database %s: %w", path, err)
	}
	// The page size only takes on a new file, before it switches to WAL.
	var mode string
	if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		w.Close()
		return nil, fmt.Errorf("setting page size of %s: %w", path, err)
	}
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("reading journal mode of %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		w.Close()
		return nil, fmt.Errorf("opening sqlite database %s: journal mode is %q, not wal", path, mode)
	}
	if err := migrate(ctx, w, logger, -1); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrating sqlite database %s: %w", path, err)
	}
	n := max(minReadConns, readConnsPerCPU*runtime.GOMAXPROCS(0))
	r, err := openPool(ctx, path, readerPragmas(), n)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening sqlite database %s for reading: %w", path, err)
	}
	return &DB{path: path, w: w, r: r, logger: logger, now: time.Now}, nil
}

// checkpointAfter is the number of new or updated indicators from which an ingest ends with a
// checkpoint: once the WAL is copied back into the database, readers that start afterwards read
// pages through the memory map instead of looking each one up in the WAL, which makes random
// reads of indicators (lookups of values not cached) a quarter to a third faster.
const checkpointAfter = 10000

// checkpoint copies what it can of the WAL into the database without waiting for readers
// (PASSIVE). A failure only costs read speed, so it is logged, not returned.
func (db *DB) checkpoint(ctx context.Context) {
	var busy, frames, done int
	if err := db.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
		db.logger.Warn("checkpoint after ingest failed", "err", err)
		return
	}
	db.logger.Debug("checkpoint after ingest", "wal_frames", frames, "copied", done)
}

// writerPragmas are the settings of the writer connection. Open switches the file to WAL.
func writerPragmas() []string {
	return []string{
		"synchronous(NORMAL)",
		"foreign_keys(1)",
		fmt.Sprintf("cache_size(%d)", -writerCacheKiB),
		fmt.Sprintf("mmap_size(%d)", mmapSize),
		fmt.Sprintf("wal_autocheckpoint(%d)", walAutoCkpt),
		fmt.Sprintf("journal_size_limit(%d)", walSizeLimit),
		"temp_store(MEMORY)",
	}
}

func readerPragmas() []string {
	return []string{
		"query_only(1)",
		"foreign_keys(1)",
		fmt.Sprintf("cache_size(%d)", -readerCacheKiB),
		fmt.Sprintf("mmap_size(%d)", mmapSize),
		"temp_store(MEMORY)",
	}
}

// openPool opens a pool of at most conns connections to path, each set up with pragmas.
func openPool(ctx context.Context, path string, pragmas []string, conns int) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_txlock", "immediate")
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	db.mergeMu.Lock()
	var errs []error
	for _, st := range []*sql.Stmt{db.mergeSel, db.mergeUpd} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	db.mergeMu.Unlock()
	errs = append(errs, db.stmts.close()...)
	return errors.Join(append(errs, db.r.Close(), db.w.Close())...)
}

// Path returns the file the database was opened from.
func (db *DB) Path() string { return db.path }

// inTx runs fn in a write transaction and commits it when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUniqueViolation reports whether err is SQLite's UNIQUE (or PRIMARY KEY) constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch c := se.Code(); c {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		case sqlite3.SQLITE_CONSTRAINT: // extended codes off
			m := se.Error()
			return strings.Contains(m, "UNIQUE constraint") || strings.Contains(m, "PRIMARY KEY constraint")
		}
	}
	return false
}

// Time bounds representable as int64 Unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64+1).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// toNS encodes t as Unix nanoseconds, 0 for the zero time, clamping what does not fit.
func toNS(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNS decodes what [toNS] wrote.
func fromNS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

// encodeStrings encodes a string list as a JSON array, or "" when it is empty.
func encodeStrings(s []string) string {
	if len(s) == 0 {
		return ""
	}
	n := 2
	for _, v := range s {
		n += len(v) + 3
		if !plainJSON(v) {
			b, err := json.Marshal(s)
			if err != nil { // cannot happen for []string
				panic(err)
			}
			return string(b)
		}
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('[')
	for i, v := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(v)
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}

// plainJSON reports whether s can be written between JSON quotes as it is: printable ASCII without
// '"' or '\\'. It checks eight bytes at a time.
func plainJSON(s string) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q, bs := x^('"'*ones), x^('\\'*ones)
		if (x|(x-0x20*ones)|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decodeStrings decodes what [encodeStrings] wrote.
func decodeStrings(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if out, ok := decodePlainStrings(s); ok {
		return out, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("decoding string list %.40q: %w", s, err)
	}
	return out, nil
}

// decodePlainStrings decodes a JSON array of strings without escapes (as encodeStrings writes
// them for plain strings) without encoding/json; ok is false for anything else.
func decodePlainStrings(s string) (out []string, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' || strings.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	rest := s[1 : len(s)-1]
	if rest == "" {
		return []string{}, true
	}
	out = make([]string, 0, strings.Count(rest, `","`)+1)
	for {
		if len(rest) < 2 || rest[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false
		}
		out = append(out, rest[1:1+end])
		rest = rest[2+end:]
		if rest == "" {
			return out, true
		}
		if rest[0] != ',' {
			return nil, false
		}
		rest = rest[1:]
	}
}

// encodeJSON encodes a map as JSON, or "" when it is empty.
func encodeJSON[M ~map[K]V, K comparable, V any](m M) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeJSON decodes what [encodeJSON] wrote into a fresh map.
func decodeJSON[M ~map[K]V, K comparable, V any](s string) (M, error) {
	if s == "" {
		return nil, nil
	}
	var m M
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decoding JSON %.40q: %w", s, err)
	}
	return m, nil
}

// notFound wraps [store.ErrNotFound] with what was looked for.
func notFound(what string, key any) error {
	return fmt.Errorf("%s %v: %w", what, key, store.ErrNotFound)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
