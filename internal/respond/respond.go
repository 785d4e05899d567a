// Package respond turns intelligence into action: guarded exports (blocklists for firewalls, DNS
// resolvers and IDS sensors), feeds served to consumers, containment webhooks and recommendations.
//
// Every export goes through one pipeline: [Select] reads the candidates from the store, the
// [Guard] removes what must never be blocked (the organisation's own networks and domains,
// warninglisted infrastructure, analyst allowlists) and says why, and a [Format] writes what is
// left. Formats self-register in this package (formats_*.go).
package respond

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Entry is one indicator selected for export: what a format needs, nothing more.
type Entry struct {
	Observable intel.Observable
	Score      int       // omen's indicator score 0..100 (decayed, warninglist-dampened)
	TLP        intel.TLP // the least restrictive marking among the reports the export may carry
	FirstSeen  time.Time
	LastSeen   time.Time
	Sources    []string // names of the sources that report it, most recent first
	Tags       []string
	ThreatType string // c2, phishing, ... ("" when no source says)
	Malware    string // a malware family a source names ("" when none)
	// ID is the store's indicator ID (0 for an entry that is not one, e.g. an aggregated CIDR).
	ID int64

	// The address or network of an IP entry, parsed once by the pipeline so that aggregation,
	// ordering and the writers need not parse a million values again (see entryPrefix).
	pfx      netip.Prefix
	pfxState uint8 // pfxUnknown, pfxValid or pfxInvalid
}

const (
	pfxUnknown = iota
	pfxValid
	pfxInvalid
)

// Description is a one-line summary for formats with a comment or description field.
func (e Entry) Description() string {
	var b strings.Builder
	if e.ThreatType != "" {
		b.WriteString(e.ThreatType)
	} else {
		b.WriteString("malicious")
	}
	if e.Malware != "" {
		b.WriteString(" (" + e.Malware + ")")
	}
	fmt.Fprintf(&b, ", score %d", e.Score)
	if len(e.Sources) > 0 {
		b.WriteString(", " + strings.Join(e.Sources, " "))
	}
	return b.String()
}

// WriteOptions are what a format may need besides the entries.
type WriteOptions struct {
	// Name names the export (a feed name, or "omen"); formats use it in headers, set names, zone
	// names and rule messages.
	Name string
	// Generated is the export's time (serial numbers, headers).
	Generated time.Time
	// RPZ configures the rpz format.
	RPZ RPZOptions
	// SIDBase is the first Suricata rule sid (default 9_100_000).
	SIDBase int
}

// RPZOptions configure a DNS Response Policy Zone.
type RPZOptions struct {
	Origin string // the zone name (default "rpz.omen.local.")
	// CNAME, when set, answers listed names with this walled-garden host instead of NXDOMAIN.
	CNAME string
	// Serial of the SOA (default: Generated as a Unix time).
	Serial uint32
}

// Format writes entries in one syntax.
type Format struct {
	Name        string
	Description string
	// Types are the observable types the format can carry; the pipeline drops others (counted).
	Types []intel.Type
	// Aggregate: adjacent IPv4/IPv6 addresses and networks may be merged into CIDRs.
	Aggregate bool
	// ContentType is served on /feeds/{name}.
	ContentType string
	// Write writes the entries (already guarded, ranked and capped).
	Write func(w io.Writer, entries []Entry, o WriteOptions) error
	// WriteDir, for formats that are a directory of files (misp-feed), writes into dir; Write is
	// then nil.
	WriteDir func(dir string, entries []Entry, o WriteOptions) error
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Format{}
)

// Register adds a format; a second format of the same name panics (a build defect).
func Register(f Format) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[f.Name]; dup {
		panic("respond: format registered twice: " + f.Name)
	}
	registry[f.Name] = f
}

// Lookup returns the format named name.
func Lookup(name string) (Format, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	f, ok := registry[name]
	return f, ok
}

// Formats returns every format, by name.
func Formats() []Format {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Format, 0, len(registry))
	for _, f := range registry {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Accepts reports whether the format can carry t.
func (f Format) Accepts(t intel.Type) bool { return len(f.Types) == 0 || slices.Contains(f.Types, t) }

// Selection chooses the indicators of an export, before the guard.
type Selection struct {
	MinScore int          // keep indicators scoring at least this (0: any)
	Types    []intel.Type // only these types (none: every type the format accepts)
	Tags     []string     // only indicators with one of these tags (none: any)
	Sources  []string     // only indicators reported by one of these sources (none: any)
	// TLP is the ceiling: reports above it are invisible, and an indicator with none left is not
	// exported. Consumer feeds use the consumer key's clearance, at most amber.
	TLP intel.TLP
	// Max caps the entries, the highest scores kept (0: no cap). PAN-OS caps lists at 50,000 or
	// 150,000 entries depending on the model.
	Max int
	// Since, when set, keeps indicators whose LastSeen is at or after it (a delta).
	Since time.Time
}

// Removal is one value the guard kept out of an export, and why.
type Removal struct {
	Observable intel.Observable `json:"observable"`
	Reason     string           `json:"reason"` // own-asset, warninglist, allowlist, tlp, type, score, cap
	Detail     string           `json:"detail"` // e.g. `asset "HQ LAN" 10.0.0.0/8`, `warninglist "List of known Cloudflare IP ranges"`
}

// Report says what an export selected, removed and wrote.
type Report struct {
	Candidates int            `json:"candidates"` // indicators read
	Written    int            `json:"written"`    // entries written (after aggregation)
	Removed    map[string]int `json:"removed"`    // by reason
	// Removals lists the guard's removals (own-asset, warninglist, allowlist) one by one; the
	// others are counted only.
	Removals []Removal `json:"removals,omitempty"`
}
