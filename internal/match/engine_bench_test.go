package match_test

import (
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/gaissmai/bart"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
)

// The benchmarks follow docs/performance-baselines.md: 1M indicators per structure, synthetic
// deterministic data (fixed PCG seeds), 50% hits and 50% misses in random order. Each one
// measures its baseline in the same run, interleaved in chunks so that noise hits both alike,
// and reports engine-ns/op, base-ns/op and their ratio (goals E4, E5).
//
//	go test -run '^$' -bench 'Engine' -benchtime 2000000x ./internal/match/

const benchN = 1 << 20

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6f6d656e)) }

// benchPair runs engine and base on the same indexes, alternating in chunks, and reports both
// and engine / (scale × base).
func benchPair(b *testing.B, scale float64, engine, base func(i int)) {
	const chunk = 4096
	var te, tb time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		t0 := time.Now()
		for i := done; i < done+n; i++ {
			engine(i)
		}
		t1 := time.Now()
		for i := done; i < done+n; i++ {
			base(i)
		}
		te += t1.Sub(t0)
		tb += time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(te.Nanoseconds())/float64(b.N), "engine-ns/op")
	b.ReportMetric(float64(tb.Nanoseconds())/float64(b.N), "base-ns/op")
	b.ReportMetric(float64(te)/(scale*float64(tb)), "ratio")
}

// --- data -------------------------------------------------------------------------------

func genSHA256(r *rand.Rand, n int) [][32]byte {
	out := make([][32]byte, n)
	for i := range out {
		for j := 0; j < 32; j += 8 {
			v := r.Uint64()
			for k := range 8 {
				out[i][j+k] = byte(v >> (8 * k))
			}
		}
	}
	return out
}

var tlds = []string{"com", "net", "org", "info", "io", "de", "ru", "xyz", "co.uk", "top"}

// genDomains returns n distinct registrable domains (mean length about 15 bytes).
func genDomains(r *rand.Rand, n int) []string {
	seen := make(map[string]struct{}, n)
	out := make([]string, 0, n)
	for len(out) < n {
		d := randLabel(r, 5+r.IntN(9)) + "." + tlds[r.IntN(len(tlds))]
		if _, ok := seen[d]; !ok {
			seen[d] = struct{}{}
			out = append(out, d)
		}
	}
	return out
}

func randLabel(r *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	var sb strings.Builder
	for range n {
		sb.WriteByte(letters[r.IntN(len(letters))])
	}
	return sb.String()
}

// genURLs returns n distinct URLs on random domains (mean length about 45 bytes).
func genURLs(r *rand.Rand, n int) []string {
	ds := genDomains(r, n)
	for i, d := range ds {
		ds[i] = "https://" + d + "/" + randLabel(r, 4+r.IntN(10)) + "/" + randLabel(r, 3+r.IntN(8)) + ".php"
	}
	return ds
}

// genPrefixes returns n distinct blocklist-shaped prefixes: 80% IPv4 (75% /32, 20% /24, ~5%
// /17-/23, 0.05% /10-/16), 20% IPv6 (60% /128, 25% /64, 15% /48).
func genPrefixes(r *rand.Rand, n int) []netip.Prefix {
	seen := make(map[netip.Prefix]struct{}, n)
	out := make([]netip.Prefix, 0, n)
	for len(out) < n {
		var p netip.Prefix
		if r.IntN(5) < 4 {
			var a [4]byte
			v := r.Uint32()
			a[0], a[1], a[2], a[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
			bits := 32
			switch x := r.IntN(10000); {
			case x < 5:
				bits = 10 + r.IntN(7)
			case x < 500:
				bits = 17 + r.IntN(7)
			case x < 2500:
				bits = 24
			}
			p = netip.PrefixFrom(netip.AddrFrom4(a), bits).Masked()
		} else {
			var a [16]byte
			a[0], a[1] = 0x20, 0x01
			for i := 2; i < 16; i++ {
				a[i] = byte(r.Uint32())
			}
			bits := 128
			switch x := r.IntN(100); {
			case x < 15:
				bits = 48
			case x < 40:
				bits = 64
			}
			p = netip.PrefixFrom(netip.AddrFrom16(a), bits).Masked()
		}
		if _, ok := seen[p]; !ok {
			seen[p] = struct{}{}
			out = append(out, p)
		}
	}
	return out
}

// genCIDRs returns n distinct networks (not single addresses): IPv4 /16-/30, 20% IPv6 /32-/64.
func genCIDRs(r *rand.Rand, n int) []netip.Prefix {
	seen := make(map[netip.Prefix]struct{}, n)
	out := make([]netip.Prefix, 0, n)
	for len(out) < n {
		var p netip.Prefix
		if r.IntN(5) < 4 {
			v := r.Uint32()
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 16+r.IntN(15)).Masked()
		} else {
			var a [16]byte
			a[0], a[1] = 0x20, 0x01
			for i := 2; i < 16; i++ {
				a[i] = byte(r.Uint32())
			}
			p = netip.PrefixFrom(netip.AddrFrom16(a), 32+r.IntN(33)).Masked()
		}
		if _, ok := seen[p]; !ok {
			seen[p] = struct{}{}
			out = append(out, p)
		}
	}
	return out
}

func prefixObservable(p netip.Prefix) intel.Observable {
	switch {
	case p.IsSingleIP() && p.Addr().Is4():
		return ob(intel.IPv4, p.Addr().String())
	case p.IsSingleIP():
		return ob(intel.IPv6, p.Addr().String())
	}
	return ob(intel.CIDR, p.String())
}

func buildSnapshot(tb testing.TB, obs []intel.Observable) *match.Snapshot {
	b := match.NewBuilder()
	for i, o := range obs {
		if err := b.Add(match.Entry{ID: int64(i + 1), Observable: o}); err != nil {
			tb.Fatal(err)
		}
	}
	return b.Build()
}

// --- E4: exact match ---------------------------------------------------------------------

type exactFixture struct {
	snap     *match.Snapshot
	base     map[[32]byte]struct{}
	queries  []intel.Observable // hex, as the engine receives them
	keys     [][32]byte         // decoded, as the bare map receives them
	urlSnap  *match.Snapshot
	urlBase  map[string]struct{}
	urlQuery []intel.Observable
}

var exactData = sync.OnceValue(func() *exactFixture {
	r := newRand(1)
	hashes := genSHA256(r, benchN)
	misses := genSHA256(r, benchN)
	f := &exactFixture{base: make(map[[32]byte]struct{}, benchN)}
	obs := make([]intel.Observable, benchN)
	for i, h := range hashes {
		obs[i] = ob(intel.SHA256, hex.EncodeToString(h[:]))
		f.base[h] = struct{}{}
	}
	f.snap = buildSnapshot(nil, obs)
	for i := range benchN {
		k := misses[i]
		if r.IntN(2) == 0 {
			k = hashes[r.IntN(benchN)]
		}
		f.keys = append(f.keys, k)
		f.queries = append(f.queries, ob(intel.SHA256, hex.EncodeToString(k[:])))
	}
	urls := genURLs(r, benchN)
	other := genURLs(newRand(11), benchN)
	uobs := make([]intel.Observable, benchN)
	f.urlBase = make(map[string]struct{}, benchN)
	for i, u := range urls {
		uobs[i] = ob(intel.URL, u)
		f.urlBase[strings.Clone(u)] = struct{}{}
	}
	f.urlSnap = buildSnapshot(nil, uobs)
	for range benchN {
		u := other[r.IntN(benchN)]
		if r.IntN(2) == 0 {
			u = urls[r.IntN(benchN)]
		}
		f.urlQuery = append(f.urlQuery, ob(intel.URL, u))
	}
	return f
})

// BenchmarkEngineExact: a SHA-256 (hex in, as from an event) against 1M, beside a bare
// map[[32]byte]struct{} lookup of the decoded key; a URL beside map[string]struct{}. Goal E4:
// ratio ≤ 1.5.
func BenchmarkEngineExact(b *testing.B) {
	f := exactData()
	mask := benchN - 1
	b.Run("sha256", func(b *testing.B) {
		dst := make([]match.Match, 0, 4)
		var hits int
		benchPair(b, 1, func(i int) {
			dst = f.snap.Match(f.queries[i&mask], dst[:0])
			hits += len(dst)
		}, func(i int) {
			if _, ok := f.base[f.keys[i&mask]]; ok {
				hits++
			}
		})
	})
	// The same, beside a bare map fed from the same hex text (decoded with encoding/hex): the
	// cost of taking text as an event carries it, paid by both sides.
	b.Run("sha256-text", func(b *testing.B) {
		dst := make([]match.Match, 0, 4)
		var hits int
		benchPair(b, 1, func(i int) {
			dst = f.snap.Match(f.queries[i&mask], dst[:0])
			hits += len(dst)
		}, func(i int) {
			var k [32]byte
			hex.Decode(k[:], unsafe.Slice(unsafe.StringData(f.queries[i&mask].Value), 64))
			if _, ok := f.base[k]; ok {
				hits++
			}
		})
	})
	b.Run("url", func(b *testing.B) {
		dst := make([]match.Match, 0, 4)
		var hits int
		benchPair(b, 1, func(i int) {
			dst = f.urlSnap.Match(f.urlQuery[i&mask], dst[:0])
			hits += len(dst)
		}, func(i int) {
			if _, ok := f.urlBase[f.urlQuery[i&mask].Value]; ok {
				hits++
			}
		})
	})
}

// --- E4: longest-prefix match ------------------------------------------------------------

type lpmFixture struct {
	snap    *match.Snapshot
	table   *bart.Table[uint32]
	addrs   []netip.Addr
	queries []intel.Observable
}

var lpmData = sync.OnceValue(func() *lpmFixture {
	r := newRand(2)
	ps := genPrefixes(r, benchN)
	f := &lpmFixture{table: new(bart.Table[uint32])}
	obs := make([]intel.Observable, benchN)
	for i, p := range ps {
		obs[i] = prefixObservable(p)
		f.table.Insert(p, uint32(i+1))
	}
	f.snap = buildSnapshot(nil, obs)
	for range benchN {
		var a netip.Addr
		if r.IntN(2) == 0 { // an address inside a listed prefix
			p := ps[r.IntN(benchN)]
			b := p.Addr().As16()
			for i := p.Bits() / 8; i < 16; i++ {
				if !p.Addr().Is4() || i >= 12 {
					b[i] |= byte(r.Uint32()) & (0xff >> max(0, p.Bits()-8*i))
				}
			}
			a = netip.AddrFrom16(b)
			if p.Addr().Is4() {
				a = a.Unmap()
			}
		} else if r.IntN(5) < 4 {
			v := r.Uint32()
			a = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		} else {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			for i := 2; i < 16; i++ {
				b[i] = byte(r.Uint32())
			}
			a = netip.AddrFrom16(b)
		}
		f.addrs = append(f.addrs, a)
		t := intel.IPv4
		if a.Is6() {
			t = intel.IPv6
		}
		f.queries = append(f.queries, ob(t, a.String()))
	}
	return f
})

// BenchmarkEngineLPM: an address against 1M blocklist-shaped prefixes (every covering
// indicator is returned), beside bart.Table.Lookup on the same prefixes. Goal E4: ratio ≤ 1.3.
// "addr" takes a parsed address (MatchAddr); "text" parses the value too (Match).
func BenchmarkEngineLPM(b *testing.B) {
	f := lpmData()
	mask := benchN - 1
	b.Run("addr", func(b *testing.B) {
		dst := make([]match.Match, 0, 8)
		var hits int
		benchPair(b, 1, func(i int) {
			dst = f.snap.MatchAddr(f.addrs[i&mask], dst[:0])
			hits += len(dst)
		}, func(i int) {
			if _, ok := f.table.Lookup(f.addrs[i&mask]); ok {
				hits++
			}
		})
	})
	b.Run("text", func(b *testing.B) {
		dst := make([]match.Match, 0, 8)
		var hits int
		benchPair(b, 1, func(i int) {
			dst = f.snap.Match(f.queries[i&mask], dst[:0])
			hits += len(dst)
		}, func(i int) {
			if _, ok := f.table.Lookup(f.addrs[i&mask]); ok {
				hits++
			}
		})
	})
}

// --- E4: domain suffix match -------------------------------------------------------------

type domainFixture struct {
	snap    *match.Snapshot
	base    map[string]struct{}
	queries []intel.Observable // 4-label host names, half below a listed domain
	single  []string           // one random listed-or-not domain per query, for the baseline
}

var domainData = sync.OnceValue(func() *domainFixture {
	r := newRand(3)
	ds := genDomains(r, 2*benchN)
	listed, unlisted := ds[:benchN], ds[benchN:]
	f := &domainFixture{base: make(map[string]struct{}, benchN)}
	obs := make([]intel.Observable, benchN)
	for i, d := range listed {
		obs[i] = ob(intel.Domain, d)
		f.base[strings.Clone(d)] = struct{}{}
	}
	f.snap = buildSnapshot(nil, obs)
	for range benchN {
		d := unlisted[r.IntN(benchN)]
		if r.IntN(2) == 0 {
			d = listed[r.IntN(benchN)]
		}
		if strings.Count(d, ".") == 1 {
			d = randLabel(r, 3) + "." + d
		}
		f.queries = append(f.queries, ob(intel.Domain, randLabel(r, 4)+"."+d))
		s := unlisted[r.IntN(benchN)]
		if r.IntN(2) == 0 {
			s = listed[r.IntN(benchN)]
		}
		f.single = append(f.single, s)
	}
	return f
})

// BenchmarkEngineDomain: a 4-label host name against 1M domains (itself and its parents).
// "per-label" reports engine / (4 × one bare map[string]struct{} lookup), goal E4 ≤ 1.2;
// "b2" sets the engine beside baseline B2 (a map lookup of every label suffix of the name).
func BenchmarkEngineDomain(b *testing.B) {
	f := domainData()
	mask := benchN - 1
	dst := make([]match.Match, 0, 8)
	var hits int
	engine := func(i int) {
		dst = f.snap.Match(f.queries[i&mask], dst[:0])
		hits += len(dst)
	}
	b.Run("per-label", func(b *testing.B) {
		benchPair(b, 4, engine, func(i int) {
			if _, ok := f.base[f.single[i&mask]]; ok {
				hits++
			}
		})
	})
	b.Run("b2", func(b *testing.B) {
		benchPair(b, 1, engine, func(i int) {
			d := f.queries[i&mask].Value
			for {
				if _, ok := f.base[d]; ok {
					hits++
				}
				k := strings.IndexByte(d, '.')
				if k < 0 {
					break
				}
				d = d[k+1:]
			}
		})
	})
}

// --- E5: heap per indicator --------------------------------------------------------------

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// heapPer returns the heap bytes per item held by what build returns.
func heapPer(n int, build func() any) float64 {
	before := heapInUse()
	v := build()
	after := heapInUse()
	runtime.KeepAlive(v)
	return float64(int64(after)-int64(before)) / float64(n)
}

// BenchmarkEngineHeap builds 1M indicators of each type and reports the heap the snapshot holds
// per indicator (value included: the snapshot keeps no input string), beside a bare structure
// of the same keys (map with cloned strings, map of arrays, bart.Table[uint32]). Goal E5:
// ≤ 100 B for IPs, CIDRs and hashes, ≤ 120 B for domains and URLs. Run with -benchtime 1x.
func BenchmarkEngineHeap(b *testing.B) {
	r := newRand(4)
	type kind struct {
		name string
		obs  func() []intel.Observable
		base func(obs []intel.Observable) any
	}
	strs := func(obs []intel.Observable) any {
		m := make(map[string]struct{})
		for _, o := range obs {
			m[strings.Clone(o.Value)] = struct{}{}
		}
		return m
	}
	prefixes := func(obs []intel.Observable) any {
		t := new(bart.Table[uint32])
		for i, o := range obs {
			p, err := netip.ParsePrefix(o.Value)
			if err != nil {
				a := netip.MustParseAddr(o.Value)
				p = netip.PrefixFrom(a, a.BitLen())
			}
			t.Insert(p, uint32(i))
		}
		return t
	}
	kinds := []kind{
		{"ipv4", func() []intel.Observable {
			var obs []intel.Observable
			for _, p := range genPrefixes(r, benchN*2) {
				if p.IsSingleIP() && p.Addr().Is4() && len(obs) < benchN {
					obs = append(obs, prefixObservable(p))
				}
			}
			return obs
		}, prefixes},
		{"cidr", func() []intel.Observable {
			var obs []intel.Observable
			for _, p := range genCIDRs(r, benchN) {
				obs = append(obs, prefixObservable(p))
			}
			return obs
		}, prefixes},
		{"sha256", func() []intel.Observable {
			var obs []intel.Observable
			for _, h := range genSHA256(r, benchN) {
				obs = append(obs, ob(intel.SHA256, hex.EncodeToString(h[:])))
			}
			return obs
		}, func(obs []intel.Observable) any {
			m := make(map[[32]byte]struct{})
			for _, o := range obs {
				var k [32]byte
				hex.Decode(k[:], []byte(o.Value))
				m[k] = struct{}{}
			}
			return m
		}},
		{"domain", func() []intel.Observable {
			var obs []intel.Observable
			for _, d := range genDomains(r, benchN) {
				obs = append(obs, ob(intel.Domain, d))
			}
			return obs
		}, strs},
		{"url", func() []intel.Observable {
			var obs []intel.Observable
			for _, u := range genURLs(r, benchN) {
				obs = append(obs, ob(intel.URL, u))
			}
			return obs
		}, strs},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			obs := k.obs()
			var per, base float64
			for range b.N {
				per = heapPer(len(obs), func() any { return buildSnapshot(b, obs) })
				base = heapPer(len(obs), func() any { return k.base(obs) })
			}
			b.ReportMetric(per, "B/indicator")
			b.ReportMetric(base, "base-B/key")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkEngineBuild reports the time to build a 1M-domain snapshot beside inserting the same
// strings into a plain map (goal E6: ≤ 2×).
func BenchmarkEngineBuild(b *testing.B) {
	ds := genDomains(newRand(5), benchN)
	obs := make([]intel.Observable, len(ds))
	for i, d := range ds {
		obs[i] = ob(intel.Domain, d)
	}
	var te, tb time.Duration
	for range b.N {
		t0 := time.Now()
		s := buildSnapshot(b, obs)
		t1 := time.Now()
		m := make(map[string]struct{})
		for _, d := range ds {
			m[d] = struct{}{}
		}
		te, tb = te+t1.Sub(t0), tb+time.Since(t1)
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(te.Milliseconds())/float64(b.N), "engine-ms")
	b.ReportMetric(float64(tb.Milliseconds())/float64(b.N), "base-ms")
	b.ReportMetric(float64(te)/float64(tb), "ratio")
}

// BenchmarkEngineSwapStall measures the longest single Match call of a reader looping over
// lookups while another goroutine builds a 1M-domain snapshot and swaps it in (goal E6: no
// stall above 50 ms). It reports the longest call and the median call of the reader.
func BenchmarkEngineSwapStall(b *testing.B) {
	ds := genDomains(newRand(6), benchN)
	obs := make([]intel.Observable, len(ds))
	for i, d := range ds {
		obs[i] = ob(intel.Domain, d)
	}
	e := match.NewEngine(buildSnapshot(b, obs))
	var worst time.Duration
	for range b.N {
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Swap(buildSnapshot(b, obs))
		}()
		dst := make([]match.Match, 0, 4)
		var lat []time.Duration
	loop:
		for i := 0; ; i++ {
			select {
			case <-done:
				break loop
			default:
			}
			t0 := time.Now()
			dst = e.Match(ob(intel.Domain, "www."+ds[(i*7919)&(benchN-1)]), dst[:0])
			lat = append(lat, time.Since(t0))
		}
		for _, l := range lat {
			worst = max(worst, l)
		}
		if len(lat) > 0 {
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "median-ns")
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-stall-ms")
	b.ReportMetric(0, "ns/op")
}
