package match

import (
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/omen-tip/omen/internal/intel"
)

// AssetValue is one value of one of the organisation's assets: a network, an address, a domain
// (which covers its subdomains), an email address or a user name.
type AssetValue struct {
	ID         int64 // the asset's ID in the store
	Observable intel.Observable
}

// AssetHit is an asset a value belongs to, and how: exact (the asset value itself), cidr (a
// network of the asset contains the address) or parent-domain (a domain of the asset is the
// value's domain or a parent of it, or the host of a URL or the domain of an email address).
type AssetHit struct {
	ID         int64 // the asset's ID
	Kind       MatchKind
	Observable intel.Observable // the asset value that matched
}

// AssetValues returns the values of assets in canonical form, each detected as [intel.Detect]
// does (a value it cannot read, such as "jdoe", is taken as a user name). Values that are
// neither are skipped: a CPE, say, belongs to technology matching, not here.
func AssetValues(assets []intel.Asset) []AssetValue {
	var out []AssetValue
	for _, a := range assets {
		for _, v := range a.Values {
			o, err := intel.Detect(v)
			if err != nil {
				if o, err = intel.Normalize(intel.Account, v); err != nil || strings.ContainsAny(v, ":/") {
					continue
				}
			}
			out = append(out, AssetValue{ID: a.ID, Observable: o})
		}
	}
	return out
}

// assetIndex finds the assets a value belongs to. Assets are few (thousands), so it favours
// simplicity over memory.
type assetIndex struct {
	nets    *bart.Table[[]AssetValue] // networks and addresses
	domains map[string][]AssetValue
	exact   map[intel.Observable][]AssetValue // every other type
	n       int
}

func newAssetIndex(vals []AssetValue) *assetIndex {
	x := &assetIndex{nets: new(bart.Table[[]AssetValue]), domains: map[string][]AssetValue{},
		exact: map[intel.Observable][]AssetValue{}}
	for _, v := range vals {
		if x.add(v) {
			x.n++
		}
	}
	return x
}

func (x *assetIndex) add(v AssetValue) bool {
	o := v.Observable
	switch o.Type {
	case intel.IPv4, intel.IPv6, intel.CIDR:
		p, ok := prefixOf(o)
		if !ok {
			return false
		}
		old, _ := x.nets.Get(p)
		x.nets.Insert(p, append(old, v))
	case intel.Domain:
		x.domains[o.Value] = append(x.domains[o.Value], v)
	default:
		x.exact[o] = append(x.exact[o], v)
	}
	return true
}

// prefixOf returns an address or network observable as a prefix, full-length for an address.
func prefixOf(o intel.Observable) (netip.Prefix, bool) {
	if o.Type == intel.CIDR {
		p, err := netip.ParsePrefix(o.Value)
		return canonPrefix(p), err == nil
	}
	a, err := netip.ParseAddr(o.Value)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// Assets appends to dst the organisation's assets o belongs to (see [AssetHit]) and returns the
// extended slice.
func (s *Snapshot) Assets(o intel.Observable, dst []AssetHit) []AssetHit {
	x := s.assets
	if x == nil || x.n == 0 {
		return dst
	}
	switch o.Type {
	case intel.IPv4, intel.IPv6, intel.CIDR:
		if p, ok := prefixOf(o); ok {
			dst = x.matchPrefix(p, dst)
		}
		return dst
	case intel.Domain:
		return x.matchDomain(o.Value, MatchExact, dst)
	case intel.URL:
		if i, j := urlHost(o.Value); j > i {
			h := o.Value[i:j]
			if looksLikeAddr(h) {
				if a, err := netip.ParseAddr(h); err == nil {
					a = a.Unmap()
					return x.matchPrefix(netip.PrefixFrom(a, a.BitLen()), dst)
				}
				return dst
			}
			return x.matchDomain(h, MatchParentDomain, dst)
		}
		return dst
	case intel.Email:
		dst = appendAssets(dst, x.exact[o], MatchExact)
		if k := strings.LastIndexByte(o.Value, '@'); k >= 0 {
			dst = x.matchDomain(o.Value[k+1:], MatchParentDomain, dst)
		}
		return dst
	}
	return appendAssets(dst, x.exact[o], MatchExact)
}

func (x *assetIndex) matchPrefix(p netip.Prefix, dst []AssetHit) []AssetHit {
	for q, vals := range x.nets.Supernets(p) {
		k := MatchCIDR
		if q.Bits() == p.Bits() {
			k = MatchExact
		}
		dst = appendAssets(dst, vals, k)
	}
	return dst
}

// matchDomain appends the domain assets equal to host (as kind self) or a parent of it.
func (x *assetIndex) matchDomain(host string, self MatchKind, dst []AssetHit) []AssetHit {
	dst = appendAssets(dst, x.domains[host], self)
	for {
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return dst
		}
		host = host[i+1:]
		if !hasDot(host) {
			return dst
		}
		dst = appendAssets(dst, x.domains[host], MatchParentDomain)
	}
}

func appendAssets(dst []AssetHit, vals []AssetValue, k MatchKind) []AssetHit {
	for _, v := range vals {
		dst = append(dst, AssetHit{ID: v.ID, Kind: k, Observable: v.Observable})
	}
	return dst
}
