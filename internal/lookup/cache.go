package lookup

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/intel"
)

// Answers repeat: a SIEM asks about the same addresses and domains alert after alert. A Service
// over a knowledge base keeps recent answers and gives one again while nothing it was computed from
// has changed: the knowledge base (its version and its details epoch), the sources' grades, and
// at most answerTTL of the clock (decay and "N days ago" move that little).
const (
	answerTTL       = 10 * time.Second
	answerCacheSize = 8192
)

type answerKey struct {
	query     string
	clearance intel.TLP
}

type cachedAnswer struct {
	r       Result
	version int64
	epoch   int64
	grades  *gradeCache
	at      time.Time
}

// answerCache is a bounded map of answers, sharded to keep lock hold times short.
type answerCache struct {
	seed   maphash.Seed
	shards [16]answerShard
	per    int
}

type answerShard struct {
	mu sync.Mutex
	m  map[answerKey]*cachedAnswer
}

func newAnswerCache(size int) *answerCache {
	c := &answerCache{seed: maphash.MakeSeed(), per: max(1, size/16)}
	for i := range c.shards {
		c.shards[i].m = map[answerKey]*cachedAnswer{}
	}
	return c
}

func (c *answerCache) shard(k answerKey) *answerShard {
	return &c.shards[maphash.String(c.seed, k.query)%uint64(len(c.shards))]
}

// get returns the answer to k if it was computed under the same state within answerTTL of now.
func (c *answerCache) get(k answerKey, version, epoch int64, grades *gradeCache, now time.Time) (Result, bool) {
	s := c.shard(k)
	s.mu.Lock()
	a := s.m[k]
	s.mu.Unlock()
	if a == nil || a.version != version || a.epoch != epoch || a.grades != grades {
		return Result{}, false
	}
	if age := now.Sub(a.at); age < 0 || age >= answerTTL {
		return Result{}, false
	}
	return a.r, true
}

func (c *answerCache) put(k answerKey, a *cachedAnswer) {
	s := c.shard(k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.per {
		// Evict an eighth, at random (map order), as the details cache does.
		n := c.per/8 + 1
		for old := range s.m {
			delete(s.m, old)
			if n--; n == 0 {
				break
			}
		}
	}
	s.m[k] = a
	s.mu.Unlock()
}
