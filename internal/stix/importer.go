// Package stix maps STIX 2.0 and 2.1 objects to omen's model and back: import of bundles and
// TAXII envelopes into the store, and export of indicators and entities as STIX 2.1 bundles.
//
// On import every object is kept verbatim in the STIX object store, and mapped:
//
//   - indicators whose pattern reduces to observables (package pattern) become one report per
//     observable; their relationships (indicates → malware, ...) are also recorded from each
//     observable ("ipv4:198.51.100.1"), so that a lookup shows the malware, actor or campaign.
//     Other indicators (non-STIX pattern types, patterns that do not reduce) become entities of
//     type "indicator" holding the pattern;
//   - SDOs, and custom objects that look like SDOs (they have a created timestamp), become
//     entities of their STIX type, with the ATT&CK attributes package attack reads;
//   - relationships become relationships; sightings become "sighted" relationships from where
//     they were sighted to what was sighted; observed-data, SCOs and marking definitions are kept
//     verbatim only (TLP marking definitions also set the TLP of the objects they mark);
//   - versions are resolved by modified: an older version is kept verbatim but not applied;
//     revoked indicators expire, revoked entities are flagged revoked=true, and revoked
//     relationships have their ends rewritten to "revoked:<ref>" so that they no longer link.
package stix

import (
	"log/slog"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/store"
)

// Importer writes STIX objects into the store: every object verbatim as a [store.STIXObject],
// indicators with reducible patterns as reports on their observables, SDOs as entities, SROs as
// relationships.
type Importer struct {
	Store        store.Store
	Warninglists *match.WarninglistSet // may be nil
	Logger       *slog.Logger
	Now          func() time.Time // nil: time.Now
}

// Options configures one import.
type Options struct {
	// Source is the omen source the reports and entities are attributed to; it must exist
	// (ingest.Importer.EnsureSource creates it).
	Source string
	// Collection is the store collection the objects are kept in; "" means [store.STIXPool].
	Collection string
	// Confidence is used for indicators without a confidence of their own (0..100).
	Confidence int
	// TLP is used for objects without a TLP marking.
	TLP intel.TLP
	// KeepDates keeps the indicators' dates as they are. By default a report's last-seen is at
	// least the import time: a feed that carries an indicator asserts it now, and decay counts
	// from there (as for list imports).
	KeepDates bool
	// MaxErrors is how many error lines Counts keeps (all are counted); 0 means 100.
	MaxErrors int
}

// Counts says what an import did. Objects = Stored + Unchanged + Rejected.
type Counts struct {
	Objects       int            `json:"objects"`          // objects read
	ByType        map[string]int `json:"by_type"`          // objects read, by STIX type
	Stored        int            `json:"stored"`           // new object versions kept
	Unchanged     int            `json:"unchanged"`        // versions already held
	Rejected      int            `json:"rejected"`         // objects that are not valid STIX (see Errors)
	Indicators    int            `json:"indicators"`       // indicator objects
	Reducible     int            `json:"reducible"`        // indicators whose pattern reduced to observables
	PatternOnly   int            `json:"pattern_only"`     // indicators kept as patterns only
	Observables   int            `json:"observables"`      // reports written (one per observable)
	InvalidValues int            `json:"invalid_values"`   // pattern values that are not valid observables, left out (see Errors)
	Entities      int            `json:"entities"`         // SDOs stored as entities
	Relationships int            `json:"relationships"`    // relationships stored
	Sightings     int            `json:"sightings"`        // sighting objects
	Revoked       int            `json:"revoked"`          // revoked objects (they stop matching)
	Outdated      int            `json:"outdated"`         // versions older than the one held: kept, not applied
	Linked        int            `json:"linked"`           // observable→entity links derived from indicator relationships
	Observed      int            `json:"observed"`         // SCOs held or referenced by observed-data objects
	Custom        int            `json:"custom"`           // objects of types STIX does not define (kept verbatim)
	Errors        []string       `json:"errors,omitempty"` // one line per rejected object, with its position
}
