package match

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unsafe"

	"github.com/gaissmai/bart"

	"github.com/omen-tip/omen/internal/intel"
)

// Hit is one warninglist a value is on.
type Hit struct {
	List  string // the warninglist's name
	Entry string // the entry that matched, as written in the list
}

// WarninglistSet matches observables against many warninglists at once. Build it once with
// [NewWarninglistSet]; it is immutable afterwards and safe for any number of concurrent readers.
//
// Matching, by list type (a list only ever sees the observable types it applies to, see
// [WarninglistSet.Match]):
//
//   - cidr: an ipv4/ipv6 value matches if a listed network contains it; a cidr value matches if
//     it lies inside a listed network (equal or smaller). One longest-prefix lookup in a
//     [bart.Table] answers for every list: each stored prefix chains to the entries of every
//     listed network around it.
//   - string: exact and ASCII case-insensitive, one map lookup for all lists. IP and CIDR
//     entries are compared in canonical form. A URL is compared whole and by its host.
//   - hostname: the entry and all its subdomains. The value's labels are walked from the full
//     name up to the top-level domain, one map lookup per label, on sub-slices (no allocation).
//     A URL is matched by its host, an email address by its domain.
//   - substring: the value contains the entry, ASCII case-insensitive. This is a loop over the
//     entries of every applicable substring list: O(entries × value length) per lookup, fine for
//     MISP's substring lists (tens of entries); do not load large lists as substring lists.
//   - regex: the translated RE2 expressions, tried in turn on the value as it is; last and
//     slowest.
type WarninglistSet struct {
	lists   []*Warninglist
	mask    []typeMask // per list: the observable types it applies to
	entries int

	// The tables map a key to a ref: one entry (list<<32 | index) or, with refChain set, the
	// index of a node. Nodes chain the entries that match together: the same key on several
	// lists, or a network and the listed networks around it. Most keys are on one list with
	// nothing around them and need no node.
	nodes []wlNode

	cidr  bart.Table[uint64] // network → ref
	exact map[string]uint64  // lower-cased entry → ref
	hosts map[string]uint64  // lower-cased hostname → ref
	subs  []substringList
	res   []regexList

	// Unions of the masks of the lists behind each structure, to skip them quickly.
	anyMask, cidrMask, exactMask, hostMask, subMask, reMask typeMask
}

type wlNode struct {
	list, idx uint32
	next      int32 // -1 ends the chain
}

const (
	// refChain marks a ref that is a node index rather than an entry.
	refChain = 1 << 63
	// refVerbatim marks an entry that is its own lookup key, byte for byte: a hit can name it
	// from the value looked up.
	refVerbatim = 1 << 62
	// maxLists bounds the list number in a ref.
	maxLists = 1 << 30
)

func entryRef(list, idx uint32) uint64 { return uint64(list)<<32 | uint64(idx) }

func refList(r uint64) uint32 { return uint32(r>>32) & (maxLists - 1) }

type substringList struct {
	list    uint32
	entries []string // lower-cased
	idx     []uint32 // entries[i] is the list's Entries[idx[i]]
}

type regexList struct {
	list uint32
	res  []*regexp.Regexp
	idx  []uint32
}

// typeMask is a set of observable types, one bit per [intel.Type].
type typeMask uint16

const (
	bitIPv4 typeMask = 1 << iota
	bitIPv6
	bitCIDR
	bitDomain
	bitURL
	bitEmail
	bitMD5
	bitSHA1
	bitSHA256
	bitSHA512
	bitJA3
	bitASN
	bitCVE
	bitAccount

	bitsIP  = bitIPv4 | bitIPv6 | bitCIDR
	bitsAll = bitAccount<<1 - 1
)

func typeBit(t intel.Type) typeMask {
	switch t {
	case intel.IPv4:
		return bitIPv4
	case intel.IPv6:
		return bitIPv6
	case intel.CIDR:
		return bitCIDR
	case intel.Domain:
		return bitDomain
	case intel.URL:
		return bitURL
	case intel.Email:
		return bitEmail
	case intel.MD5:
		return bitMD5
	case intel.SHA1:
		return bitSHA1
	case intel.SHA256:
		return bitSHA256
	case intel.SHA512:
		return bitSHA512
	case intel.JA3:
		return bitJA3
	case intel.ASN:
		return bitASN
	case intel.CVE:
		return bitCVE
	case intel.Account:
		return bitAccount
	}
	return 0
}

// mispAttributes maps MISP attribute types (lower-cased) to the omen observable types they hold.
// Composite types (domain|ip, filename|md5) stand for their parts. Types omen has no observable
// for (sha224, ssdeep, filename, ...) map to nothing.
var mispAttributes = map[string]typeMask{
	"all":                    bitsAll, // MISP's own marker for "no matching_attributes"
	"ip-src":                 bitsIP,
	"ip-dst":                 bitsIP,
	"ip-src|port":            bitsIP,
	"ip-dst|port":            bitsIP,
	"domain|ip":              bitsIP | bitDomain,
	"domain":                 bitDomain,
	"hostname":               bitDomain,
	"hostname|port":          bitDomain,
	"url":                    bitURL,
	"uri":                    bitURL,
	"link":                   bitURL,
	"email":                  bitEmail,
	"email-src":              bitEmail,
	"email-dst":              bitEmail,
	"target-email":           bitEmail,
	"email-reply-to":         bitEmail,
	"whois-registrant-email": bitEmail,
	"dns-soa-email":          bitEmail,
	"md5":                    bitMD5,
	"filename|md5":           bitMD5,
	"malware-sample":         bitMD5,
	"sha1":                   bitSHA1,
	"filename|sha1":          bitSHA1,
	"sha256":                 bitSHA256,
	"filename|sha256":        bitSHA256,
	"sha512":                 bitSHA512,
	"filename|sha512":        bitSHA512,
	"ja3-fingerprint-md5":    bitJA3,
	"as":                     bitASN,
	"vulnerability":          bitCVE,
	"target-user":            bitAccount,
	"github-username":        bitAccount,
}

// listMask returns the observable types l applies to: those named by its matching attributes
// (all when it names none, as in MISP), narrowed to what its type can match at all (a cidr list
// only IPs and networks, a hostname list only domains, URLs and email addresses).
func listMask(l *Warninglist) typeMask {
	m := bitsAll
	if len(l.MatchingAttributes) > 0 {
		m = 0
		for _, a := range l.MatchingAttributes {
			m |= mispAttributes[strings.ToLower(strings.TrimSpace(a))]
		}
	}
	switch l.Type {
	case typeCIDR:
		m &= bitsIP
	case typeHostname:
		m &= bitDomain | bitURL | bitEmail
	}
	return m
}

// NewWarninglistSet indexes lists for matching. It keeps the lists (see [WarninglistSet.Lists]):
// they must not be modified afterwards. It fails on a nil list, a duplicate name, an unknown
// type, or an entry [ParseWarninglist] would have rejected; lists from the parser always build.
func NewWarninglistSet(lists ...*Warninglist) (*WarninglistSet, error) {
	if len(lists) >= maxLists {
		return nil, errors.New("too many warninglists")
	}
	s := &WarninglistSet{
		lists: slices.Clone(lists),
		mask:  make([]typeMask, len(lists)),
	}
	total := 0
	for _, l := range lists {
		if l != nil {
			total += len(l.Entries)
		}
	}
	if total >= math.MaxInt32 {
		return nil, errors.New("too many warninglist entries")
	}

	type cidrEntry struct {
		p         netip.Prefix
		list, idx uint32
	}
	var cidrs []cidrEntry
	names := make(map[string]bool, len(lists))
	for li, l := range lists {
		if l == nil {
			return nil, fmt.Errorf("warninglist %d is nil", li)
		}
		if names[l.Name] {
			return nil, fmt.Errorf("warninglist %q: duplicate name", l.Name)
		}
		names[l.Name] = true
		s.entries += len(l.Entries)
		m := listMask(l)
		s.mask[li] = m
		s.anyMask |= m
		bad := func(e string, err error) (*WarninglistSet, error) {
			return nil, fmt.Errorf("warninglist %q: entry %q: %w", l.Name, e, err)
		}
		list := uint32(li)
		switch l.Type {
		case typeCIDR:
			s.cidrMask |= m
			for i, e := range l.Entries {
				p, err := parseCIDREntry(e)
				if err != nil {
					return bad(e, err)
				}
				cidrs = append(cidrs, cidrEntry{p, list, uint32(i)})
			}
		case typeString:
			s.exactMask |= m
			if s.exact == nil {
				s.exact = make(map[string]uint64, len(l.Entries))
			}
			for i, e := range l.Entries {
				k := stringKey(e)
				if k == "" {
					return bad(e, errEmptyEntry)
				}
				s.addKey(s.exact, k, k == e, list, uint32(i))
			}
		case typeHostname:
			s.hostMask |= m
			if s.hosts == nil {
				s.hosts = make(map[string]uint64, len(l.Entries))
			}
			for i, e := range l.Entries {
				k, err := hostnameKey(e)
				if err != nil {
					return bad(e, err)
				}
				s.addKey(s.hosts, k, k == e, list, uint32(i))
			}
		case typeSubstring:
			s.subMask |= m
			sl := substringList{list: list}
			for i, e := range l.Entries {
				k := asciiLower(strings.TrimSpace(e))
				if k == "" {
					return bad(e, errEmptyEntry)
				}
				sl.entries = append(sl.entries, k)
				sl.idx = append(sl.idx, uint32(i))
			}
			s.subs = append(s.subs, sl)
		case typeRegex:
			s.reMask |= m
			rl := regexList{list: list}
			for i, e := range l.Entries {
				re, err := compilePCRE(e)
				if err != nil {
					return bad(e, err)
				}
				rl.res = append(rl.res, re)
				rl.idx = append(rl.idx, uint32(i))
			}
			s.res = append(s.res, rl)
		default:
			return nil, fmt.Errorf("warninglist %q: unknown type %q", l.Name, l.Type)
		}
	}

	// Insert the networks sorted, supernets before their subnets, so that one pass with a stack
	// of enclosing networks chains every entry to the entries of the networks around it.
	slices.SortFunc(cidrs, func(a, b cidrEntry) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		if c := a.p.Bits() - b.p.Bits(); c != 0 {
			return c
		}
		if a.list != b.list {
			return int(a.list) - int(b.list)
		}
		return int(a.idx) - int(b.idx)
	})
	type enclosing struct {
		p   netip.Prefix
		ref uint64
	}
	var stack []enclosing
	for i := 0; i < len(cidrs); {
		p := cidrs[i].p
		for len(stack) > 0 {
			top := stack[len(stack)-1].p
			if top.Bits() <= p.Bits() && top.Contains(p.Addr()) {
				break
			}
			stack = stack[:len(stack)-1]
		}
		parent := int32(-1)
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.ref&refChain == 0 { // give the enclosing entry a node to chain to
				top.ref = refChain | uint64(s.newNode(refList(top.ref), uint32(top.ref), -1))
			}
			parent = int32(uint32(top.ref))
		}
		j := i + 1
		for j < len(cidrs) && cidrs[j].p == p {
			j++
		}
		group := cidrs[i:j]
		i = j
		var ref uint64
		if parent < 0 && (len(group) == 1 || group[0].list == group[len(group)-1].list) {
			ref = entryRef(group[0].list, group[0].idx) // one list, nothing around it
		} else {
			head := parent
			for k, c := range group {
				if k > 0 && group[k-1].list == c.list {
					continue // the same network twice on one list
				}
				head = s.newNode(c.list, c.idx, head)
			}
			ref = refChain | uint64(head)
		}
		s.cidr.Insert(p, ref)
		stack = append(stack, enclosing{p, ref})
	}
	return s, nil
}

var errEmptyEntry = errors.New("empty entry")

func (s *WarninglistSet) newNode(list, idx uint32, next int32) int32 {
	s.nodes = append(s.nodes, wlNode{list: list, idx: idx, next: next})
	return int32(len(s.nodes) - 1)
}

// addKey adds entry idx of list under key, chaining it to the entries of other lists already
// there. Entries of one list are added together, so a repeat of the key on the same list is the
// head of the chain; the first occurrence is kept.
func (s *WarninglistSet) addKey(m map[string]uint64, key string, verbatim bool, list, idx uint32) {
	old, ok := m[key]
	if !ok {
		r := entryRef(list, idx)
		if verbatim {
			r |= refVerbatim
		}
		m[key] = r
		return
	}
	if old&refChain == 0 {
		if refList(old) == list {
			return
		}
		old = refChain | uint64(s.newNode(refList(old), uint32(old), -1))
	} else if s.nodes[uint32(old)].list == list {
		return
	}
	m[key] = refChain | uint64(s.newNode(list, idx, int32(uint32(old))))
}

// Lists returns the lists of the set, in the order given to [NewWarninglistSet]. They are shared
// with the set and must not be modified.
func (s *WarninglistSet) Lists() []*Warninglist { return slices.Clone(s.lists) }

// Len returns the number of entries over all lists.
func (s *WarninglistSet) Len() int { return s.entries }

// hitRef is a hit before it is turned into a [Hit]: entry idx of list list. When n > 0 the
// entry is also the n bytes of the value at off, and the hit names it from there rather than
// reading the list's Entries (a cache miss on a large list).
type hitRef struct {
	list, idx uint32
	off, n    int32
}

// Match returns the warninglists o is on, one [Hit] per list in list order, or nil. A miss does
// not allocate (but for a value longer than 512 bytes with upper-case letters).
//
// A list sees only the observable types its matching_attributes allow (MISP attribute types
// mapped to omen's: ip-src/ip-dst → ipv4, ipv6, cidr; domain/hostname → domain; url/uri → url;
// email-src/email-dst/target-email → email; md5, sha1, sha256, sha512 → the same hashes; no
// attributes → every type), and only those its type can match (cidr lists: IPs and networks;
// hostname lists: domains, URLs, emails). A URL is checked by a string list whole and by its
// host, by a hostname list by its host; an email address by a hostname list by its domain, by
// the other types whole. When several entries of one list match, the hit names the most
// specific one (the longest network or hostname; for a URL, the whole URL before its host).
//
// The value is expected in omen's canonical form (see [intel.Observable]); a value that does not
// parse as its type simply matches nothing of that kind.
func (s *WarninglistSet) Match(o intel.Observable) []Hit {
	bit := typeBit(o.Type)
	if s == nil || s.anyMask&bit == 0 || o.Value == "" {
		return nil
	}
	var buf [8]hitRef
	refs := buf[:0]
	v := o.Value

	if s.cidrMask&bit != 0 {
		refs = s.matchCIDR(refs, o.Type, v, bit)
	}
	if (s.exactMask|s.hostMask|s.subMask)&bit != 0 {
		var lb [512]byte
		lv, copied := lowerASCII(&lb, v)
		refs = s.matchText(refs, o.Type, lv, !copied && len(v) < math.MaxInt32, bit)
	}
	if s.reMask&bit != 0 {
		for i := range s.res {
			rl := &s.res[i]
			if s.mask[rl.list]&bit == 0 {
				continue
			}
			for j, re := range rl.res {
				if re.MatchString(v) {
					refs = addRef(refs, hitRef{list: rl.list, idx: rl.idx[j]})
					break
				}
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return s.hits(refs, v)
}

func (s *WarninglistSet) matchCIDR(refs []hitRef, t intel.Type, v string, bit typeMask) []hitRef {
	var r uint64
	var ok bool
	if t == intel.CIDR {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return refs
		}
		r, ok = s.cidr.LookupPrefix(canonPrefix(p))
	} else {
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return refs
		}
		r, ok = s.cidr.Lookup(a.Unmap())
	}
	if ok {
		refs = s.add(refs, r, bit, 0, "", false)
	}
	return refs
}

// matchText runs the string, hostname and substring lists on lv, the value lower-cased. own
// says lv is the value itself, so that hits can name verbatim entries by their place in it.
func (s *WarninglistSet) matchText(refs []hitRef, t intel.Type, lv string, own bool, bit typeMask) []hitRef {
	if s.exactMask&bit != 0 {
		if r, ok := s.exact[lv]; ok {
			refs = s.add(refs, r, bit, 0, lv, own)
		}
		if t == intel.URL {
			if i, j := urlHost(lv); j > i {
				if r, ok := s.exact[lv[i:j]]; ok {
					refs = s.add(refs, r, bit, i, lv[i:j], own)
				}
			}
		}
	}
	if s.hostMask&bit != 0 {
		// The host name in lv[i:j], then each parent domain.
		i, j := 0, 0
		switch t {
		case intel.Domain:
			j = len(lv)
		case intel.URL:
			i, j = urlHost(lv)
		case intel.Email:
			if k := strings.LastIndexByte(lv, '@'); k >= 0 {
				i, j = k+1, len(lv)
			}
		}
		for j > i && lv[j-1] == '.' {
			j--
		}
		for i < j {
			if r, ok := s.hosts[lv[i:j]]; ok {
				refs = s.add(refs, r, bit, i, lv[i:j], own)
			}
			k := strings.IndexByte(lv[i:j], '.')
			if k < 0 {
				break
			}
			i += k + 1
		}
	}
	if s.subMask&bit != 0 {
		for i := range s.subs {
			sl := &s.subs[i]
			if s.mask[sl.list]&bit == 0 {
				continue
			}
			for j, e := range sl.entries {
				if strings.Contains(lv, e) {
					refs = addRef(refs, hitRef{list: sl.list, idx: sl.idx[j]})
					break
				}
			}
		}
	}
	return refs
}

// add adds the entries of ref whose lists apply to the observable type bit. key is the text
// looked up, at off in the value when own is set.
func (s *WarninglistSet) add(refs []hitRef, ref uint64, bit typeMask, off int, key string, own bool) []hitRef {
	if ref&refChain == 0 {
		h := hitRef{list: refList(ref), idx: uint32(ref)}
		if s.mask[h.list]&bit == 0 {
			return refs
		}
		if own && ref&refVerbatim != 0 {
			h.off, h.n = int32(off), int32(len(key))
		}
		return addRef(refs, h)
	}
	for n := int32(uint32(ref)); n >= 0; {
		nd := &s.nodes[n]
		if s.mask[nd.list]&bit != 0 {
			refs = addRef(refs, hitRef{list: nd.list, idx: nd.idx})
		}
		n = nd.next
	}
	return refs
}

// addRef adds a hit unless its list already has one: the first found is the most specific.
func addRef(refs []hitRef, h hitRef) []hitRef {
	for _, r := range refs {
		if r.list == h.list {
			return refs
		}
	}
	return append(refs, h)
}

// hits turns refs into Hits in list order; v is the value matched.
func (s *WarninglistSet) hits(refs []hitRef, v string) []Hit {
	for i := 1; i < len(refs); i++ {
		for j := i; j > 0 && refs[j].list < refs[j-1].list; j-- {
			refs[j], refs[j-1] = refs[j-1], refs[j]
		}
	}
	out := make([]Hit, len(refs))
	for i, r := range refs {
		l := s.lists[r.list]
		out[i].List = l.Name
		if r.n > 0 {
			out[i].Entry = v[r.off : r.off+r.n]
		} else {
			out[i].Entry = l.Entries[r.idx]
		}
	}
	return out
}

// checkEntry reports whether entry is usable in a list of type typ.
func checkEntry(typ, entry string) error {
	var err error
	switch typ {
	case typeCIDR:
		_, err = parseCIDREntry(entry)
	case typeHostname:
		_, err = hostnameKey(entry)
	case typeRegex:
		_, err = compilePCRE(entry)
	case typeString, typeSubstring:
		if strings.TrimSpace(entry) == "" {
			err = errEmptyEntry
		}
	}
	return err
}

// parseCIDREntry parses an IP address or network, v4 or v6, as MISP's CidrTool accepts them.
// Host bits are cleared; IPv4-mapped IPv6 is turned into IPv4, as omen's observables are.
func parseCIDREntry(e string) (netip.Prefix, error) {
	e = strings.TrimSpace(e)
	var p netip.Prefix
	if strings.IndexByte(e, '/') >= 0 {
		var err error
		if p, err = netip.ParsePrefix(e); err != nil {
			return p, fmt.Errorf("invalid CIDR: %w", err)
		}
	} else {
		a, err := netip.ParseAddr(e)
		if err != nil {
			return p, fmt.Errorf("invalid IP address: %w", err)
		}
		if a.Zone() != "" {
			return p, errors.New("invalid IP address: IPv6 zone not allowed")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p = canonPrefix(p)
	if p.Bits() == 0 {
		return p, errors.New("network covers every address")
	}
	return p, nil
}

func canonPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// stringKey is the lookup key of a string entry: lower-case, and canonical if it is an IP address
// or network so that it compares equal to omen's canonical observables.
func stringKey(e string) string {
	e = strings.TrimSpace(e)
	if a, err := netip.ParseAddr(e); err == nil && a.Zone() == "" {
		return a.Unmap().String()
	}
	if strings.IndexByte(e, '/') >= 0 {
		if p, err := netip.ParsePrefix(e); err == nil {
			return canonPrefix(p).String()
		}
	}
	return asciiLower(e)
}

// hostnameKey is the lookup key of a hostname entry: lower-case, without the leading and
// trailing dots MISP trims (".ddns.net") nor a leading "*." wildcard.
func hostnameKey(e string) (string, error) {
	e = strings.TrimSpace(e)
	e = strings.TrimPrefix(e, "*.")
	e = strings.Trim(e, ".")
	if e == "" {
		return "", errors.New("empty hostname")
	}
	return asciiLower(e), nil
}

// asciiLower lower-cases ASCII letters only, as [appendLower] does for values: omen's values are
// ASCII (IDN domains are in A-label form), and both sides must fold the same way.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return string(appendLower(make([]byte, 0, len(s)), s))
		}
	}
	return s
}

// lowerASCII returns v with ASCII letters lower-cased, and whether that needed a copy. The copy
// is made in buf when it fits, so that matching does not allocate: the string shares buf's
// memory and must not outlive it (Match only uses it for lookups).
func lowerASCII(buf *[512]byte, v string) (string, bool) {
	i := 0
	for i < len(v) && (v[i] < 'A' || v[i] > 'Z') {
		i++
	}
	if i == len(v) {
		return v, false
	}
	if len(v) > len(buf) {
		return string(appendLower(nil, v)), true
	}
	b := appendLower(buf[:0], v)
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// urlHost returns where the host of a URL is, u[i:j]: between "://" and the path, without user
// information, port, brackets around an IPv6 address, or trailing dot. A value without "://" is
// read as host[/path], as MISP does.
func urlHost(u string) (i, j int) {
	if k := strings.Index(u, "://"); k >= 0 {
		i = k + 3
	}
	j = len(u)
	if k := strings.IndexAny(u[i:], "/?#"); k >= 0 {
		j = i + k
	}
	if k := strings.LastIndexByte(u[i:j], '@'); k >= 0 {
		i += k + 1
	}
	if i < j && u[i] == '[' {
		if k := strings.IndexByte(u[i:j], ']'); k >= 0 {
			return i + 1, i + k
		}
		return 0, 0
	}
	if k := strings.IndexByte(u[i:j], ':'); k >= 0 {
		j = i + k
	}
	for j > i && u[j-1] == '.' {
		j--
	}
	return i, j
}

// Classifier returns a function naming the warninglists an observable is on, for
// store.IngestOptions.Classify; nil for a nil set.
func (s *WarninglistSet) Classifier() func(intel.Observable) []string {
	if s == nil {
		return nil
	}
	return func(ob intel.Observable) []string {
		hits := s.Match(ob)
		if len(hits) == 0 {
			return nil
		}
		names := make([]string, 0, len(hits))
		for _, h := range hits {
			names = append(names, h.List)
		}
		return names
	}
}
