package match_test

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
)

const benchEntries = 1_000_000

// benchCase is one synthetic 1M-entry warninglist with its queries (half hits, half misses) and
// a baseline: a plain map[string]struct{} of the entries, looked up with the same query strings.
type benchCase struct {
	set      *match.WarninglistSet
	queries  []intel.Observable
	baseline map[string]struct{}
	walk     bool // look up the parent domains too, as a hostname list does

	buildTime       time.Duration
	indexPerEntry   float64 // heap of the set, per entry
	overallPerEntry float64 // heap of the set and its entry strings, per entry
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// newBenchCase generates the list (deterministically), builds the set while measuring its heap,
// then generates the queries.
func newBenchCase(b *testing.B, kind string) *benchCase {
	b.Helper()
	rng := rand.New(rand.NewPCG(20260901, 1))
	before := heapAlloc()
	l := &match.Warninglist{Name: "bench " + kind, Type: kind, Entries: make([]string, benchEntries)}
	switch kind {
	case "cidr":
		l.MatchingAttributes = []string{"ip-src", "ip-dst"}
		for i := range l.Entries {
			l.Entries[i] = randPrefix(rng).String()
		}
	case "hostname", "string":
		l.MatchingAttributes = []string{"domain", "hostname", "url"}
		for i := range l.Entries {
			l.Entries[i] = randDomain(rng)
		}
	}
	withValues := heapAlloc()
	start := time.Now()
	set, err := match.NewWarninglistSet(l)
	if err != nil {
		b.Fatal(err)
	}
	c := &benchCase{set: set, buildTime: time.Since(start), walk: kind == "hostname"}
	built := heapAlloc()
	c.indexPerEntry = float64(built-withValues) / benchEntries
	c.overallPerEntry = float64(built-before) / benchEntries

	c.baseline = make(map[string]struct{}, benchEntries)
	for _, e := range l.Entries {
		if kind == "cidr" {
			e = netip.MustParsePrefix(e).Addr().String()
		}
		c.baseline[e] = struct{}{}
	}
	const nq = 1 << 16
	for len(c.queries) < nq {
		var o intel.Observable
		hit := rng.IntN(2) == 0 // in random order, so that the CPU cannot predict it
		switch {
		case kind == "cidr" && hit:
			a := netip.MustParsePrefix(l.Entries[rng.IntN(benchEntries)]).Addr()
			o = intel.Observable{Type: ipType(a), Value: a.String()}
		case kind == "cidr":
			a := randPrefix(rng).Addr()
			o = intel.Observable{Type: ipType(a), Value: a.String()}
		case kind == "hostname" && hit: // a subdomain of an entry: exercises the label walk
			o = intel.Observable{Type: intel.Domain, Value: "www." + l.Entries[rng.IntN(benchEntries)]}
		case hit:
			o = intel.Observable{Type: intel.Domain, Value: l.Entries[rng.IntN(benchEntries)]}
		default:
			o = intel.Observable{Type: intel.Domain, Value: randDomain(rng)}
		}
		if (set.Match(o) != nil) != hit {
			continue // a random miss that happens to hit
		}
		// A query shares no memory with the entries, as a value from an event would not: the
		// map would otherwise compare equal string pointers without reading the bytes.
		o.Value = strings.Clone(o.Value)
		c.queries = append(c.queries, o)
	}
	return c
}

// baselineLookup looks v up in the plain map; for a hostname list, v and then each parent domain.
func (c *benchCase) baselineLookup(v string) bool {
	for {
		if _, ok := c.baseline[v]; ok {
			return true
		}
		i := strings.IndexByte(v, '.')
		if !c.walk || i < 0 {
			return false
		}
		v = v[i+1:]
	}
}

// randPrefix returns 80% IPv4 /24-/32 and 20% IPv6 /32-/128 networks.
func randPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(5) < 4 {
		var a [4]byte
		v := rng.Uint32()
		a[0], a[1], a[2], a[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		return netip.PrefixFrom(netip.AddrFrom4(a), 24+rng.IntN(9)).Masked()
	}
	var a [16]byte
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		a[i], a[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	a[0] = 0x20 // keep it in 2000::/8, global unicast
	return netip.PrefixFrom(netip.AddrFrom16(a), 32+rng.IntN(97)).Masked()
}

var benchTLDs = []string{"com", "net", "org", "io", "de", "co.uk", "info", "ru", "xyz", "com.br"}

func randDomain(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	n := 6 + rng.IntN(9)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b) + "." + benchTLDs[rng.IntN(len(benchTLDs))]
}

func ipType(a netip.Addr) intel.Type {
	if a.Is4() {
		return intel.IPv4
	}
	return intel.IPv6
}

var benchSink int

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkWarninglistMatch measures WarninglistSet.Match against one 1M-entry list of each
// indexed type, half hits and half misses. Beside ns/op it reports the baseline measured in the
// same run (map-ns/op: a map[string]struct{} of the entries looked up with the same query
// strings, for hostnames walking up the parent domains, chained like the set's lookups;
// map-indep-ns/op: the same lookups unchained), the ratio (x-map), the build time, and the heap per entry of the index (B/entry) and of the index with
// the entry strings (B/entry-all).
func BenchmarkWarninglistMatch(b *testing.B) {
	for _, kind := range []string{"cidr", "hostname", "string"} {
		var c *benchCase
		b.Run(kind, func(b *testing.B) {
			if c == nil {
				c = newBenchCase(b, kind)
			}
			qs := c.queries
			mask := len(qs) - 1
			// Each loop picks its next query from the previous result, so that the CPU cannot
			// overlap lookups: ns/op is the latency of one lookup, as in enrichment where each
			// lookup sits among other work. map-indep-ns/op is the map without that chaining.
			b.ReportAllocs()
			b.ResetTimer()
			k := 0
			for range b.N {
				k = (k + 1 + 2*len(c.set.Match(qs[k]))) & mask
			}
			b.StopTimer()
			setNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)

			start := time.Now()
			k = 0
			for range b.N {
				ok := c.baselineLookup(qs[k].Value)
				k = (k + 1 + 2*b2i(ok)) & mask
			}
			mapNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			start = time.Now()
			for i := range b.N {
				if c.baselineLookup(qs[i&mask].Value) {
					benchSink++
				}
			}
			indepNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
			b.ReportMetric(mapNs, "map-ns/op")
			if mapNs > 0 {
				b.ReportMetric(setNs/mapNs, "x-map")
			}
			b.ReportMetric(indepNs, "map-indep-ns/op")
			b.ReportMetric(float64(c.buildTime.Milliseconds()), "build-ms")
			b.ReportMetric(c.indexPerEntry, "B/entry")
			b.ReportMetric(c.overallPerEntry, "B/entry-all")
		})
	}
}

// BenchmarkWarninglistMatchDefault measures the embedded default set on a mix of observables.
func BenchmarkWarninglistMatchDefault(b *testing.B) {
	s := defaultSet(b)
	qs := []intel.Observable{
		obs(intel.IPv4, "10.1.2.3"), obs(intel.IPv4, "93.184.216.34"), obs(intel.IPv6, "2a00:1450:4001::1"),
		obs(intel.Domain, "x.bit.ly"), obs(intel.Domain, "evil-google.com"), obs(intel.URL, "https://evil.example/a/b"),
		obs(intel.Email, "abuse@example.com"), obs(intel.MD5, "0123456789abcdef0123456789abcdef"),
	}
	for _, q := range qs {
		b.Run(string(q.Type), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink += len(s.Match(q))
			}
		})
	}
}
