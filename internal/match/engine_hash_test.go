package match

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash/maphash"
	"sort"
	"testing"
)

// The hash index finds every key it holds and no other, across finishes, map overlays, removals
// and keys made to share their first bytes.
func TestHashIndex(t *testing.T) {
	var h hashIndex[[32]byte]
	l := newLayer(maphash.MakeSeed())
	key := func(i int) [32]byte { return sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i))) }
	for i := range 5000 {
		k := key(i)
		h.set(&k, makeRef(int64(i+1), 0))
	}
	h.finish()
	for i := 5000; i < 5100; i++ { // added after the finish: in the map
		k := key(i)
		h.set(&k, makeRef(int64(i+1), 0))
	}
	check := func(n int) {
		t.Helper()
		for i := range n {
			k := key(i)
			if r, ok := h.get(&k); !ok || r.id() != int64(i+1) {
				t.Fatalf("key %d: %v %v", i, r, ok)
			}
		}
		for i := n; i < n+200; i++ {
			k := key(i + 100000)
			if _, ok := h.get(&k); ok {
				t.Fatalf("absent key %d found", i)
			}
		}
	}
	check(5100)
	h.finish()
	if !h.sortedKeys() || h.len() != 5100 || h.m != nil {
		t.Fatalf("after finish: sorted %v, len %d", h.sortedKeys(), h.len())
	}
	check(5100)
	dead := deadSet{3: {}, 4000: {}}
	c := h.without(l, dead, "sha256")
	for _, id := range []int{2, 3999} { // IDs 3 and 4000 are keys 2 and 3999
		k := key(id)
		if _, ok := c.get(&k); ok {
			t.Errorf("removed key %d still found", id)
		}
	}
	if c.len() != 5098 {
		t.Errorf("without: %d keys", c.len())
	}
	// Keys sharing their first 24 bytes: a lookup still finds them, without scanning.
	var same hashIndex[[32]byte]
	for i := range 3000 {
		var k [32]byte
		binary.BigEndian.PutUint64(k[24:], uint64(i*7))
		same.set(&k, makeRef(int64(i+1), 0))
	}
	same.finish()
	for i := range 3000 {
		var k [32]byte
		binary.BigEndian.PutUint64(k[24:], uint64(i*7))
		if r, ok := same.get(&k); !ok || r.id() != int64(i+1) {
			t.Fatalf("shared-prefix key %d: %v", i, ok)
		}
		binary.BigEndian.PutUint64(k[24:], uint64(i*7+1))
		if _, ok := same.get(&k); ok {
			t.Fatalf("absent shared-prefix key %d found", i)
		}
	}
}

// sortedKeys reports whether the keys are in order (tests).
func (h *hashIndex[K]) sortedKeys() bool {
	return sort.SliceIsSorted(h.keys, func(i, j int) bool { return bytes.Compare(keyBytes(&h.keys[i]), keyBytes(&h.keys[j])) < 0 })
}
