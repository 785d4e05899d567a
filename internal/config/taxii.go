package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// TAXII configures the TAXII 2.1 server under /taxii2/ and its API roots.
type TAXII struct {
	// Enabled turns the server on (true unless set to false).
	Enabled *bool `yaml:"enabled"`
	// Title, Description and Contact are the discovery resource's.
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	Contact     string `yaml:"contact"`
	// Default names the API root listed as the discovery's default ("" for none).
	Default string `yaml:"default"`
	// MaxPageSize caps the limit parameter and is the page size without one (default 1000).
	MaxPageSize int `yaml:"max_page_size"`
	// MaxContentLength is the largest POST body in bytes (default 10 MiB), as announced by the API
	// roots.
	MaxContentLength int64 `yaml:"max_content_length"`
	// APIRoots are served at /{name}/. Without an `api_roots:` key, [DefaultTAXIIRoots].
	APIRoots []TAXIIAPIRoot `yaml:"api_roots"`
}

// TAXIIAPIRoot is one API root.
type TAXIIAPIRoot struct {
	// Name is the root's URL path segment: letters, digits, '.', '_' and '-'.
	Name        string            `yaml:"name"`
	Title       string            `yaml:"title"`
	Description string            `yaml:"description"`
	Collections []TAXIICollection `yaml:"collections"`
}

// TAXIICollection is one TAXII collection: a view over a store collection.
type TAXIICollection struct {
	// ID is the collection's UUID (its URL path segment).
	ID          string `yaml:"id"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// Alias may be used in URLs in place of the id.
	Alias string `yaml:"alias"`
	// CanRead is true unless set to false; CanWrite lets clients POST and DELETE objects.
	CanRead  *bool `yaml:"can_read"`
	CanWrite bool  `yaml:"can_write"`
	// Store is the store collection the view reads (and a writable collection writes): by default
	// the collection's own id when it is writable, otherwise omen's pool (store.STIXPool, "omen").
	Store string `yaml:"store"`
	// Types, when set, restricts the view to these STIX types.
	Types []string `yaml:"types"`
	// MinConfidence, when above 0, leaves out objects with a lower confidence or none.
	MinConfidence int `yaml:"min_confidence"`
	// MaxTLP leaves out objects marked above this level (clear, green, amber, amber+strict, red);
	// "" means red, that is no cap beyond the caller's clearance.
	MaxTLP string `yaml:"max_tlp"`
}

// Readable reports whether clients may read the collection.
func (c TAXIICollection) Readable() bool { return c.CanRead == nil || *c.CanRead }

// TLPCap returns MaxTLP as a level (red when unset); Validate has checked it.
func (c TAXIICollection) TLPCap() intel.TLP {
	if c.MaxTLP == "" {
		return intel.TLPRed
	}
	t, err := intel.ParseTLP(c.MaxTLP)
	if err != nil {
		return intel.TLPClear
	}
	return t
}

// On reports whether the TAXII server is enabled.
func (t TAXII) On() bool { return t.Enabled == nil || *t.Enabled }

// The store collection of omen's own intelligence (store.STIXPool; config does not import store).
const stixPool = "omen"

// Fixed ids of the default collections, so that clients can keep them in their configuration.
const (
	TAXIIAllID            = "0a6f6a3e-8f0c-4d5e-9b1a-2c3d4e5f6a70"
	TAXIIIndicatorsID     = "1b7a7b4f-9a1d-4e6f-8c2b-3d4e5f6a7b81"
	TAXIIHighConfidenceID = "2c8b8c5a-ab2e-4f7a-9d3c-4e5f6a7b8c92"
	TAXIITLPClearID       = "3d9c9d6b-bc3f-4a8b-8e4d-5f6a7b8c9da3"
	TAXIITLPGreenID       = "4eadae7c-cd4a-4b9c-9f5e-6a7b8c9daeb4"
	TAXIITLPAmberID       = "5fbebf8d-de5b-4cad-8a6f-7b8c9daebfc5"
	TAXIIInboxID          = "6acfca9e-ef6c-4dbe-9b7a-8c9daebfcad6"
	defaultTAXIIRoot      = "omen"
)

// DefaultTAXIIRoots returns the API roots served without an `api_roots:` key: one root "omen"
// with views of omen's intelligence (all of it, indicators, indicators of confidence 80 or more,
// one per TLP level up to amber) and a writable inbox.
func DefaultTAXIIRoots() []TAXIIAPIRoot {
	return []TAXIIAPIRoot{{
		Name:        defaultTAXIIRoot,
		Title:       "omen threat intelligence",
		Description: "STIX 2.1 objects collected and curated by omen, filtered by the caller's TLP clearance.",
		Collections: []TAXIICollection{
			{ID: TAXIIAllID, Alias: "all", Title: "All intelligence", Description: "Every STIX object omen holds."},
			{ID: TAXIIIndicatorsID, Alias: "indicators", Title: "Indicators", Description: "STIX indicators.",
				Types: []string{"indicator"}},
			{ID: TAXIIHighConfidenceID, Alias: "indicators-high-confidence", Title: "High-confidence indicators",
				Description: "Indicators with a confidence of 80 or more.", Types: []string{"indicator"}, MinConfidence: 80},
			{ID: TAXIITLPClearID, Alias: "tlp-clear", Title: "TLP:CLEAR", Description: "Objects marked TLP:CLEAR (or unmarked).",
				MaxTLP: "clear"},
			{ID: TAXIITLPGreenID, Alias: "tlp-green", Title: "TLP:GREEN", Description: "Objects marked TLP:GREEN or below.",
				MaxTLP: "green"},
			{ID: TAXIITLPAmberID, Alias: "tlp-amber", Title: "TLP:AMBER", Description: "Objects marked TLP:AMBER or below.",
				MaxTLP: "amber"},
			{ID: TAXIIInboxID, Alias: "inbox", Title: "Inbox", Description: "Objects shared with this organisation.",
				CanWrite: true},
		},
	}}
}

// applyDefaults fills the zero fields.
func (t *TAXII) applyDefaults() {
	if t.Title == "" {
		t.Title = "omen TAXII server"
	}
	if t.MaxPageSize == 0 {
		t.MaxPageSize = 1000
	}
	if t.MaxContentLength == 0 {
		t.MaxContentLength = 10 << 20
	}
	if t.APIRoots == nil {
		t.APIRoots = DefaultTAXIIRoots()
		if t.Default == "" {
			t.Default = defaultTAXIIRoot
		}
	}
	for i := range t.APIRoots {
		for j := range t.APIRoots[i].Collections {
			c := &t.APIRoots[i].Collections[j]
			if c.Store == "" {
				c.Store = stixPool
				if c.CanWrite {
					c.Store = c.ID
				}
			}
		}
	}
}

var (
	rootName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// reservedRoots are the top-level paths of omen's other endpoints.
	reservedRoots = []string{"api", "taxii2", "feeds", "healthz", "readyz", "metrics", "ui", "static", ".", ".."}
)

// validate checks the section and returns every problem.
func (t *TAXII) validate() error {
	var errs []error
	if t.MaxPageSize < 1 || t.MaxPageSize > 100000 {
		errs = append(errs, fmt.Errorf("taxii.max_page_size %d: want 1..100000", t.MaxPageSize))
	}
	if t.MaxContentLength < 1024 {
		errs = append(errs, fmt.Errorf("taxii.max_content_length %d: want at least 1024", t.MaxContentLength))
	}
	roots := map[string]bool{}
	ids := map[string]string{}
	for i, r := range t.APIRoots {
		at := fmt.Sprintf("taxii.api_roots[%d]", i)
		switch {
		case !rootName.MatchString(r.Name):
			errs = append(errs, fmt.Errorf("%s.name %q: want letters, digits, '.', '_' or '-'", at, r.Name))
		case isReserved(r.Name):
			errs = append(errs, fmt.Errorf("%s.name %q: reserved for another omen endpoint", at, r.Name))
		case roots[r.Name]:
			errs = append(errs, fmt.Errorf("%s.name %q: used twice", at, r.Name))
		}
		roots[r.Name] = true
		if r.Title == "" {
			errs = append(errs, fmt.Errorf("%s.title: required", at))
		}
		for j, c := range r.Collections {
			errs = append(errs, c.validate(fmt.Sprintf("%s.collections[%d]", at, j), r.Name, ids)...)
		}
	}
	if t.Default != "" && !roots[t.Default] {
		errs = append(errs, fmt.Errorf("taxii.default %q: no such api root", t.Default))
	}
	return errors.Join(errs...)
}

// validate checks one collection; ids maps "root/id-or-alias" to where it was first seen.
func (c TAXIICollection) validate(at, root string, ids map[string]string) []error {
	var errs []error
	if !uuidForm.MatchString(c.ID) {
		errs = append(errs, fmt.Errorf("%s.id %q: want a UUID", at, c.ID))
	}
	if c.Title == "" {
		errs = append(errs, fmt.Errorf("%s.title: required", at))
	}
	for _, k := range []string{c.ID, c.Alias} {
		if k == "" {
			continue
		}
		key := root + "/" + strings.ToLower(k)
		if prev, ok := ids[key]; ok {
			errs = append(errs, fmt.Errorf("%s: id or alias %q already used by %s", at, k, prev))
		}
		ids[key] = at
	}
	if c.Alias != "" && !rootName.MatchString(c.Alias) {
		errs = append(errs, fmt.Errorf("%s.alias %q: want letters, digits, '.', '_' or '-'", at, c.Alias))
	}
	if c.MinConfidence < 0 || c.MinConfidence > 100 {
		errs = append(errs, fmt.Errorf("%s.min_confidence %d: want 0..100", at, c.MinConfidence))
	}
	if c.MaxTLP != "" {
		if _, err := intel.ParseTLP(c.MaxTLP); err != nil {
			errs = append(errs, fmt.Errorf("%s.max_tlp: %w", at, err))
		}
	}
	if c.CanWrite && c.Store == stixPool {
		errs = append(errs, fmt.Errorf("%s.store: a writable collection cannot write into omen's pool %q", at, stixPool))
	}
	return errs
}

func isReserved(name string) bool {
	for _, r := range reservedRoots {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}
