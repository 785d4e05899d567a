package match

import (
	"fmt"
	"hash/maphash"
	"maps"
	"net/netip"
	"slices"

	"github.com/omen-tip/omen/internal/intel"
)

// Snapshot is an immutable index of indicators, warninglists and the organisation's assets. One
// call answers each question on the hot path: [Snapshot.Match] (which indicators match a value,
// and how), [Snapshot.Warninglisted] and [Snapshot.Assets]. It is safe for any number of
// concurrent readers; changes make a new snapshot ([Snapshot.With]) that shares what it can.
//
// Indicators live in two layers: a large base, built once, and a small delta holding what was
// added since, with removed or replaced base IDs hidden by tombstones. Copying a million-entry
// map to add one indicator would cost tens of milliseconds and double the memory while both
// copies live; rebuilding the small delta costs little, and a lookup probes one more (nearly
// empty, cache-resident) layer. When the delta and the tombstones grow past a sixteenth of the
// base (at least [DeltaMin] entries), With folds them into a new base: the address table by
// bart's copy-on-write InsertPersist/DeletePersist (untouched trie nodes stay shared with the
// old base), the maps by one copy. A full rebuild from the store ([Builder]) also compacts the
// string arenas, which a fold does not.
type Snapshot struct {
	seed    maphash.Seed
	base    *layer
	delta   *layer  // nil when there are no pending entries
	pending []Entry // the entries of delta
	dead    deadSet // base IDs removed or replaced since base was built
	lists   *WarninglistSet
	assets  *assetIndex
	// rejected counts entries refused since the base was built (invalid values).
	rejected int
}

// DeltaMin is the least number of pending entries and tombstones at which [Snapshot.With]
// folds the delta into the base.
const DeltaMin = 4096

// Builder builds a [Snapshot]. Feed it from the store with
//
//	err := st.ScanIndicators(ctx, func(in intel.Indicator) error {
//		b.AddIndicator(in) // an indicator whose value does not parse is skipped and counted
//		return nil
//	})
//
// A Builder is used by one goroutine, and not after Build.
type Builder struct {
	s Snapshot
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	seed := maphash.MakeSeed()
	return &Builder{s: Snapshot{seed: seed, base: newLayer(seed)}}
}

// Add indexes e. An entry whose value is not a valid value of its type, or whose ID is out of
// range, is refused with an error (and counted in [Stats.Rejected]); the builder goes on.
func (b *Builder) Add(e Entry) error {
	if err := b.s.base.add(e); err != nil {
		b.s.rejected++
		return fmt.Errorf("indexing %s (indicator %d): %w", clipValue(e.Observable), e.ID, err)
	}
	return nil
}

// AddIndicator indexes a stored indicator: its ID, observable and flags (see
// [EntryFromIndicator]); its reports are not kept.
func (b *Builder) AddIndicator(in intel.Indicator) error { return b.Add(EntryFromIndicator(in)) }

// SetWarninglists sets the warninglists of the snapshot (nil for none).
func (b *Builder) SetWarninglists(ws *WarninglistSet) { b.s.lists = ws }

// SetAssets sets the organisation's assets (see [AssetValues]).
func (b *Builder) SetAssets(vals []AssetValue) { b.s.assets = newAssetIndex(vals) }

// Build returns the snapshot.
func (b *Builder) Build() *Snapshot {
	b.s.base.finish()
	s := b.s
	b.s = Snapshot{}
	return &s
}

// Match appends to dst the indicators that match o, and how, and returns the extended slice:
//
//   - ipv4, ipv6: the same address (exact) and every network containing it (cidr), longest
//     first; IPv4-mapped IPv6 addresses are matched as IPv4.
//   - cidr: the same network (exact) and every network containing it (cidr).
//   - domain: the domain itself (exact), then each parent domain with at least two labels that
//     is not itself a public suffix (parent-domain).
//   - url: the URL itself (exact), then its host and the host's parents (parent-domain), unless
//     the host is an IP address.
//   - email: the address itself (exact), then its domain and the domain's parents (parent-domain).
//   - md5, sha1, sha256, sha512, ja3, asn, cve, account: the value itself (exact).
//
// o is expected in canonical form ([intel.Normalize]); hashes are also matched in upper case.
// A value that does not parse as its type matches nothing. Match does not allocate unless dst
// must grow, hit or miss.
func (s *Snapshot) Match(o intel.Observable, dst []Match) []Match {
	dst = s.base.match(o, dst, s.dead)
	if s.delta != nil {
		dst = s.delta.match(o, dst, nil)
	}
	return dst
}

// MatchAddr is [Snapshot.Match] for an address already parsed.
func (s *Snapshot) MatchAddr(a netip.Addr, dst []Match) []Match {
	if !a.IsValid() || a.Zone() != "" {
		return dst
	}
	a = a.Unmap()
	p := netip.PrefixFrom(a, a.BitLen())
	dst = s.base.matchPrefix(p, dst, s.dead)
	if s.delta != nil {
		dst = s.delta.matchPrefix(p, dst, nil)
	}
	return dst
}

// Warninglisted returns the warninglists o is on (see [WarninglistSet.Match]), or nil.
func (s *Snapshot) Warninglisted(o intel.Observable) []Hit { return s.lists.Match(o) }

// Warninglists returns the snapshot's warninglists; nil when it has none.
func (s *Snapshot) Warninglists() *WarninglistSet { return s.lists }

// WithWarninglists returns a snapshot with the same indicators and assets and the lists ws.
func (s *Snapshot) WithWarninglists(ws *WarninglistSet) *Snapshot {
	n := *s
	n.lists = ws
	return &n
}

// WithAssets returns a snapshot with the same indicators and warninglists and the assets vals.
func (s *Snapshot) WithAssets(vals []AssetValue) *Snapshot {
	n := *s
	n.assets = newAssetIndex(vals)
	return &n
}

// With returns a snapshot with the entries add indexed and the indicators with the IDs in
// remove gone; s is unchanged. An added entry replaces the indicator of the same ID (its value
// or flags changed). Invalid entries are skipped and counted in [Stats.Rejected]. See
// [Snapshot] for the cost: usually proportional to the delta, now and then (when the delta
// is folded into the base) to the whole index.
func (s *Snapshot) With(add []Entry, remove []int64) *Snapshot {
	n := *s
	n.dead = maps.Clone(s.dead)
	if n.dead == nil {
		n.dead = deadSet{}
	}
	// gone maps every ID changed to the index in add of its last entry, or -1 when removed.
	gone := make(map[int64]int, len(add)+len(remove))
	for i, e := range add {
		gone[e.ID] = i
	}
	for _, id := range remove {
		gone[id] = -1
	}
	for id := range gone {
		n.dead[id] = struct{}{}
	}
	n.pending = make([]Entry, 0, len(s.pending)+len(add))
	for _, e := range s.pending {
		if _, ok := gone[e.ID]; !ok {
			n.pending = append(n.pending, e)
		}
	}
	for i, e := range add {
		if gone[e.ID] == i {
			n.pending = append(n.pending, e)
		}
	}
	if len(n.pending)+len(n.dead) >= max(DeltaMin, s.base.size()/16) {
		n.fold()
	} else {
		n.rebuildDelta()
	}
	return &n
}

// rebuildDelta indexes the pending entries in a fresh delta layer.
func (s *Snapshot) rebuildDelta() {
	s.delta = nil
	if len(s.pending) == 0 {
		return
	}
	d := newLayer(s.seed)
	kept := s.pending[:0:0]
	for _, e := range s.pending {
		if d.add(e) != nil {
			s.rejected++
			continue
		}
		kept = append(kept, e)
	}
	s.pending = kept
	d.finish()
	s.delta = d
}

// fold makes a new base of the base without its dead IDs and the pending entries.
func (s *Snapshot) fold() {
	b := s.base.without(s.dead)
	b.persist = true
	for _, e := range s.pending {
		if b.add(e) != nil {
			s.rejected++
		}
	}
	b.persist = false
	b.finish()
	s.base, s.delta, s.pending, s.dead = b, nil, nil, nil
}

// size returns the number of indicators in the layer.
func (l *layer) size() int {
	n := 0
	for _, c := range l.count {
		n += c
	}
	return n
}

// without returns a copy of l without the indicators in dead. The copy shares l's address table
// until it is changed (changes go through bart's persistent API); its maps are copies.
func (l *layer) without(dead deadSet) *layer {
	c := &layer{ip: l.ip, count: l.count, multi: slices.Clone(l.multi)}
	c.md5 = l.md5.without(c, dead, intel.MD5)
	c.ja3 = l.ja3.without(c, dead, intel.JA3)
	c.sha1 = l.sha1.without(c, dead, intel.SHA1)
	c.sha256 = l.sha256.without(c, dead, intel.SHA256)
	c.sha512 = l.sha512.without(c, dead, intel.SHA512)
	for i := range l.str {
		c.str[i] = l.str[i].clone()
		c.pruneStr(&c.str[i], dead, strTypes[i])
	}
	if len(dead) > 0 {
		c.pruneIP(dead)
	}
	return c
}

// prune returns what to store under a key holding r once the IDs in dead are gone, and false
// when nothing is left.
func (l *layer) prune(r ref, dead deadSet) (ref, bool) {
	if !r.isMulti() {
		return r, !dead.has(r.id())
	}
	var live []ref
	for _, o := range l.multi[r.id()] {
		if !dead.has(o.id()) {
			live = append(live, o)
		}
	}
	switch len(live) {
	case 0:
		return 0, false
	case 1:
		return live[0], true
	}
	l.multi[r.id()] = live
	return r, true
}

// countDead subtracts from the layer's counts the indicators of r that are in dead.
func (l *layer) countDead(r ref, dead deadSet, t intel.Type) {
	list := []ref{r}
	if r.isMulti() {
		list = l.multi[r.id()]
	}
	for _, o := range list {
		if dead.has(o.id()) {
			l.count[typeIndex(t)]--
		}
	}
}

// pruneStr drops dead IDs from a cloned string table. Their bytes stay in the arena until the
// next full build.
func (l *layer) pruneStr(t *strTable, dead deadSet, typ intel.Type) {
	if len(dead) == 0 {
		return
	}
	for h, e := range t.idx {
		l.countDead(e.ref, dead, typ)
		if nr, ok := l.prune(e.ref, dead); ok {
			e.ref = nr
			t.idx[h] = e
		} else {
			delete(t.idx, h)
		}
	}
	for v, r := range t.coll {
		l.countDead(r, dead, typ)
		if nr, ok := l.prune(r, dead); ok {
			t.coll[v] = nr
		} else {
			delete(t.coll, v)
		}
	}
}

// pruneIP drops dead IDs from the address table, copy-on-write.
func (l *layer) pruneIP(dead deadSet) {
	type change struct {
		p   netip.Prefix
		r   ref
		del bool
	}
	var changes []change
	for p, r := range l.ip.All() {
		typ := intel.CIDR
		if p.IsSingleIP() {
			typ = intel.IPv4
			if p.Addr().Is6() {
				typ = intel.IPv6
			}
		}
		l.countDead(r, dead, typ)
		if nr, ok := l.prune(r, dead); !ok {
			changes = append(changes, change{p: p, del: true})
		} else if nr != r {
			changes = append(changes, change{p: p, r: nr})
		}
	}
	for _, c := range changes {
		if c.del {
			l.ip = l.ip.DeletePersist(c.p)
		} else {
			l.ip = l.ip.InsertPersist(c.p, c.r)
		}
	}
}

// Stats describes a snapshot.
type Stats struct {
	Indicators int                `json:"indicators"`
	ByType     map[intel.Type]int `json:"by_type"`
	Pending    int                `json:"pending"`  // entries in the delta layer
	Removed    int                `json:"removed"`  // tombstones over the base
	Rejected   int                `json:"rejected"` // entries refused as invalid
	Assets     int                `json:"assets"`   // asset values
	// Warninglist entries over all lists.
	WarninglistEntries int `json:"warninglist_entries"`
	// Bytes is a rough estimate of the heap the indicator index holds, from the sizes of its
	// structures (map slots at their load factor, about 72 B per bart prefix, arena bytes).
	Bytes int64 `json:"bytes"`
}

// Stats returns counts and an estimate of the memory held. Until the next fold, Indicators
// counts an indicator replaced by [Snapshot.With] twice (its base version is hidden, not gone).
func (s *Snapshot) Stats() Stats {
	st := Stats{ByType: map[intel.Type]int{}, Pending: len(s.pending), Removed: len(s.dead), Rejected: s.rejected}
	for _, l := range []*layer{s.base, s.delta} {
		if l == nil {
			continue
		}
		for _, t := range intel.Types {
			if c := l.count[typeIndex(t)]; c > 0 {
				st.ByType[t] += c
				st.Indicators += c
			}
		}
		st.Bytes += l.bytes()
	}
	st.Indicators = max(st.Indicators-s.removedFromBase(), 0)
	if s.assets != nil {
		st.Assets = s.assets.n
	}
	if s.lists != nil {
		st.WarninglistEntries = s.lists.Len()
	}
	return st
}

// removedFromBase counts the tombstones of IDs that are not pending: removed indicators (and
// IDs that were never there, which cannot be told apart without an index by ID).
func (s *Snapshot) removedFromBase() int {
	if len(s.dead) == 0 {
		return 0
	}
	pending := make(map[int64]struct{}, len(s.pending))
	for _, e := range s.pending {
		pending[e.ID] = struct{}{}
	}
	n := 0
	for id := range s.dead {
		if _, ok := pending[id]; !ok {
			n++
		}
	}
	return n
}

// bytes estimates the heap held by l.
func (l *layer) bytes() int64 {
	slots := func(n, slot int) int64 { return int64(float64(n*(slot+1)) / 0.7) }
	b := int64(l.ip.Size()) * 72
	b += hashBytes(&l.md5) + hashBytes(&l.ja3) + hashBytes(&l.sha1) + hashBytes(&l.sha256) + hashBytes(&l.sha512)
	for i := range l.str {
		b += slots(len(l.str[i].idx), 24) + int64(cap(l.str[i].arena))
	}
	return b
}

// hashBytes estimates the heap held by a hash index: its arrays and its map.
func hashBytes[K hashKey](h *hashIndex[K]) int64 {
	var k K
	kb := int64(len(keyBytes(&k)))
	return int64(cap(h.keys))*kb + int64(cap(h.refs))*8 + int64(float64(int64(len(h.m))*(kb+9))/0.7)
}

// clipValue returns o for an error message, its value clipped.
func clipValue(o intel.Observable) string {
	v := o.Value
	if len(v) > 80 {
		v = v[:80] + "…"
	}
	return string(o.Type) + ":" + v
}
