package match

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/omen-tip/omen/internal/intel"
)

// MatchKind says how an indicator matched a value.
type MatchKind uint8

// Match kinds, from the most to the least specific. Their names are those of the lookup API.
const (
	// MatchExact: the indicator is the value itself (for an IP address, the same address; for a
	// network, the same network).
	MatchExact MatchKind = iota + 1
	// MatchCIDR: the indicator is a network containing the address or network looked up.
	MatchCIDR
	// MatchParentDomain: the indicator is a parent domain of the value, or the host of a URL or
	// the domain of an email address (or one of their parents). It is a match of lower quality.
	MatchParentDomain
)

// String returns "exact", "cidr" or "parent-domain".
func (k MatchKind) String() string {
	switch k {
	case MatchExact:
		return "exact"
	case MatchCIDR:
		return "cidr"
	case MatchParentDomain:
		return "parent-domain"
	}
	return "unknown"
}

// Flags are per-indicator bits held in the index beside the indicator's ID, so that the hot path
// can decide without reading the store.
type Flags uint8

const (
	// FlagWarninglisted marks an indicator that was on a warninglist when it was last ingested
	// ([intel.Indicator.Warninglists] not empty).
	FlagWarninglisted Flags = 1 << iota

	// flagPublicSuffix marks a domain indicator that is itself a public suffix (a private PSL
	// entry such as blogspot.com): it matches exactly, never as a parent.
	flagPublicSuffix Flags = 1 << 6
	// flagMulti marks a ref that stands for several indicators sharing a key: its ID part is an
	// index in layer.multi.
	flagMulti Flags = 1 << 7
	// publicFlags are the flags a caller may set on an [Entry].
	publicFlags = FlagWarninglisted
)

// Entry is one indicator as the index holds it: the store's ID, the observable that decides a
// match (in canonical form, see [intel.Normalize]) and its flags. Reports and other metadata stay
// in the store. An ID names one observable: IDs are 0 to 2^55-1.
type Entry struct {
	ID         int64
	Observable intel.Observable
	Flags      Flags
}

// EntryFromIndicator returns the entry of a stored indicator; its reports are not kept.
func EntryFromIndicator(in intel.Indicator) Entry {
	e := Entry{ID: in.ID, Observable: in.Observable}
	if len(in.Warninglists) > 0 {
		e.Flags |= FlagWarninglisted
	}
	return e
}

// Match is one indicator that matches a value: its ID (read the details from the store), how it
// matched, its flags, and its observable. The observable is kept in parts so that matching does
// not allocate: Value is set for string-keyed and hash indicators (a view of the value looked
// up), Prefix for address and network indicators; [Match.Observable] puts them together.
type Match struct {
	ID     int64
	Kind   MatchKind
	Flags  Flags
	Type   intel.Type   // the indicator's type
	Value  string       // the indicator's value, unless Prefix is set
	Prefix netip.Prefix // the indicator's address (full-length prefix) or network
}

// Observable returns the indicator's observable in canonical form. For address and network
// indicators it formats Prefix, which allocates.
func (m Match) Observable() intel.Observable {
	if m.Prefix.IsValid() {
		return intel.Observable{Type: m.Type, Value: prefixValue(m.Prefix)}
	}
	return intel.Observable{Type: m.Type, Value: m.Value}
}

// prefixValue is the canonical value of an address or network indicator: the bare address for a
// full-length prefix.
func prefixValue(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// Engine holds the current [Snapshot]. Readers call [Engine.Snapshot] (or the shortcuts) and never
// lock; writers replace the snapshot with [Engine.Swap] or [Engine.Update]. A reader keeps using
// the snapshot it loaded until it loads again, so one enrichment sees one consistent index.
type Engine struct {
	cur atomic.Pointer[Snapshot]
	mu  sync.Mutex // serialises Update, so that concurrent updates do not lose each other's changes
}

// NewEngine returns an engine serving s; a nil s serves an empty snapshot.
func NewEngine(s *Snapshot) *Engine {
	e := &Engine{}
	if s == nil {
		s = NewBuilder().Build()
	}
	e.cur.Store(s)
	return e
}

// Snapshot returns the current snapshot. It never blocks.
func (e *Engine) Snapshot() *Snapshot { return e.cur.Load() }

// Swap makes s the current snapshot and returns the previous one. s must not be nil.
func (e *Engine) Swap(s *Snapshot) *Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur.Swap(s)
}

// Update applies changes to the current snapshot (see [Snapshot.With]) and makes the result
// current. Updates are serialised among themselves; readers are never blocked.
func (e *Engine) Update(add []Entry, remove []int64) *Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.cur.Load().With(add, remove)
	e.cur.Store(s)
	return s
}

// Match is e.Snapshot().Match(o, dst).
func (e *Engine) Match(o intel.Observable, dst []Match) []Match { return e.cur.Load().Match(o, dst) }
