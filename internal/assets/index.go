package assets

import (
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/omen-tip/omen/internal/intel"
)

// Index finds the organisation's assets an observable belongs to: IPs by longest prefix over
// network CIDRs and host addresses, domains by exact name or nearest parent (a report on
// "a.corp.example" belongs to the asset holding "corp.example"), host names, emails and accounts
// exactly. It is built once and safe for concurrent use; rebuild it when assets change.
type Index struct {
	assets   []intel.Asset
	prefixes bart.Table[[]int]
	names    map[ValueType]map[string][]int // Domain, Hostname, Email, Account → asset positions
}

// NewIndex builds an index over assets.
func NewIndex(assets []intel.Asset) *Index {
	x := &Index{assets: assets, names: map[ValueType]map[string][]int{}}
	for i, a := range assets {
		for _, v := range Values(a) {
			x.add(i, v)
		}
	}
	return x
}

func (x *Index) add(i int, v Value) {
	switch v.Type {
	case IPv4, IPv6, CIDR:
		p, err := netip.ParsePrefix(v.Value)
		if err != nil {
			a, aerr := netip.ParseAddr(v.Value)
			if aerr != nil {
				return
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		x.prefixes.Modify(p, func(old []int, _ bool) ([]int, bool) { return appendOnce(old, i), false })
	case Domain, Hostname, Email, Account:
		m := x.names[v.Type]
		if m == nil {
			m = map[string][]int{}
			x.names[v.Type] = m
		}
		m[v.Value] = appendOnce(m[v.Value], i)
	}
}

func appendOnce(s []int, i int) []int {
	if len(s) > 0 && s[len(s)-1] == i {
		return s
	}
	return append(s, i)
}

// Len returns the number of assets indexed.
func (x *Index) Len() int { return len(x.assets) }

// Match returns the assets o belongs to, most specific first: for an IP the assets of the longest
// matching prefix; for a domain those of the name itself or its nearest listed parent (host names
// included); for an email the person holding it, else the assets of its domain; for an account
// the person holding it. Other types match nothing.
func (x *Index) Match(o intel.Observable) []intel.Asset {
	switch o.Type {
	case intel.IPv4, intel.IPv6:
		a, err := netip.ParseAddr(o.Value)
		if err != nil {
			return nil
		}
		ids, _ := x.prefixes.Lookup(a)
		return x.pick(ids)
	case intel.Domain:
		return x.matchDomain(o.Value)
	case intel.Email:
		if ids := x.names[Email][o.Value]; len(ids) > 0 {
			return x.pick(ids)
		}
		if k := strings.LastIndexByte(o.Value, '@'); k >= 0 {
			return x.matchDomain(o.Value[k+1:])
		}
	case intel.Account:
		return x.pick(x.names[Account][o.Value])
	}
	return nil
}

// MatchHost returns the assets of a host name as an event names it ("FIN-LT-0231" or
// "fin-lt-0231.corp.example"): exact, then its first label, then its nearest listed parent domain.
func (x *Index) MatchHost(name string) []intel.Asset {
	n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if ids := x.names[Hostname][n]; len(ids) > 0 {
		return x.pick(ids)
	}
	if first, _, ok := strings.Cut(n, "."); ok {
		if ids := x.names[Hostname][first]; len(ids) > 0 {
			return x.pick(ids)
		}
		return x.matchDomain(n)
	}
	return nil
}

// matchDomain looks d up, then each parent in turn.
func (x *Index) matchDomain(d string) []intel.Asset {
	for d != "" {
		if ids := x.names[Domain][d]; len(ids) > 0 {
			return x.pick(ids)
		}
		_, parent, ok := strings.Cut(d, ".")
		if !ok || !strings.Contains(parent, ".") {
			return nil // never match on a bare suffix such as "com"
		}
		d = parent
	}
	return nil
}

func (x *Index) pick(ids []int) []intel.Asset {
	if len(ids) == 0 {
		return nil
	}
	out := make([]intel.Asset, len(ids))
	for k, i := range ids {
		out[k] = x.assets[i]
	}
	return out
}
