// Package store defines omen's persistence contract. Implementations live in sub-packages (sqlite,
// later postgres) and must pass the conformance suite in store/storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// ErrNotFound is returned when the requested object does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique name is already taken.
var ErrConflict = errors.New("already exists")

// Store is everything omen keeps. Methods are safe for concurrent use.
type Store interface {
	// Sources are upserted by name; PutSource returns the stored source with its ID and times.
	PutSource(ctx context.Context, s intel.Source) (intel.Source, error)
	Source(ctx context.Context, name string) (intel.Source, error)
	ListSources(ctx context.Context) ([]intel.Source, error)
	// RecordSourceRun records the outcome of a collection run (runErr nil on success).
	RecordSourceRun(ctx context.Context, name string, at time.Time, runErr error) error

	// NewIngester starts a bulk ingest of reports from one source. See [Ingester].
	NewIngester(ctx context.Context, opts IngestOptions) (Ingester, error)
	// Indicators returns the indicators for the given observables, each with all its reports;
	// observables with no indicator are left out. The order follows the argument.
	Indicators(ctx context.Context, obs []intel.Observable) ([]intel.Indicator, error)
	// ScanIndicators calls fn for every indicator (with its reports) in ID order until fn returns an
	// error, which ScanIndicators then returns.
	ScanIndicators(ctx context.Context, fn func(intel.Indicator) error) error

	PutEntities(ctx context.Context, es []intel.Entity) error // upsert by ID
	Entity(ctx context.Context, id string) (intel.Entity, error)
	ListEntities(ctx context.Context, f EntityFilter) ([]intel.Entity, error)
	PutRelationships(ctx context.Context, rs []intel.Relationship) error // upsert by ID
	// Relationships returns the relationships with ref on either side.
	Relationships(ctx context.Context, ref string) ([]intel.Relationship, error)

	// AddSighting merges s into the sighting of the same observable and Where (count added, first/last
	// seen widened, verdict replaced when s has one) and returns the result.
	AddSighting(ctx context.Context, s intel.Sighting) (intel.Sighting, error)
	Sightings(ctx context.Context, o intel.Observable) ([]intel.Sighting, error)

	PutAsset(ctx context.Context, a intel.Asset) (intel.Asset, error) // insert when ID is 0, else update
	Asset(ctx context.Context, id int64) (intel.Asset, error)
	ListAssets(ctx context.Context, kind string) ([]intel.Asset, error) // kind "" lists all
	DeleteAsset(ctx context.Context, id int64) error

	PutFinding(ctx context.Context, f intel.Finding) (intel.Finding, error) // insert when ID is 0, else update
	Finding(ctx context.Context, id int64) (intel.Finding, error)
	ListFindings(ctx context.Context, f FindingFilter) ([]intel.Finding, error)

	AppendAudit(ctx context.Context, e intel.AuditEntry) error
	AuditLog(ctx context.Context, f AuditFilter) ([]intel.AuditEntry, error) // newest first

	// CreateAPIKey stores k (Hash set, secret never passed); the name must be unique (ErrConflict).
	CreateAPIKey(ctx context.Context, k intel.APIKey) (intel.APIKey, error)
	APIKeyByHash(ctx context.Context, hash []byte) (intel.APIKey, error)
	ListAPIKeys(ctx context.Context) ([]intel.APIKey, error)
	RevokeAPIKey(ctx context.Context, id int64) error
	TouchAPIKey(ctx context.Context, id int64, at time.Time) error

	Stats(ctx context.Context) (Stats, error)
	Close() error
}

// IngestOptions configures a bulk ingest.
type IngestOptions struct {
	// Source names the source every report must come from; it must exist (PutSource).
	Source string
	// Classify, when set, returns the warninglists an observable is on; the names are stored on its
	// indicator as flags. It must be safe to call from the ingesting goroutine.
	Classify func(intel.Observable) []string
	// BatchSize is the number of distinct observables per transaction; 0 means the default.
	BatchSize int
}

// Ingester writes reports in batches. Reports for the same observable within the ingest are merged
// before they reach the database (first seen min, last seen max, tags union, the later report's other
// fields). Each batch commits in one transaction, so a killed ingest leaves whole batches or nothing
// of a batch. Memory stays bounded by the batch size whatever the input length.
// An Ingester is used by one goroutine.
type Ingester interface {
	// Add queues one report. Its Source field is ignored (the ingest's source is used). The observable
	// must already be canonical.
	Add(ctx context.Context, r intel.Report) error
	// Close flushes what is queued and returns the totals. After an error, nothing more is written.
	Close(ctx context.Context) (IngestStats, error)
	// Abort drops what is queued and ends the ingest; committed batches stay.
	Abort()
}

// IngestStats counts what an ingest did.
type IngestStats struct {
	Reports    int `json:"reports"`    // reports passed to Add
	Duplicates int `json:"duplicates"` // merged into another report of the same ingest
	New        int `json:"new"`        // reports that did not exist for this source before
	Updated    int `json:"updated"`    // existing reports of this source refreshed
	Indicators int `json:"indicators"` // indicators created by this ingest
}

// EntityFilter selects entities; zero fields match everything.
type EntityFilter struct {
	Type  intel.EntityType
	Name  string // exact, case-insensitive, also matched against aliases
	Limit int
}

// FindingFilter selects findings, newest first.
type FindingFilter struct {
	Status string
	Limit  int
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Since time.Time
	Limit int
}

// Stats counts what the store holds.
type Stats struct {
	Sources       int64 `json:"sources"`
	Indicators    int64 `json:"indicators"`
	Reports       int64 `json:"reports"`
	Entities      int64 `json:"entities"`
	Relationships int64 `json:"relationships"`
	Sightings     int64 `json:"sightings"`
	Assets        int64 `json:"assets"`
	Findings      int64 `json:"findings"`
}
