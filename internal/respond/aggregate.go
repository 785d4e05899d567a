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
// absorbed. The result is ranked as [Collect] ranks: by score, highest first, then by value.
func Aggregate(entries []Entry) []Entry {
	// Entries are large: sort and stack small items pointing at them, and make a merged entry
	// only where entries merge.
	type item struct {
		p    netip.Prefix
		i    int32  // the entry
		m    *Entry // the merged entry, when entries merged into this item
		orig bool   // p is the entry's own prefix
	}
	out := make([]Entry, 0, len(entries))
	ips := make([]item, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		t := e.Observable.Type
		if t != intel.IPv4 && t != intel.IPv6 && t != intel.CIDR {
			out = append(out, *e)
			continue
		}
		p, ok := prefixOf(e.Observable)
		if !ok {
			out = append(out, *e)
			continue
		}
		ips = append(ips, item{p: p, i: int32(i), orig: true})
	}
	if len(ips) < 2 {
		for _, it := range ips {
			out = append(out, entries[it.i])
		}
		rank(out)
		return out
	}
	slices.SortFunc(ips, func(a, b item) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		return a.p.Bits() - b.p.Bits() // the wider network first
	})
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
	for i := range stack {
		it := &stack[i]
		e := entry(it)
		if !it.orig {
			e.ID = 0
			e.Observable = prefixObservable(it.p)
		}
		out = append(out, e)
	}
	rank(out)
	return out
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
