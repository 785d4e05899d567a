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

// ErrInvalidReport is wrapped by [Ingester.Add] for a report it refuses; the ingest goes on.
var ErrInvalidReport = errors.New("invalid report")

// Store is everything omen keeps. Methods are safe for concurrent use.
//
// Lookups of a missing object return an error wrapping [ErrNotFound]; a taken unique name one
// wrapping [ErrConflict] (test with errors.Is). Times come back in UTC; the zero time means "not
// set". The conformance suite in store/storetest pins down the details below.
type Store interface {
	// Sources are upserted by name; PutSource returns the stored source with its ID and times
	// (CreatedAt set on insert and kept, UpdatedAt set on every put; the argument's times and run
	// health fields are ignored).
	PutSource(ctx context.Context, s intel.Source) (intel.Source, error)
	Source(ctx context.Context, name string) (intel.Source, error)
	ListSources(ctx context.Context) ([]intel.Source, error) // ordered by name
	// RecordSourceRun records the outcome of a collection run: LastRun and LastStats always; on
	// success (run.Err == "") also LastSuccess, LastError cleared, GoodRecords set to
	// run.Stats.Records unless run.Stats.NotModified, and the saved state replaced when run.State is
	// not nil; on failure LastError = run.Err and nothing else. ErrNotFound for an unknown source.
	RecordSourceRun(ctx context.Context, name string, run intel.SourceRun) error
	// SourceState returns the collector state saved by the source's last good run, nil when none.
	// ErrNotFound for an unknown source.
	SourceState(ctx context.Context, name string) ([]byte, error)

	// NewIngester starts a bulk ingest of reports from one source (ErrNotFound for an unknown
	// source). See [Ingester].
	NewIngester(ctx context.Context, opts IngestOptions) (Ingester, error)
	// Indicators returns the indicators for the given observables, each with all its reports;
	// observables with no indicator are left out. The order follows the argument: one indicator
	// per element that has one, so an observable given twice comes back twice. An indicator's
	// reports are ordered by FirstSeen, then source name.
	Indicators(ctx context.Context, obs []intel.Observable) ([]intel.Indicator, error)
	// IndicatorsByID returns the indicators with the given IDs, each with all its reports, in
	// argument order (an ID given twice comes back twice); IDs with no indicator are left out. It
	// serves the matching engine's hits, so it reads many IDs in one or a few queries.
	IndicatorsByID(ctx context.Context, ids []int64) ([]intel.Indicator, error)
	// ScanIndicators calls fn for every indicator (with its reports) in ID order until fn returns an
	// error, which ScanIndicators then returns. fn may call the store. The scan is not one
	// snapshot: indicators committed while it runs may or may not be seen.
	ScanIndicators(ctx context.Context, fn func(intel.Indicator) error) error

	PutEntities(ctx context.Context, es []intel.Entity) error // upsert by ID (replacing every field)
	// MergeEntityAttributes sets attrs on the existing entity id, keeping its other attributes and
	// fields (EPSS scores on a KEV vulnerability, say). ErrNotFound when there is no such entity.
	MergeEntityAttributes(ctx context.Context, id string, attrs map[string]any) error
	Entity(ctx context.Context, id string) (intel.Entity, error)
	ListEntities(ctx context.Context, f EntityFilter) ([]intel.Entity, error) // ordered by name, then ID
	PutRelationships(ctx context.Context, rs []intel.Relationship) error      // upsert by ID
	// Relationships returns the relationships with ref on either side, ordered by ID.
	Relationships(ctx context.Context, ref string) ([]intel.Relationship, error)
	// RelationshipsFrom returns the relationships whose SourceRef is one of refs, ordered by ID.
	RelationshipsFrom(ctx context.Context, refs []string) ([]intel.Relationship, error)

	// AddSighting merges s into the sighting of the same observable and Where (count added, first/last
	// seen widened, verdict and note replaced when s has one) and returns the result. A Count below 1
	// counts as 1; a zero FirstSeen or LastSeen takes the other, or now when both are zero.
	AddSighting(ctx context.Context, s intel.Sighting) (intel.Sighting, error)
	Sightings(ctx context.Context, o intel.Observable) ([]intel.Sighting, error) // latest LastSeen first
	// SightingsOf returns the sightings of every observable in obs (latest LastSeen first, then by
	// ID) in a few queries: the lookup and enrichment paths read many at once.
	SightingsOf(ctx context.Context, obs []intel.Observable) ([]intel.Sighting, error)
	// SetSightingVerdict sets the verdict ("", "tp" or "fp") of every sighting of o, counts and
	// times unchanged, and returns how many sightings it changed (0 when o has none).
	SetSightingVerdict(ctx context.Context, o intel.Observable, verdict string) (int, error)

	// PutAsset inserts a when its ID is 0, else updates it (ErrNotFound when there is none).
	// CreatedAt is set on insert and kept; UpdatedAt is set on every put.
	PutAsset(ctx context.Context, a intel.Asset) (intel.Asset, error)
	Asset(ctx context.Context, id int64) (intel.Asset, error)
	ListAssets(ctx context.Context, kind string) ([]intel.Asset, error) // kind "" lists all; by ID
	DeleteAsset(ctx context.Context, id int64) error

	// PutFinding inserts f when its ID is 0, else updates it (ErrNotFound when there is none). An
	// empty Status is stored as intel.FindingNew. CreatedAt is f.CreatedAt (now when zero) on insert
	// and kept on update; UpdatedAt is set on every put. A Count below 1 is stored as 1, a zero
	// LastSeen as CreatedAt. Detail must be empty or valid JSON.
	PutFinding(ctx context.Context, f intel.Finding) (intel.Finding, error)
	// UpdateFinding reads finding id, lets fn change it, and stores the result (as PutFinding, ID
	// and CreatedAt kept) in one write transaction, so that concurrent read-modify-write cycles,
	// from this process or another, never lose an update. An error from fn is returned and nothing
	// is written. ErrNotFound when there is no such finding.
	UpdateFinding(ctx context.Context, id int64, fn func(f *intel.Finding) error) (intel.Finding, error)
	Finding(ctx context.Context, id int64) (intel.Finding, error)
	ListFindings(ctx context.Context, f FindingFilter) ([]intel.Finding, error)

	// PutAllow adds e.Observable to the allowlist or, when it is there already, replaces the
	// entry's Reason, Actor and FindingID (ID and CreatedAt kept; CreatedAt is e.CreatedAt, or now
	// when zero, on insert). Returns the stored entry.
	PutAllow(ctx context.Context, e intel.AllowEntry) (intel.AllowEntry, error)
	Allowlist(ctx context.Context) ([]intel.AllowEntry, error) // ordered by ID
	DeleteAllow(ctx context.Context, id int64) error           // ErrNotFound when there is none
	// RecordVerdict counts one analyst verdict against the named source: TruePositives when tp,
	// else FalsePositives. ErrNotFound for an unknown source.
	RecordVerdict(ctx context.Context, source string, tp bool) error

	AppendAudit(ctx context.Context, e intel.AuditEntry) error               // a zero Time means now
	AuditLog(ctx context.Context, f AuditFilter) ([]intel.AuditEntry, error) // newest first

	// CreateAPIKey stores k (Hash set, secret never passed); the name and the hash must be unique
	// (ErrConflict). CreatedAt is set to now.
	CreateAPIKey(ctx context.Context, k intel.APIKey) (intel.APIKey, error)
	// APIKeyByHash returns the key with that hash, revoked or not: the caller checks Revoked.
	APIKeyByHash(ctx context.Context, hash []byte) (intel.APIKey, error)
	ListAPIKeys(ctx context.Context) ([]intel.APIKey, error) // ordered by ID, Hash left empty
	RevokeAPIKey(ctx context.Context, id int64) error
	TouchAPIKey(ctx context.Context, id int64, at time.Time) error // LastUsed never moves back

	STIXStore

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
	// BatchSize is the number of distinct observables per transaction; 0 means the default, which
	// suits bulk imports. A smaller size makes data visible sooner and costs throughput.
	BatchSize int
	// Atomic writes every batch in one transaction that Close commits: Abort, or a failure, leaves
	// nothing of the ingest. Memory stays bounded by the batch size, but the ingest holds the
	// store's writer from its first full batch to Close, so the goroutine using it must not make
	// other writes to the store meanwhile.
	Atomic bool
}

// Ingester writes reports in batches. Reports for the same observable within the ingest are merged
// before they reach the database (first seen min, last seen max, tags union, the later report's other
// fields). Each batch commits in one transaction, so a killed ingest leaves whole batches or nothing
// of a batch. Memory stays bounded by the batch size whatever the input length.
// An Ingester is used by one goroutine.
//
// Merging, within an ingest and with the source's stored report alike: FirstSeen is the earliest
// non-zero one, LastSeen the latest, Tags the union (earlier tags first), and Confidence, TLP,
// ValidUntil, ThreatType and Malware come from the report with the later LastSeen, the one added
// later on a tie. The indicator's FirstSeen/LastSeen widen accordingly; its warninglists are
// replaced by Classify's answer when Classify is set and kept otherwise. Reports of other sources
// are never touched.
type Ingester interface {
	// Add queues one report. Its Source field is ignored (the ingest's source is used). The observable
	// must already be canonical. An invalid report (unknown type, empty value, confidence outside
	// 0..100, unknown TLP) is rejected with an error wrapping [ErrInvalidReport], not counted, and the
	// ingest goes on; any other error ends the ingest.
	Add(ctx context.Context, r intel.Report) error
	// Close flushes what is queued, waits until every batch is committed, and returns the totals.
	// After an error, nothing more is written.
	Close(ctx context.Context) (IngestStats, error)
	// Abort drops what is queued and ends the ingest; committed batches stay. A batch that was full
	// before Abort is committed (an implementation writing batches in the background waits for it),
	// so what stays does not depend on timing. With IngestOptions.Atomic nothing stays.
	Abort()
}

// IngestStats counts what an ingest did. Reports = Duplicates + New + Updated.
//
// Duplicates are counted within a batch only (that is what memory holds): a report on an observable
// that an earlier batch of the same ingest already wrote counts as Updated. With BatchSize at least
// the number of distinct observables, Duplicates counts every repeat.
type IngestStats struct {
	Reports    int `json:"reports"`    // reports accepted by Add
	Duplicates int `json:"duplicates"` // merged into another report of the same batch
	New        int `json:"new"`        // reports that did not exist for this source before
	Updated    int `json:"updated"`    // existing reports of this source refreshed (changed or not)
	Indicators int `json:"indicators"` // indicators created by this ingest
}

// EntityFilter selects entities; zero fields match everything.
type EntityFilter struct {
	Type  intel.EntityType
	Name  string // exact, case-insensitive, also matched against aliases
	Limit int
}

// FindingFilter selects findings, newest (CreatedAt, then ID) first. Zero fields match everything.
type FindingFilter struct {
	Status      string
	Key         string            // the dedupe key, exactly
	Open        bool              // only findings neither resolved nor false positive
	Since       time.Time         // LastSeen at or after Since
	MinPriority int               // Priority at least MinPriority
	Observable  *intel.Observable // about this observable
	Limit       int
}

// AuditFilter selects audit entries.
type AuditFilter struct {
	Since time.Time // entries at or after Since
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

// STIXObject is one version of one STIX object, kept verbatim so that TAXII and STIX exports hand
// out exactly what was received (unknown types and x_ properties included).
type STIXObject struct {
	// Collection is the store collection the version belongs to: [STIXPool] for omen's own
	// intelligence, or a writable TAXII collection's id.
	Collection  string
	ID          string // "indicator--<uuid>"
	Type        string
	SpecVersion string    // "2.1", "2.0"
	Created     time.Time // zero when the object has none (SCOs)
	// Modified identifies the version: the object's modified, else its created, else zero (an
	// unversioned object such as an SCO or a marking definition has one version).
	Modified   time.Time
	Revoked    bool
	TLP        intel.TLP // from the object's markings; the caller's clearance filters on it
	Confidence int       // the object's confidence, -1 when it has none
	// DateAdded is assigned by PutSTIXObjects: strictly increasing within a store (microsecond
	// resolution, as TAXII timestamps), so paging by it is stable while objects arrive.
	DateAdded time.Time
	Raw       []byte // the object's JSON
}

// STIXPool is the store collection holding omen's own STIX intelligence: what imports and
// collectors received, and what omen publishes. TAXII collections are views over it (by type,
// confidence, TLP) unless they are writable collections with objects of their own.
const STIXPool = "omen"

// STIXQuery selects object versions of one collection, in DateAdded order. Zero fields match
// everything, except where noted (SpecVersions, Versions, MaxTLP); list fields match any of their
// elements.
type STIXQuery struct {
	Collection string
	AddedAfter time.Time // DateAdded strictly after
	IDs        []string
	Types      []string
	// SpecVersions holds "2.0", "2.1", ... (match[spec_version] of TAXII 2.1). Empty means the
	// TAXII default: of each object, only the versions of its latest spec version among the versions
	// that pass MaxTLP and MinConfidence (AddedAfter is not considered).
	SpecVersions []string
	// Versions holds "first", "last", "all" or RFC 3339 timestamps (match[version] of TAXII 2.1);
	// empty means "last". first/last are taken per object id over the versions that pass the other
	// filters (AddedAfter included, Next and Limit not), and the result is the union of the
	// elements.
	Versions []string
	// MaxTLP is the caller's clearance: versions marked above it are left out. The zero value is
	// TLP:CLEAR; pass intel.TLPRed to see everything.
	MaxTLP        intel.TLP
	MinConfidence int    // > 0: versions with a lower confidence (or none) are left out
	Limit         int    // page size; 0 means no limit
	Next          string // the Next of the previous page, to continue
}

// STIXPage is one page of a [STIXQuery].
type STIXPage struct {
	Objects []STIXObject
	More    bool   // more versions match after this page
	Next    string // pass as STIXQuery.Next for the following page; "" when !More
}

// STIXStore keeps STIX object versions and TAXII status resources. It is part of [Store].
type STIXStore interface {
	// PutSTIXObjects stores object versions (each in its own Collection). A version already held
	// (same Collection, ID and Modified) is left as it is, DateAdded included, and not counted;
	// added versions get their DateAdded. Returns how many versions were added.
	PutSTIXObjects(ctx context.Context, objs []STIXObject) (added int, err error)
	// STIXObjects returns one page of the versions matching q.
	STIXObjects(ctx context.Context, q STIXQuery) (STIXPage, error)
	// DeleteSTIXObject removes the versions of id in coll that match q's Versions and
	// SpecVersions (q's other fields are ignored) and returns how many it removed; ErrNotFound
	// when none matched.
	DeleteSTIXObject(ctx context.Context, coll, id string, q STIXQuery) (int, error)
	// PutTAXIIStatus stores (replaces) a TAXII status resource by id; TAXIIStatus returns it
	// (ErrNotFound when there is none).
	PutTAXIIStatus(ctx context.Context, id string, status []byte) error
	TAXIIStatus(ctx context.Context, id string) ([]byte, error)
}
