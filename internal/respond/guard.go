package respond

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
)

// Removal reasons of the guard.
const (
	ReasonOwnAsset    = "own-asset"
	ReasonWarninglist = "warninglist"
	ReasonAllowlist   = "allowlist"
)

// Guard decides what must never be blocked: the organisation's own networks and domains,
// warninglisted infrastructure and the analysts' allowlist. Build it once with [NewGuard]; it is
// immutable afterwards and safe for concurrent use.
//
// What it removes, by observable type:
//
//   - ipv4, ipv6: an address inside an own network or address, inside an allowlisted network or
//     address, or on a warninglist.
//   - cidr: a network overlapping (containing or inside) an own network or address, an
//     allowlisted one, or a network or address on a warninglist: blocking 8.8.8.0/24 blocks
//     8.8.8.8. Such a network is removed whole, never split around the hole.
//   - domain: an own or allowlisted domain, any subdomain of one, and any parent of one (an RPZ
//     entry for example.com with its wildcard would take mail.example.com down); a domain on a
//     warninglist (MISP semantics: the entry and its subdomains for hostname lists, exact for
//     string lists).
//   - url: a URL whose host would be removed (an address or a domain, as above, parents
//     excepted), an allowlisted URL, or a URL on a warninglist.
//   - email: an address whose domain is own or allowlisted (or a subdomain of one), an own or
//     allowlisted address, or one on a warninglist.
//   - every other type: an own or allowlisted value, exactly, or one on a warninglist.
type Guard struct {
	own, allow side
	lists      *match.WarninglistSet
	wlNets     bart.Table[[]wlNet] // the entries of cidr warninglists, for the networks around them
}

// side is one kind of protected values: the assets or the allowlist.
type side struct {
	reason  string
	nets    bart.Table[[]string] // network → details
	domains map[string][]string  // domain → details (the domain and its subdomains)
	parents map[string]string    // every proper parent of a domain above → a detail
	exact   map[intel.Observable][]string
}

type wlNet struct {
	list, entry string
}

func newSide(reason string) side {
	return side{reason: reason, domains: map[string][]string{}, parents: map[string]string{},
		exact: map[intel.Observable][]string{}}
}

func (s *side) add(o intel.Observable, detail string) {
	switch o.Type {
	case intel.IPv4, intel.IPv6, intel.CIDR:
		p, ok := prefixOf(o)
		if !ok {
			return
		}
		old, _ := s.nets.Get(p)
		s.nets.Insert(p, append(old, detail))
	case intel.Domain:
		s.domains[o.Value] = append(s.domains[o.Value], detail)
		for d := o.Value; ; {
			i := strings.IndexByte(d, '.')
			if i < 0 {
				break
			}
			d = d[i+1:]
			if _, ok := s.parents[d]; !ok {
				s.parents[d] = detail
			}
		}
	default:
		s.exact[o] = append(s.exact[o], detail)
	}
}

// NewGuard builds a guard from the organisation's assets, the warninglists (nil for none) and the
// allowlist. Asset values that are not observables (CPEs, brand names) are skipped.
func NewGuard(assets []intel.Asset, lists *match.WarninglistSet, allow []intel.AllowEntry) *Guard {
	g := &Guard{own: newSide(ReasonOwnAsset), allow: newSide(ReasonAllowlist), lists: lists}
	names := map[int64]string{}
	for _, a := range assets {
		names[a.ID] = a.Name
	}
	for _, v := range match.AssetValues(assets) {
		g.own.add(v.Observable, fmt.Sprintf("asset %q %s", names[v.ID], v.Observable.Value))
	}
	for _, e := range allow {
		o, err := intel.Normalize(e.Observable.Type, e.Observable.Value)
		if err != nil {
			o = e.Observable
		}
		d := fmt.Sprintf("allowlist entry %d %s", e.ID, o.Value)
		if e.Reason != "" {
			d += fmt.Sprintf(" (%s)", e.Reason)
		}
		g.allow.add(o, d)
	}
	if lists != nil {
		for _, l := range lists.Lists() {
			if !strings.EqualFold(l.Type, "cidr") || !appliesToNetworks(l) {
				continue
			}
			for _, e := range l.Entries {
				p, ok := parseNet(e)
				if !ok {
					continue
				}
				old, _ := g.wlNets.Get(p)
				g.wlNets.Insert(p, append(old, wlNet{list: l.Name, entry: e}))
			}
		}
	}
	return g
}

// appliesToNetworks reports whether a cidr warninglist applies to network values: it names no
// matching attributes or an IP one.
func appliesToNetworks(l *match.Warninglist) bool {
	if len(l.MatchingAttributes) == 0 {
		return true
	}
	for _, a := range l.MatchingAttributes {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "all" || strings.HasPrefix(a, "ip-") || a == "domain|ip" {
			return true
		}
	}
	return false
}

// parseNet reads a warninglist network entry: a network or a bare address.
func parseNet(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return unmapPrefix(p), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// unmapPrefix masks p and turns an IPv4-mapped IPv6 prefix into its IPv4 form.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// prefixOf returns an address or network observable as a prefix (full length for an address).
func prefixOf(o intel.Observable) (netip.Prefix, bool) {
	if o.Type == intel.CIDR {
		p, err := netip.ParsePrefix(o.Value)
		if err != nil {
			return netip.Prefix{}, false
		}
		return unmapPrefix(p), true
	}
	a, err := netip.ParseAddr(strings.Trim(o.Value, "[]"))
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// Check reports whether o must be kept out of every export (true) and, if so, why. o is expected
// in canonical form ([intel.Normalize]).
func (g *Guard) Check(o intel.Observable) (Removal, bool) {
	if g == nil {
		return Removal{}, false
	}
	if d, ok := g.own.check(o); ok {
		return Removal{Observable: o, Reason: ReasonOwnAsset, Detail: d}, true
	}
	if d, ok := g.allow.check(o); ok {
		return Removal{Observable: o, Reason: ReasonAllowlist, Detail: d}, true
	}
	if d, ok := g.warninglisted(o); ok {
		return Removal{Observable: o, Reason: ReasonWarninglist, Detail: d}, true
	}
	return Removal{}, false
}

// check finds a protected value of s that o would hit.
func (s *side) check(o intel.Observable) (string, bool) {
	if ds, ok := s.exact[o]; ok {
		return ds[0], true
	}
	switch o.Type {
	case intel.IPv4, intel.IPv6, intel.CIDR:
		p, ok := prefixOf(o)
		if !ok {
			return "", false
		}
		return s.overlap(p)
	case intel.Domain:
		if d, ok := s.domain(o.Value); ok {
			return d, true
		}
		if d, ok := s.parents[o.Value]; ok {
			return d + " (under " + o.Value + ")", true
		}
	case intel.URL:
		if h, ok := urlHostObservable(o.Value); ok {
			if h.Type == intel.Domain {
				return s.domain(h.Value)
			}
			return s.overlap(netip.PrefixFrom(mustAddr(h.Value), mustAddr(h.Value).BitLen()))
		}
	case intel.Email:
		if _, dom, ok := strings.Cut(o.Value, "@"); ok {
			return s.domain(dom)
		}
	}
	return "", false
}

// domain finds d or one of its parents among the domains of s.
func (s *side) domain(d string) (string, bool) {
	for {
		if ds, ok := s.domains[d]; ok {
			return ds[0], true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return "", false
		}
		d = d[i+1:]
	}
}

// overlap finds a network of s that contains p or lies inside it.
func (s *side) overlap(p netip.Prefix) (string, bool) {
	if _, ds, ok := s.nets.LookupPrefixLPM(p); ok {
		return ds[0], true
	}
	for _, ds := range s.nets.Subnets(p) {
		return ds[0], true
	}
	return "", false
}

func mustAddr(s string) netip.Addr {
	a, _ := netip.ParseAddr(strings.Trim(s, "[]"))
	return a.Unmap()
}

// urlHostObservable returns the host of a canonical URL as a domain, ipv4 or ipv6 observable.
func urlHostObservable(u string) (intel.Observable, bool) {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		rest = u
	}
	end := strings.IndexAny(rest, "/?#\\")
	if end < 0 {
		end = len(rest)
	}
	auth := rest[:end]
	if k := strings.LastIndexByte(auth, '@'); k >= 0 {
		auth = auth[k+1:]
	}
	host := auth
	if strings.HasPrefix(auth, "[") {
		k := strings.IndexByte(auth, ']')
		if k < 0 {
			return intel.Observable{}, false
		}
		host = auth[1:k]
	} else if k := strings.LastIndexByte(auth, ':'); k >= 0 {
		host = auth[:k]
	}
	if host == "" {
		return intel.Observable{}, false
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" {
		a = a.Unmap()
		if a.Is4() {
			return intel.Observable{Type: intel.IPv4, Value: a.String()}, true
		}
		return intel.Observable{Type: intel.IPv6, Value: a.String()}, true
	}
	return intel.Observable{Type: intel.Domain, Value: strings.ToLower(strings.TrimSuffix(host, "."))}, true
}

// warninglisted finds a warninglist o is on, or, for a network, a listed network or address
// inside it; for a URL, also the lists its host is on.
func (g *Guard) warninglisted(o intel.Observable) (string, bool) {
	if g.lists == nil {
		return "", false
	}
	if hits := g.lists.Match(o); len(hits) > 0 {
		return g.hitDetail(hits[0].List, hits[0].Entry, ""), true
	}
	switch o.Type {
	case intel.CIDR:
		p, ok := prefixOf(o)
		if !ok {
			return "", false
		}
		for _, ns := range g.wlNets.Subnets(p) {
			return g.hitDetail(ns[0].list, ns[0].entry, " inside "+o.Value), true
		}
	case intel.URL:
		if h, ok := urlHostObservable(o.Value); ok {
			if hits := g.lists.Match(h); len(hits) > 0 {
				return g.hitDetail(hits[0].List, hits[0].Entry, " (the URL's host "+h.Value+")"), true
			}
		}
	}
	return "", false
}

// hitDetail explains a warninglist hit.
func (g *Guard) hitDetail(list, entry, suffix string) string {
	d := fmt.Sprintf("warninglist %q", list)
	if entry != "" {
		d += " entry " + entry
	}
	return d + suffix
}
