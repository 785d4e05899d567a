package lookup

import (
	"hash/maphash"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/shardmap"
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

// answerCache holds recent answers by query and clearance.
type answerCache struct {
	m *shardmap.Map[answerKey, *cachedAnswer]
}

func newAnswerCache(size int) *answerCache {
	seed := maphash.MakeSeed()
	return &answerCache{m: shardmap.New[answerKey, *cachedAnswer](size, func(k answerKey) uint64 { return maphash.String(seed, k.query) })}
}

// get returns the answer to k if it was computed under the same state within answerTTL of now.
func (c *answerCache) get(k answerKey, version, epoch int64, grades *gradeCache, now time.Time) (Result, bool) {
	a, _ := c.m.Get(k)
	if a == nil || a.version != version || a.epoch != epoch || a.grades != grades {
		return Result{}, false
	}
	if age := now.Sub(a.at); age < 0 || age >= answerTTL {
		return Result{}, false
	}
	return a.r, true
}

func (c *answerCache) put(k answerKey, a *cachedAnswer) { c.m.Put(k, a) }
