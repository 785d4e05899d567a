package respond

import (
	"net/netip"
	"slices"

	"github.com/omen-tip/omen/internal/intel"
)

// Aggregate merges the IP address and network entries (ipv4, ipv6, cidr) into the fewest CIDRs
// that cover exactly the same addresses: an address or network inside another listed network
// is folded into it, and two halves of a network are replaced by the network. No address that
// was not in an entry is ever covered, so what the guard, the score or the cap left out stays
// out. Other entries pass unchanged.
//
// A merged entry takes the highest score, the most restrictive TLP, the earliest first and the
// latest last seen, the union of the sources and tags, and the threat type and malware of its
// best-scoring member; it has ID 0 unless it is one of the entries itself, grown by what it
// absorbed. The result is in the order the formats write (see [Collect]).
func Aggregate(entries []Entry) []Entry { return aggregate(entries, false) }

// aggregate is Aggregate; with inPlace, entries is the caller's to give up and the result may
// reuse its memory (a million-entry list is not copied when its addresses come in order).
func aggregate(entries []Entry, inPlace bool) []Entry {
	// Entries are large: sort and stack small items pointing at them, and make a merged entry
	// only where entries merge.
	type item struct {
		p    netip.Prefix
		i    int32  // the entry
		m    *Entry // the merged entry, when entries merged into this item
		orig bool   // p is the entry's own prefix
	}
	var others []Entry // not addresses or networks: after them in the output
	ips := make([]item, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		t := e.Observable.Type
		if t != intel.IPv4 && t != intel.IPv6 && t != intel.CIDR {
			others = append(others, *e)
			continue
		}
		p, ok := e.pfx, e.pfxState == pfxValid
		if !ok {
			p, ok = prefixOf(e.Observable)
		}
		if !ok {
			others = append(others, *e)
			continue
		}
		ips = append(ips, item{p: p, i: int32(i), orig: true})
	}
	if len(ips) < 2 {
		out := make([]Entry, 0, len(entries))
		for _, it := range ips {
			out = append(out, entries[it.i])
		}
		out = append(out, others...)
		sortCanonical(out)
		return out
	}
	sorted := slices.IsSortedFunc(ips, func(a, b item) int { return comparePrefix(a.p, b.p) })
	if !sorted {
		sortByAddress(ips, func(it item) netip.Prefix { return it.p })
	}
	entry := func(it *item) Entry {
		if it.m != nil {
			return *it.m
		}
		return entries[it.i]
	}
	stack := make([]item, 0, len(ips))
	for _, it := range ips {
		if k := len(stack) - 1; k >= 0 && stack[k].p.Bits() <= it.p.Bits() && stack[k].p.Contains(it.p.Addr()) {
			m := mergeEntry(entry(&stack[k]), entries[it.i])
			stack[k].m = &m
			continue
		}
		stack = append(stack, it)
		for len(stack) >= 2 {
			a, b := &stack[len(stack)-2], &stack[len(stack)-1]
			parent, ok := siblings(a.p, b.p)
			if !ok {
				break
			}
			m := mergeEntry(entry(a), entry(b))
			stack = append(stack[:len(stack)-2], item{p: parent, i: -1, m: &m})
		}
	}
	// The stack holds the output, in address order. Its items point at entries in increasing
	// order when they came sorted, so the output can be written over entries, front to back,
	// never before an entry it still has to read.
	var out []Entry
	if inPlace && sorted {
		out = entries[:0]
	} else {
		out = make([]Entry, 0, len(stack)+len(others))
	}
	for i := range stack {
		it := &stack[i]
		e := entry(it)
		if !it.orig {
			e.ID = 0
			e.Observable = prefixObservable(it.p)
			e.setPrefix(it.p, true)
		}
		out = append(out, e)
	}
	if inPlace && sorted {
		clear(entries[len(out):])
	}
	if len(others) > 0 {
		sortCanonical(others)
		out = append(out, others...)
	}
	return out
}

// sortByAddress sorts xs by address, the wider network first, keeping the order of equal ones. A
// list of IPv4 prefixes, the common case of a blocklist, sorts as packed integers, several times
// faster than comparing prefixes.
func sortByAddress[T any](xs []T, prefix func(T) netip.Prefix) {
	const idxBits = 26
	packed := len(xs) < 1<<idxBits
	for i := 0; packed && i < len(xs); i++ {
		packed = prefix(xs[i]).Addr().Is4()
	}
	if !packed {
		slices.SortStableFunc(xs, func(a, b T) int {
			pa, pb := prefix(a), prefix(b)
			if c := pa.Addr().Compare(pb.Addr()); c != 0 {
				return c
			}
			return pa.Bits() - pb.Bits() // the wider network first
		})
		return
	}
	// address (32 bits) | prefix length (6) | position in xs (26)
	keys := make([]uint64, len(xs))
	for i, x := range xs {
		p := prefix(x)
		a := p.Addr().As4()
		keys[i] = uint64(a[0])<<56 | uint64(a[1])<<48 | uint64(a[2])<<40 | uint64(a[3])<<32 | uint64(p.Bits())<<idxBits | uint64(i)
	}
	slices.Sort(keys)
	sorted := make([]T, len(xs))
	for i, k := range keys {
		sorted[i] = xs[k&(1<<idxBits-1)]
	}
	copy(xs, sorted)
}

// siblings returns the parent of a and b when they are its two halves, a the lower one.
func siblings(a, b netip.Prefix) (netip.Prefix, bool) {
	if a.Bits() != b.Bits() || a.Bits() == 0 || a.Addr().Is4() != b.Addr().Is4() {
		return netip.Prefix{}, false
	}
	pa, err := a.Addr().Prefix(a.Bits() - 1)
	if err != nil {
		return netip.Prefix{}, false
	}
	pb, _ := b.Addr().Prefix(b.Bits() - 1)
	if pa != pb || a.Addr() != pa.Addr() || b.Addr() == a.Addr() {
		return netip.Prefix{}, false
	}
	return pa, true
}

// prefixObservable returns a prefix as an observable: an address for a full-length prefix.
func prefixObservable(p netip.Prefix) intel.Observable {
	if p.IsSingleIP() {
		if p.Addr().Is4() {
			return intel.Observable{Type: intel.IPv4, Value: p.Addr().String()}
		}
		return intel.Observable{Type: intel.IPv6, Value: p.Addr().String()}
	}
	return intel.Observable{Type: intel.CIDR, Value: p.String()}
}

// mergeEntry folds b into a: a keeps its identity unless b scores higher, in which case b's
// threat type and malware lead.
func mergeEntry(a, b Entry) Entry {
	m := a
	if b.Score > a.Score {
		m.Score, m.ThreatType, m.Malware = b.Score, b.ThreatType, b.Malware
		m.Sources = union(b.Sources, a.Sources)
	} else {
		m.Sources = union(a.Sources, b.Sources)
	}
	m.TLP = max(a.TLP, b.TLP)
	if !b.FirstSeen.IsZero() && (m.FirstSeen.IsZero() || b.FirstSeen.Before(m.FirstSeen)) {
		m.FirstSeen = b.FirstSeen
	}
	if b.LastSeen.After(m.LastSeen) {
		m.LastSeen = b.LastSeen
	}
	m.Tags = union(a.Tags, b.Tags)
	return m
}

// union returns a's elements then b's not in a, in a new slice.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
