package match

import (
	"net/netip"
	"strings"

	"github.com/omen-tip/omen/internal/intel"
)

// deadSet holds the IDs of base indicators removed or replaced since the base was built.
type deadSet map[int64]struct{}

func (d deadSet) has(id int64) bool {
	if len(d) == 0 {
		return false
	}
	_, ok := d[id]
	return ok
}

// match appends the layer's matches for o to dst, leaving out the IDs in dead.
func (l *layer) match(o intel.Observable, dst []Match, dead deadSet) []Match {
	v := o.Value
	switch o.Type {
	case intel.IPv4, intel.IPv6:
		if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" {
			a = a.Unmap()
			return l.matchPrefix(netip.PrefixFrom(a, a.BitLen()), dst, dead)
		}
	case intel.CIDR:
		if p, err := netip.ParsePrefix(v); err == nil {
			return l.matchPrefix(canonPrefix(p), dst, dead)
		}
	case intel.MD5:
		return matchHash(l, &l.md5, o, v, dst, dead)
	case intel.JA3:
		return matchHash(l, &l.ja3, o, v, dst, dead)
	case intel.SHA1:
		return matchHash(l, &l.sha1, o, v, dst, dead)
	case intel.SHA256:
		return matchHash(l, &l.sha256, o, v, dst, dead)
	case intel.SHA512:
		if len(v) == 128 {
			return matchHash(l, &l.sha512, o, v[:64], dst, dead)
		}
	case intel.Domain:
		return l.matchDomain(v, MatchExact, dst, dead)
	case intel.URL:
		dst = l.matchString(strURL, o, dst, dead)
		if i, j := urlHost(v); j > i && !looksLikeAddr(v[i:j]) {
			dst = l.matchDomain(v[i:j], MatchParentDomain, dst, dead)
		}
		return dst
	case intel.Email:
		dst = l.matchString(strEmail, o, dst, dead)
		if k := strings.LastIndexByte(v, '@'); k >= 0 {
			dst = l.matchDomain(v[k+1:], MatchParentDomain, dst, dead)
		}
		return dst
	case intel.Account:
		return l.matchString(strAccount, o, dst, dead)
	case intel.ASN:
		return l.matchString(strASN, o, dst, dead)
	case intel.CVE:
		return l.matchString(strCVE, o, dst, dead)
	}
	return dst
}

// matchPrefix appends the address or network indicators equal to or containing p: one
// longest-prefix lookup, and on a hit a walk over every covering prefix, longest first.
func (l *layer) matchPrefix(p netip.Prefix, dst []Match, dead deadSet) []Match {
	if !p.IsValid() {
		return dst
	}
	if _, ok := l.ip.LookupPrefix(p); !ok {
		return dst
	}
	for q, r := range l.ip.Supernets(p) {
		m := Match{Kind: MatchCIDR, Type: intel.CIDR, Prefix: q}
		if q.Bits() == p.Bits() {
			m.Kind = MatchExact
		}
		if q.IsSingleIP() {
			m.Type = intel.IPv6
			if q.Addr().Is4() {
				m.Type = intel.IPv4
			}
		}
		dst = l.emit(dst, r, m, dead)
	}
	return dst
}

func matchHash[K hashKey](l *layer, h *hashIndex[K], o intel.Observable, hex string, dst []Match, dead deadSet) []Match {
	if h.len() == 0 {
		return dst
	}
	var k K
	if !decodeHex(keyBytes(&k), hex) {
		return dst
	}
	if r, ok := h.get(&k); ok {
		dst = l.emit(dst, r, Match{Kind: MatchExact, Type: o.Type, Value: o.Value}, dead)
	}
	return dst
}

func (l *layer) matchString(table int, o intel.Observable, dst []Match, dead deadSet) []Match {
	if r, ok := l.str[table].get(o.Value); ok {
		dst = l.emit(dst, r, Match{Kind: MatchExact, Type: o.Type, Value: o.Value}, dead)
	}
	return dst
}

// matchDomain appends the domain indicators equal to host (as kind self) and those on each
// parent of host, stopping before the top-level domain. A parent that is itself a public suffix
// (a private PSL entry such as blogspot.com) never matches as a parent: as in the lookup API,
// parents stop at the registrable domain. Every probe is one hash and one map lookup on a
// sub-slice of host; nothing is allocated.
func (l *layer) matchDomain(host string, self MatchKind, dst []Match, dead deadSet) []Match {
	t := &l.str[strDomain]
	if len(t.idx) == 0 || host == "" {
		return dst
	}
	if r, ok := t.get(host); ok {
		dst = l.emit(dst, r, Match{Kind: self, Type: intel.Domain, Value: host}, dead)
	}
	for {
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return dst
		}
		host = host[i+1:]
		if !hasDot(host) {
			return dst // a bare top-level domain is never an indicator
		}
		if r, ok := t.get(host); ok && r.flags()&flagPublicSuffix == 0 {
			dst = l.emit(dst, r, Match{Kind: MatchParentDomain, Type: intel.Domain, Value: host}, dead)
		}
	}
}

// emit appends m for the indicator of r, or for each indicator of a multi ref, leaving out the
// IDs in dead.
func (l *layer) emit(dst []Match, r ref, m Match, dead deadSet) []Match {
	if r.isMulti() {
		for _, o := range l.multi[r.id()] {
			dst = emitOne(dst, o, m, dead)
		}
		return dst
	}
	return emitOne(dst, r, m, dead)
}

func emitOne(dst []Match, r ref, m Match, dead deadSet) []Match {
	if dead.has(r.id()) {
		return dst
	}
	m.ID, m.Flags = r.id(), r.flags()&publicFlags
	return append(dst, m)
}

// looksLikeAddr reports whether a URL host is an IP address rather than a domain: an IPv6
// address (it has a colon) or a dotted IPv4 address (parsed only when it ends in a digit).
func looksLikeAddr(h string) bool {
	if strings.IndexByte(h, ':') >= 0 {
		return true
	}
	if c := h[len(h)-1]; c < '0' || c > '9' {
		return false
	}
	_, err := netip.ParseAddr(h)
	return err == nil
}
