// Package shardmap is a bounded map split in shards under their own locks, for caches read by
// many goroutines at once (matched indicators' details, recent lookup answers).
package shardmap

import "sync"

const shards = 16

// Map holds up to about size entries. When a shard is full, a Put evicts an eighth of it at
// random (map order): cheap, and fair enough for caches whose hot entries come back at once.
type Map[K comparable, V any] struct {
	hash   func(K) uint64
	per    int
	shards [shards]shard[K, V]
}

type shard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

// New returns a map of about size entries (at least one a shard), spread by hash.
func New[K comparable, V any](size int, hash func(K) uint64) *Map[K, V] {
	c := &Map[K, V]{hash: hash, per: max(1, size/shards)}
	for i := range c.shards {
		c.shards[i].m = map[K]V{}
	}
	return c
}

func (c *Map[K, V]) shard(k K) *shard[K, V] { return &c.shards[c.hash(k)%shards] }

// Get returns the value of k.
func (c *Map[K, V]) Get(k K) (V, bool) {
	s := c.shard(k)
	s.mu.Lock()
	v, ok := s.m[k]
	s.mu.Unlock()
	return v, ok
}

// Put stores v under k.
func (c *Map[K, V]) Put(k K, v V) {
	s := c.shard(k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.per {
		n := c.per/8 + 1
		for old := range s.m {
			delete(s.m, old)
			if n--; n == 0 {
				break
			}
		}
	}
	s.m[k] = v
	s.mu.Unlock()
}

// Delete drops k.
func (c *Map[K, V]) Delete(k K) {
	s := c.shard(k)
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

// Clear drops everything.
func (c *Map[K, V]) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}
