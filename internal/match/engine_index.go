package match

import (
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"unsafe"

	"github.com/gaissmai/bart"
	"golang.org/x/net/publicsuffix"

	"github.com/omen-tip/omen/internal/intel"
)

// A ref is what the index stores per key: the indicator's ID and its [Flags], id<<8 | flags.
// Keys, not refs, hold the value; refs hold no pointers, so a big index costs the GC little.
type ref uint64

const maxID = 1<<55 - 1

func makeRef(id int64, f Flags) ref { return ref(uint64(id)<<8 | uint64(f)) }
func (r ref) id() int64             { return int64(r >> 8) }
func (r ref) flags() Flags          { return Flags(r) }
func (r ref) isMulti() bool         { return Flags(r)&flagMulti != 0 }

// multiRef is the ref of a key shared by the indicators in layer.multi[i].
func multiRef(i int) ref { return ref(uint64(i)<<8) | ref(flagMulti) }

// String-keyed tables, one per type.
const (
	strDomain = iota
	strURL
	strEmail
	strAccount
	strASN
	strCVE
	numStr
)

// numTypes is the number of observable types, indexed by typeIndex.
const numTypes = 14

func typeIndex(t intel.Type) int { return bits.TrailingZeros16(uint16(typeBit(t))) }

// layer is one immutable set of indexed indicators: the base of a snapshot, or its small delta.
//
// Layout, chosen for memory (docs/performance-baselines.md, E5): hashes are map keys as
// fixed-size arrays (one cache miss, no pointer); addresses and networks are one bart table
// (full-length prefixes for addresses); every other type is a [strTable], a map from a 64-bit
// hash to the value's place in one byte arena, so a value costs its bytes plus a 24-byte slot.
// A SHA-512 is keyed by its first 32 bytes: telling two SHA-512 digests apart by 256 bits is as
// safe as SHA-256 itself.
type layer struct {
	ip     *bart.Table[ref]
	md5    hashIndex[[16]byte]
	ja3    hashIndex[[16]byte]
	sha1   hashIndex[[20]byte]
	sha256 hashIndex[[32]byte]
	sha512 hashIndex[[32]byte]
	str    [numStr]strTable
	// multi holds the refs of keys that several indicators share; such a key stores
	// multiRef(i) for multi[i]. Only hand-made entries share keys: a store has one indicator per
	// observable.
	multi [][]ref
	count [numTypes]int
	// persist makes addPrefix change ip copy-on-write, for a layer sharing its table with
	// another (see [layer.without]).
	persist bool
}

// strTypes are the types of the string tables, by index.
var strTypes = [numStr]intel.Type{intel.Domain, intel.URL, intel.Email, intel.Account, intel.ASN, intel.CVE}

func newLayer(seed maphash.Seed) *layer {
	l := &layer{ip: new(bart.Table[ref])}
	for i := range l.str {
		l.str[i] = strTable{seed: seed}
	}
	return l
}

var errBadID = errors.New("indicator id out of range")

// add indexes e. A value that is not a valid value of its type is refused with an error.
func (l *layer) add(e Entry) error {
	if e.ID < 0 || e.ID > maxID {
		return errBadID
	}
	r := makeRef(e.ID, e.Flags&publicFlags)
	v := e.Observable.Value
	var err error
	switch t := e.Observable.Type; t {
	case intel.IPv4, intel.IPv6:
		a, perr := netip.ParseAddr(v)
		if perr != nil || a.Zone() != "" {
			return errors.New("invalid IP address")
		}
		a = a.Unmap()
		l.addPrefix(netip.PrefixFrom(a, a.BitLen()), r)
	case intel.CIDR:
		p, perr := netip.ParsePrefix(v)
		if perr != nil {
			return errors.New("invalid network")
		}
		l.addPrefix(canonPrefix(p), r)
	case intel.MD5:
		err = addHash(l, &l.md5, v, r)
	case intel.JA3:
		err = addHash(l, &l.ja3, v, r)
	case intel.SHA1:
		err = addHash(l, &l.sha1, v, r)
	case intel.SHA256:
		err = addHash(l, &l.sha256, v, r)
	case intel.SHA512:
		if len(v) != 128 {
			return errors.New("invalid sha512")
		}
		err = addHash(l, &l.sha512, v[:64], r)
	case intel.Domain:
		if v == "" {
			return errors.New("empty domain")
		}
		if ps, _ := publicsuffix.PublicSuffix(v); ps == v {
			r |= ref(flagPublicSuffix)
		}
		err = l.str[strDomain].put(l, v, r)
	default:
		i := strIndex(t)
		if i < 0 {
			return fmt.Errorf("unknown type %q", t)
		}
		if v == "" {
			return errors.New("empty value")
		}
		err = l.str[i].put(l, v, r)
	}
	if err == nil {
		l.count[typeIndex(e.Observable.Type)]++
	}
	return err
}

func strIndex(t intel.Type) int {
	switch t {
	case intel.Domain:
		return strDomain
	case intel.URL:
		return strURL
	case intel.Email:
		return strEmail
	case intel.Account:
		return strAccount
	case intel.ASN:
		return strASN
	case intel.CVE:
		return strCVE
	}
	return -1
}

func (l *layer) addPrefix(p netip.Prefix, r ref) {
	if old, ok := l.ip.Get(p); ok {
		r = l.share(old, r)
	}
	if l.persist {
		l.ip = l.ip.InsertPersist(p, r)
		return
	}
	l.ip.Insert(p, r)
}

func addHash[K hashKey](l *layer, h *hashIndex[K], v string, r ref) error {
	var k K
	if !decodeHex(keyBytes(&k), v) {
		return errors.New("invalid hash")
	}
	if old, ok := h.get(&k); ok {
		r = l.share(old, r)
	}
	h.set(&k, r)
	return nil
}

// share returns the ref to store under a key already holding old when r is added: r itself
// when old is the same indicator (its flags updated), else a multi ref listing both.
func (l *layer) share(old, r ref) ref {
	if !old.isMulti() {
		if old.id() == r.id() {
			return r
		}
		l.multi = append(l.multi, []ref{old, r})
		return multiRef(len(l.multi) - 1)
	}
	list := l.multi[old.id()]
	i := slices.IndexFunc(list, func(o ref) bool { return o.id() == r.id() })
	list = slices.Clone(list) // never write an array another layer may share
	if i >= 0 {
		list[i] = r
	} else {
		list = append(list, r)
	}
	l.multi[old.id()] = list
	return old
}

// finish trims the layer's arenas to their length once it is built.
func (l *layer) finish() {
	for i := range l.str {
		l.str[i].finish()
	}
	l.md5.finish()
	l.ja3.finish()
	l.sha1.finish()
	l.sha256.finish()
	l.sha512.finish()
}

// strTable is an exact set of strings of one type. idx maps the value's hash to its entry; the
// value's bytes are in arena, compared on every hit, so a hash collision never makes a false
// match: the second of two values with the same hash goes to coll, a plain map that stays empty
// in practice. The hash is seeded per snapshot lineage (maphash), so collisions cannot be forced.
type strTable struct {
	seed  maphash.Seed
	idx   map[uint64]strEnt
	arena []byte
	coll  map[string]ref
}

type strEnt struct {
	ref ref
	off uint32
	n   uint32
}

var errArenaFull = errors.New("too many bytes of values of one type (4 GiB)")

func (t *strTable) get(v string) (ref, bool) {
	if len(t.idx) == 0 {
		return 0, false
	}
	if e, ok := t.idx[maphash.String(t.seed, v)]; ok && int(e.n) == len(v) &&
		string(t.arena[e.off:e.off+e.n]) == v {
		return e.ref, true
	}
	if t.coll != nil {
		r, ok := t.coll[v]
		return r, ok
	}
	return 0, false
}

func (t *strTable) put(l *layer, v string, r ref) error {
	if t.idx == nil {
		t.idx = map[uint64]strEnt{}
	}
	h := maphash.String(t.seed, v)
	e, ok := t.idx[h]
	switch {
	case ok && string(t.arena[e.off:e.off+e.n]) == v:
		e.ref = l.share(e.ref, r)
		t.idx[h] = e
	case ok:
		if t.coll == nil {
			t.coll = map[string]ref{}
		}
		if old, ok := t.coll[v]; ok {
			r = l.share(old, r)
		}
		t.coll[v] = r
	default:
		if len(t.arena)+len(v) > math.MaxUint32 {
			return errArenaFull
		}
		t.idx[h] = strEnt{ref: r, off: uint32(len(t.arena)), n: uint32(len(v))}
		t.arena = append(t.arena, v...)
	}
	return nil
}

func (t *strTable) finish() {
	if cap(t.arena) > len(t.arena) {
		t.arena = append([]byte(nil), t.arena...)
	}
}

// clone returns a copy of t that put may change without touching t.
func (t *strTable) clone() strTable {
	c := strTable{seed: t.seed, idx: maps.Clone(t.idx), coll: maps.Clone(t.coll)}
	c.arena = append(make([]byte, 0, len(t.arena)+len(t.arena)/8), t.arena...)
	return c
}

// keyBytes returns the bytes of a hash key, to fill it in place.
func keyBytes[K [16]byte | [20]byte | [32]byte](k *K) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(k)), unsafe.Sizeof(*k))
}

// decodeHex decodes exactly 2*len(dst) hex digits, either case, from s.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, lo := unhex[s[2*i]], unhex[s[2*i+1]]
		if hi|lo == 0xff {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// hasDot reports whether s contains a dot.
func hasDot(s string) bool { return strings.IndexByte(s, '.') >= 0 }
