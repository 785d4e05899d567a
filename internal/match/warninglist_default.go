package match

import (
	"embed"
	"errors"
	"sync"
)

// defaultLists holds omen's curated default warninglists: genuine MISP lists (some truncated)
// and one list written by omen; warninglists/SOURCES.md says where each comes from.
//
//go:embed warninglists/*.json
var defaultLists embed.FS

// DefaultWarninglists parses the warninglists embedded in omen: private, special-use, multicast
// and link-local ranges, public DNS resolvers, Cloudflare, AWS and Gmail sending ranges, top
// domains, TLDs and second-level suffixes, URL shorteners, empty-file hashes, contact
// addresses and malware-analysis services. Each call returns fresh lists the caller owns.
func DefaultWarninglists() ([]*Warninglist, error) {
	lists, errs := loadWarninglistFS(defaultLists, "warninglists", "")
	return lists, errors.Join(errs...)
}

var defaultSet = sync.OnceValues(func() (*WarninglistSet, error) {
	lists, err := DefaultWarninglists()
	if err != nil {
		return nil, err
	}
	return NewWarninglistSet(lists...)
})

// DefaultWarninglistSet returns a [WarninglistSet] of [DefaultWarninglists], built on first use
// and shared afterwards.
func DefaultWarninglistSet() (*WarninglistSet, error) { return defaultSet() }
