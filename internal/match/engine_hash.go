package match

import (
	"bytes"
	"encoding/binary"
	"maps"
	mbits "math/bits"
	"slices"

	"github.com/omen-tip/omen/internal/intel"
)

// hashKey is the binary form of a digest.
type hashKey interface{ [16]byte | [20]byte | [32]byte }

// hashIndex maps digests to refs. A finished layer keeps them in two parallel sorted arrays:
// a SHA-256 costs its 32 bytes, an 8-byte ref and a few bytes of bucket directory, where a Go map
// spends 84 to 103 bytes an entry on slack and control bytes. Digests are uniform, so a directory
// on their first bits leaves one or two keys to compare. Keys added after the layer was finished
// (a fold adds to a copy before finishing it again) wait in a map until then.
type hashIndex[K hashKey] struct {
	keys []K
	refs []ref
	m    map[K]ref
	// dir[b] is the first key whose top dirBits bits are b or more (len 1<<dirBits + 1): a
	// lookup reads its bucket's bounds and the one or two keys in it.
	dir     []uint32
	dirBits uint
}

func (h *hashIndex[K]) len() int { return len(h.keys) + len(h.m) }

// find returns the position of k in the sorted keys.
func (h *hashIndex[K]) find(k *K) (int, bool) {
	if len(h.keys) == 0 {
		return 0, false
	}
	kb := keyBytes(k)
	lo, hi := 0, len(h.keys)
	if h.dir != nil {
		b := binary.BigEndian.Uint64(kb[:8]) >> (64 - h.dirBits)
		lo, hi = int(h.dir[b]), int(h.dir[b+1])
	}
	// Bisect a crowded bucket (keys made to share their first bytes), scan a small one.
	for hi-lo > 8 {
		mid := lo + (hi-lo)/2
		switch c := bytes.Compare(keyBytes(&h.keys[mid]), kb); {
		case c == 0:
			return mid, true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	for j := lo; j < hi; j++ {
		if h.keys[j] == *k {
			return j, true
		}
	}
	return lo, false
}

// buildDir makes the bucket directory of the sorted keys: about two keys a bucket.
func (h *hashIndex[K]) buildDir() {
	n := len(h.keys)
	if n < 64 {
		h.dir, h.dirBits = nil, 0
		return
	}
	bits := uint(mbits.Len64(uint64(n)) - 2) // buckets: the power of two at or below n/2
	if bits > 32 {
		bits = 32
	}
	dir := make([]uint32, 1<<bits+1)
	j := 0
	for b := range 1 << bits {
		for j < n && prefix64(&h.keys[j])>>(64-bits) < uint64(b) {
			j++
		}
		dir[b] = uint32(j)
	}
	dir[1<<bits] = uint32(n)
	h.dir, h.dirBits = dir, bits
}

func prefix64[K hashKey](k *K) uint64 { return binary.BigEndian.Uint64(keyBytes(k)[:8]) }

func (h *hashIndex[K]) get(k *K) (ref, bool) {
	if r, ok := h.m[*k]; ok {
		return r, true
	}
	if i, ok := h.find(k); ok {
		return h.refs[i], true
	}
	return 0, false
}

// set stores r under k: in place when k is in the arrays (the layer is a private copy while it
// is being added to), else in the map.
func (h *hashIndex[K]) set(k *K, r ref) {
	if i, ok := h.find(k); ok {
		h.refs[i] = r
		return
	}
	if h.m == nil {
		h.m = map[K]ref{}
	}
	h.m[*k] = r
}

// finish moves the map's keys into the sorted arrays.
func (h *hashIndex[K]) finish() {
	if len(h.m) == 0 {
		h.m = nil
		return
	}
	type kv struct {
		k K
		r ref
	}
	add := make([]kv, 0, len(h.m))
	for k, r := range h.m {
		add = append(add, kv{k, r})
	}
	slices.SortFunc(add, func(a, b kv) int { return bytes.Compare(keyBytes(&a.k), keyBytes(&b.k)) })
	keys := make([]K, 0, len(h.keys)+len(add))
	refs := make([]ref, 0, len(h.keys)+len(add))
	i := 0
	for _, e := range add {
		for i < len(h.keys) && bytes.Compare(keyBytes(&h.keys[i]), keyBytes(&e.k)) < 0 {
			keys, refs = append(keys, h.keys[i]), append(refs, h.refs[i])
			i++
		}
		keys, refs = append(keys, e.k), append(refs, e.r)
	}
	keys, refs = append(keys, h.keys[i:]...), append(refs, h.refs[i:]...)
	h.keys, h.refs, h.m = keys, refs, nil
	h.buildDir()
}

// without returns a copy without the IDs in dead (counted out of l).
func (h *hashIndex[K]) without(l *layer, dead deadSet, t intel.Type) hashIndex[K] {
	c := hashIndex[K]{keys: slices.Clone(h.keys), refs: slices.Clone(h.refs), m: maps.Clone(h.m), dir: h.dir, dirBits: h.dirBits}
	if len(dead) == 0 {
		return c
	}
	n := 0
	for i, r := range c.refs {
		l.countDead(r, dead, t)
		if nr, ok := l.prune(r, dead); ok {
			c.keys[n], c.refs[n] = c.keys[i], nr
			n++
		}
	}
	c.keys, c.refs = c.keys[:n], c.refs[:n]
	c.buildDir()
	for k, r := range c.m {
		l.countDead(r, dead, t)
		if nr, ok := l.prune(r, dead); ok {
			c.m[k] = nr
		} else {
			delete(c.m, k)
		}
	}
	return c
}
