package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omen-tip/omen/internal/enrich"
	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/kb"
	"github.com/omen-tip/omen/internal/match"
	"github.com/omen-tip/omen/internal/store"
	"github.com/omen-tip/omen/internal/store/sqlite"
)

// indicatorSet is a synthetic set of loaded indicators in the mix of performance-baselines.md B6
// (1M domains, 1M IP addresses and prefixes 80/20 v4/v6, 1M SHA-256, 100k emails, 1M URLs), with
// the values kept by type so that events can draw on them.
type indicatorSet struct {
	all    []intel.Observable // in load order
	addrs  []netip.Addr       // ipv4 and ipv6 indicators
	nets   []netip.Prefix     // cidr indicators
	byType map[intel.Type][]string
}

// mixedSet returns n distinct canonical observables in the B6 mix, deterministic for a seed. Of
// every 41: 10 domains (a third with a sub-domain), 10 IPs (80% IPv4; three in four single
// addresses, the rest networks of /22 to /30 for IPv4 and /32 to /64 for IPv6), 10 SHA-256,
// 10 URLs and 1 email address.
func mixedSet(n int, seed uint64) *indicatorSet {
	r := rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))
	s := &indicatorSet{all: make([]intel.Observable, 0, n), byType: map[intel.Type][]string{}}
	seen := make(map[intel.Observable]struct{}, n)
	for len(s.all) < n {
		var o intel.Observable
		var err error
		switch k := r.IntN(41); {
		case k < 10:
			o, err = intel.Normalize(intel.Domain, randDomain(r))
		case k < 20:
			o, err = randIPIndicator(r)
		case k < 30:
			o = intel.Observable{Type: intel.SHA256, Value: randHex(r, 64)}
		case k < 40:
			o, err = intel.Normalize(intel.URL, randURL(r, randDomain(r)))
		default:
			o, err = intel.Normalize(intel.Email, randWord(r, 4, 10)+"@"+randDomain(r))
		}
		if err != nil {
			continue // cannot happen with these generators; skip rather than fail a benchmark
		}
		if _, dup := seen[o]; dup {
			continue
		}
		seen[o] = struct{}{}
		s.all = append(s.all, o)
		switch o.Type {
		case intel.IPv4, intel.IPv6:
			s.addrs = append(s.addrs, netip.MustParseAddr(o.Value))
		case intel.CIDR:
			s.nets = append(s.nets, netip.MustParsePrefix(o.Value))
		default:
			s.byType[o.Type] = append(s.byType[o.Type], o.Value)
		}
	}
	return s
}

var tlds = []string{"com", "net", "org", "ru", "xyz", "top", "info", "io", "cn", "de", "co.uk", "com.br"}

func randWord(r *rand.Rand, lo, hi int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, lo+r.IntN(hi-lo+1))
	for i := range b {
		if i == 0 {
			b[i] = letters[r.IntN(26)]
		} else {
			b[i] = letters[r.IntN(len(letters))]
		}
	}
	return string(b)
}

func randHex(r *rand.Rand, n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[r.IntN(16)]
	}
	return string(b)
}

func randDomain(r *rand.Rand) string {
	d := randWord(r, 6, 15) + "." + tlds[r.IntN(len(tlds))]
	if r.IntN(3) == 0 {
		d = []string{"www", "mail", "login", "cdn", "api", "secure"}[r.IntN(6)] + "." + d
	}
	return d
}

func randURL(r *rand.Rand, host string) string {
	scheme := "http://"
	if r.IntN(2) == 0 {
		scheme = "https://"
	}
	u := scheme + host + "/" + randWord(r, 3, 10) + "/" + randWord(r, 4, 12) + []string{".php", ".exe", ".zip", "", ".js"}[r.IntN(5)]
	if r.IntN(3) == 0 {
		u += "?id=" + strconv.Itoa(r.IntN(100000))
	}
	return u
}

// randPublic4 returns a random IPv4 address outside 0/8 and 224/3.
func randPublic4(r *rand.Rand) netip.Addr {
	var b [4]byte
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	b[0] = byte(1 + r.IntN(223))
	return netip.AddrFrom4(b)
}

// randGlobal6 returns a random address in 2000::/3.
func randGlobal6(r *rand.Rand) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	b[0] = 0x20 | byte(r.IntN(32))
	return netip.AddrFrom16(b)
}

func randIPIndicator(r *rand.Rand) (intel.Observable, error) {
	v4 := r.IntN(5) < 4
	if r.IntN(4) < 3 {
		if v4 {
			return intel.Observable{Type: intel.IPv4, Value: randPublic4(r).String()}, nil
		}
		return intel.Observable{Type: intel.IPv6, Value: randGlobal6(r).String()}, nil
	}
	var p netip.Prefix
	if v4 {
		p = netip.PrefixFrom(randPublic4(r), 22+r.IntN(9)).Masked()
	} else {
		p = netip.PrefixFrom(randGlobal6(r), 32+r.IntN(33)).Masked()
	}
	return intel.Normalize(intel.CIDR, p.String())
}

// loadStore ingests the set into a fresh SQLite store at path through the bulk ingester, one
// report per observable from one source.
func loadStore(ctx context.Context, path string, set *indicatorSet, logf func(string, ...any)) (*sqlite.DB, time.Duration, error) {
	st, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*sqlite.DB, time.Duration, error) {
		st.Close()
		return nil, 0, err
	}
	if _, err := st.PutSource(ctx, intel.Source{Name: "bench", Kind: "import", Reliability: intel.ReliabilityB,
		Confidence: 80, TLP: intel.TLPGreen, Enabled: true}); err != nil {
		return fail(err)
	}
	start := time.Now()
	in, err := st.NewIngester(ctx, store.IngestOptions{Source: "bench", BatchSize: 250000})
	if err != nil {
		return fail(err)
	}
	seen := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tags := []string{"bench"}
	for i, o := range set.all {
		if err := in.Add(ctx, intel.Report{Observable: o, Source: "bench", Confidence: 80, TLP: intel.TLPGreen,
			FirstSeen: seen, LastSeen: seen, Tags: tags, ThreatType: "c2"}); err != nil {
			in.Abort()
			return fail(fmt.Errorf("ingesting %s: %w", o, err))
		}
		if (i+1)%1000000 == 0 {
			logf("  ingested %d of %d", i+1, len(set.all))
		}
	}
	stats, err := in.Close(ctx)
	if err != nil {
		return fail(err)
	}
	if stats.New != len(set.all) {
		return fail(fmt.Errorf("the ingest stored %d new of %d", stats.New, len(set.all)))
	}
	return st, time.Since(start), nil
}

// ecsEvent is the baseline's Go struct: the same ECS fields as the corpus, decoded by
// encoding/json with no matching.
type ecsEvent struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		Kind     string   `json:"kind"`
		Category []string `json:"category"`
		Type     []string `json:"type"`
		Dataset  string   `json:"dataset"`
		Action   string   `json:"action"`
		Outcome  string   `json:"outcome"`
	} `json:"event"`
	Host struct {
		Name string `json:"name"`
	} `json:"host"`
	User struct {
		Name string `json:"name"`
	} `json:"user"`
	Source struct {
		IP   string `json:"ip"`
		Port int    `json:"port"`
	} `json:"source"`
	Destination struct {
		IP     string `json:"ip"`
		Port   int    `json:"port"`
		Domain string `json:"domain"`
	} `json:"destination"`
	Network struct {
		Transport string `json:"transport"`
		Protocol  string `json:"protocol"`
	} `json:"network"`
	DNS struct {
		Question struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"question"`
		Answers []struct {
			Data string `json:"data"`
			Type string `json:"type"`
		} `json:"answers"`
	} `json:"dns"`
	URL struct {
		Full string `json:"full"`
	} `json:"url"`
	HTTP struct {
		Request struct {
			Method string `json:"method"`
		} `json:"request"`
		Response struct {
			StatusCode int `json:"status_code"`
		} `json:"response"`
	} `json:"http"`
	UserAgent struct {
		Original string `json:"original"`
	} `json:"user_agent"`
	File struct {
		Name string `json:"name"`
		Hash struct {
			SHA256 string `json:"sha256"`
		} `json:"hash"`
	} `json:"file"`
	Email struct {
		From struct {
			Address []string `json:"address"`
		} `json:"from"`
		To struct {
			Address []string `json:"address"`
		} `json:"to"`
		Subject string `json:"subject"`
	} `json:"email"`
}

// hitRate is the share of each observable field drawn from the loaded indicators (B6: ~1%).
const hitRate = 100 // one in hitRate

// corpus writes m ECS events as NDJSON to path and returns them in memory, one line each. The
// events are network connections (30%), DNS queries (25%), HTTP requests (25%), file downloads
// (12%) and e-mails (8%), each with source and destination addresses, host.name, user.name and
// event.*; about 1% of each observable field is drawn from set.
func corpus(path string, m int, set *indicatorSet, seed uint64) ([][]byte, error) {
	r := rand.New(rand.NewPCG(seed, seed^0xbb67ae8584caa73b))
	hit := func() bool { return r.IntN(hitRate) == 0 }
	pick := func(t intel.Type) (string, bool) {
		vs := set.byType[t]
		if len(vs) == 0 || !hit() {
			return "", false
		}
		return vs[r.IntN(len(vs))], true
	}
	destIP := func() string {
		if hit() {
			if len(set.nets) > 0 && (len(set.addrs) == 0 || r.IntN(4) == 0) {
				p := set.nets[r.IntN(len(set.nets))]
				return addrIn(r, p).String()
			}
			if len(set.addrs) > 0 {
				return set.addrs[r.IntN(len(set.addrs))].String()
			}
		}
		if r.IntN(10) == 0 {
			return randGlobal6(r).String()
		}
		return randPublic4(r).String()
	}
	srcIP := func() string {
		if hit() && len(set.addrs) > 0 {
			return set.addrs[r.IntN(len(set.addrs))].String() // inbound from a known address
		}
		return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
	domain := func() string {
		if d, ok := pick(intel.Domain); ok {
			if r.IntN(2) == 0 {
				return "www." + d // matches as a parent domain
			}
			return d
		}
		return randDomain(r)
	}
	urlFull := func(host string) string {
		if u, ok := pick(intel.URL); ok {
			return u
		}
		return randURL(r, host)
	}
	hash := func() string {
		if h, ok := pick(intel.SHA256); ok {
			return h
		}
		return randHex(r, 64)
	}
	email := func() string {
		if e, ok := pick(intel.Email); ok {
			return e
		}
		return randWord(r, 4, 10) + "@" + randDomain(r)
	}
	hosts := make([]string, 500)
	users := make([]string, 500)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("ws-%04d.corp.example", i)
		users[i] = randWord(r, 4, 9)
	}
	uas := []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
		"curl/8.5.0", "Microsoft-CryptoAPI/10.0"}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var all []byte
	offs := make([]int, 0, m+1)
	var b []byte
	for i := range m {
		b = b[:0]
		ts := start.Add(time.Duration(i) * 7 * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		host, user := hosts[r.IntN(len(hosts))], users[r.IntN(len(users))]
		src, dst := srcIP(), destIP()
		sport := 1024 + r.IntN(64000)
		head := func(cat, typ, dataset, action string) {
			b = fmt.Appendf(b, `{"@timestamp":%q,"event":{"kind":"event","category":[%q],"type":[%q],"dataset":%q,"action":%q,"outcome":"success"},`+
				`"host":{"name":%q},"user":{"name":%q},"source":{"ip":%q,"port":%d},`, ts, cat, typ, dataset, action, host, user, src, sport)
		}
		switch k := r.IntN(100); {
		case k < 30:
			head("network", "connection", "zeek.connection", "network_flow")
			b = fmt.Appendf(b, `"destination":{"ip":%q,"port":%d,"domain":%q},"network":{"transport":"tcp","protocol":"tls","bytes":%d}}`,
				dst, []int{443, 80, 22, 8443, 3389}[r.IntN(5)], domain(), r.IntN(1<<20))
		case k < 55:
			head("network", "protocol", "zeek.dns", "dns_query")
			b = fmt.Appendf(b, `"destination":{"ip":%q,"port":53},"network":{"transport":"udp","protocol":"dns"},`+
				`"dns":{"question":{"name":%q,"type":"A"},"answers":[{"data":%q,"type":"A"}],"response_code":"NOERROR"}}`,
				dst, domain(), destIP())
		case k < 80:
			d := domain()
			head("web", "access", "zeek.http", "http_request")
			b = fmt.Appendf(b, `"destination":{"ip":%q,"port":443,"domain":%q},"network":{"transport":"tcp","protocol":"http"},`+
				`"url":{"full":%q},"http":{"request":{"method":"GET"},"response":{"status_code":200}},"user_agent":{"original":%q}}`,
				dst, d, urlFull(d), uas[r.IntN(len(uas))])
		case k < 92:
			d := domain()
			head("file", "creation", "endpoint.file", "file_download")
			b = fmt.Appendf(b, `"destination":{"ip":%q,"port":443,"domain":%q},"url":{"full":%q},`+
				`"file":{"name":"%s.exe","hash":{"sha256":%q}}}`, dst, d, urlFull(d), randWord(r, 5, 10), hash())
		default:
			head("email", "info", "email.gateway", "email_received")
			b = fmt.Appendf(b, `"destination":{"ip":%q,"port":25},"network":{"transport":"tcp","protocol":"smtp"},`+
				`"email":{"from":{"address":[%q]},"to":{"address":["%s@corp.example"]},"subject":"Invoice %d"},`+
				`"file":{"name":"invoice.pdf.exe","hash":{"sha256":%q}}}`, dst, email(), user, r.IntN(100000), hash())
		}
		offs = append(offs, len(all))
		all = append(all, b...)
		w.Write(b)
		w.WriteByte('\n')
	}
	offs = append(offs, len(all))
	if err := w.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	lines := make([][]byte, m)
	for i := range lines {
		lines[i] = all[offs[i]:offs[i+1]:offs[i+1]]
	}
	return lines, nil
}

// addrIn returns a random address inside p.
func addrIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if r.IntN(2) == 0 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// enrichParams sizes [Enrich]; tests shrink it.
type enrichParams struct {
	n       int // indicators loaded
	events  int // events in the corpus
	passes  int // timed passes per figure (the median is reported)
	stallN  int // indicators of the swapped snapshot
	rebuild bool
}

// Enrich measures the enrichment pipeline (path 1 of performance-baselines.md) with n indicators
// in the B6 mix loaded from a fresh SQLite store: the index build rate and heap per indicator by
// type (E5), events/s of one worker against encoding/json decoding the same ECS events into a
// struct (E1) and of the decoder alone (E3), the scaling over GOMAXPROCS workers (E2), and the
// longest single Enrich call while a 1M-indicator snapshot is rebuilt and swapped (E6).
func Enrich(ctx context.Context, dir string, n int, logf func(string, ...any)) ([]Figure, error) {
	return runEnrich(ctx, dir, enrichParams{n: n, events: min(400000, max(n, 1000)), passes: 5,
		stallN: min(n, 1000000), rebuild: true}, logf)
}

func runEnrich(ctx context.Context, dir string, p enrichParams, logf func(string, ...any)) ([]Figure, error) {
	var figs []Figure
	logf("generating %d indicators (B6 mix)", p.n)
	t0 := time.Now()
	set := mixedSet(p.n, 11)
	logf("  took %s", time.Since(t0).Round(time.Millisecond))

	logf("ingesting them into a fresh SQLite store")
	st, took, err := loadStore(ctx, filepath.Join(dir, "enrich.db"), set, logf)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	logf("  took %s (%.0f indicators/s)", took.Round(time.Millisecond), float64(p.n)/took.Seconds())
	figs = append(figs, Figure{Name: "bulk ingest (store.NewIngester)", Value: float64(p.n) / took.Seconds(), Unit: "indicators/s"})

	lists, err := match.DefaultWarninglistSet()
	if err != nil {
		return nil, err
	}
	logf("building the knowledge base (kb.Open: store scan and index build)")
	heap0 := liveHeap()
	t0 = time.Now()
	k, err := kb.Open(ctx, st, kb.Options{Warninglists: lists})
	if err != nil {
		return nil, err
	}
	took = time.Since(t0)
	kbHeap := liveHeap() - heap0
	stats := k.Snapshot().Stats()
	logf("  took %s; %d indicators indexed, %d rejected", took.Round(time.Millisecond), stats.Indicators, stats.Rejected)
	if stats.Indicators != p.n {
		return nil, fmt.Errorf("the index holds %d indicators of %d (rejected %d)", stats.Indicators, p.n, stats.Rejected)
	}
	figs = append(figs,
		Figure{Name: "index build from the store (kb.Open)", Value: float64(p.n) / took.Seconds(), Unit: "indicators/s"},
		Figure{Name: "KB heap per indicator, all types (measured live heap)", Value: float64(kbHeap) / float64(p.n), Unit: "B"},
		Figure{Name: "index heap per indicator, all types (Snapshot.Stats)", Value: float64(stats.Bytes) / float64(p.n), Unit: "B"})

	logf("heap per indicator by type (one index per type, built from memory)")
	mem, err := heapByType(set, logf)
	if err != nil {
		return nil, err
	}
	figs = append(figs, mem...)

	logf("generating %d ECS events", p.events)
	lines, err := corpus(filepath.Join(dir, "events.ndjson"), p.events, set, 12)
	if err != nil {
		return nil, err
	}
	var size int
	for _, l := range lines {
		size += len(l)
	}
	logf("  %d events, %.1f MB, %d B/event on average", len(lines), float64(size)/1e6, size/max(len(lines), 1))

	dec, err := enrich.NewDecoder(enrich.FormatECS, nil)
	if err != nil {
		return nil, err
	}
	// Findings nil: a dry run, nothing recorded. The KB's details cache starts cold: the first
	// pass reads the matched indicators from the store, the later ones mostly from the cache.
	e, err := enrich.New(ctx, enrich.Options{KB: k})
	if err != nil {
		return nil, err
	}
	workers := runtime.GOMAXPROCS(0)
	parts := make([][][]byte, workers)
	for i := range parts {
		parts[i] = lines[i*len(lines)/workers : (i+1)*len(lines)/workers]
	}
	// The passes are interleaved, so that whatever else the machine does weighs on the baseline
	// and the measured figures alike; each figure is the median over its passes.
	var bases, decs, ones, multis, decMultis []float64
	matched := 0
	for pass := range max(p.passes, 1) {
		logf("pass %d of %d: baseline (encoding/json into a struct of the same ECS fields), decoder alone, "+
			"E1 (1 enrichment worker, findings off), E2 (%d workers), decoder alone on %d goroutines; load average %s",
			pass+1, p.passes, workers, workers, loadAverage())
		rate, err := baselineRate(lines)
		if err != nil {
			return nil, err
		}
		bases = append(bases, rate)
		if rate, err = decodeRate(dec, lines); err != nil {
			return nil, err
		}
		decs = append(decs, rate)
		if rate, matched, err = enrichRate(ctx, e, dec, [][][]byte{lines}); err != nil {
			return nil, err
		}
		ones = append(ones, rate)
		if rate, _, err = enrichRate(ctx, e, dec, parts); err != nil {
			return nil, err
		}
		multis = append(multis, rate)
		if rate, err = decodeRateParallel(dec, parts); err != nil {
			return nil, err
		}
		decMultis = append(decMultis, rate)
		logf("  baseline %.0f, decoder %.0f, E1 %.0f, E2 %.0f, decoder ×%d %.0f events/s", bases[pass], decs[pass], ones[pass],
			multis[pass], workers, decMultis[pass])
	}
	firstBase, firstOne := bases[0], ones[0]
	base, decRate, one, multi, decMulti := median(bases), median(decs), median(ones), median(multis), median(decMultis)
	figs = append(figs,
		Figure{Name: fmt.Sprintf("E1 enrich, 1 worker, %d indicators", p.n), Value: one, Unit: "events/s", Baseline: base,
			BaseName: "encoding/json struct decode events/s", Ratio: one / base, Target: "≥ 0.5 (stretch 0.7)"},
		Figure{Name: "E3 decoder alone (enrich.Decoder)", Value: decRate, Unit: "events/s", Baseline: base,
			BaseName: "encoding/json struct decode events/s", Ratio: decRate / base, Target: "≥ 0.9"},
		Figure{Name: "E1 first pass only (details cache cold)", Value: firstOne, Unit: "events/s", Baseline: firstBase,
			BaseName: "encoding/json struct decode events/s", Ratio: firstOne / firstBase},
		Figure{Name: fmt.Sprintf("E2 enrich, %d workers (GOMAXPROCS)", workers), Value: multi, Unit: "events/s",
			Baseline: float64(workers) * one, BaseName: fmt.Sprintf("%d × 1-worker events/s", workers),
			Ratio: multi / (float64(workers) * one), Target: "≥ 0.8"},
		Figure{Name: fmt.Sprintf("decoder alone, %d goroutines (reference)", workers), Value: decMulti, Unit: "events/s",
			Baseline: float64(workers) * decRate, BaseName: fmt.Sprintf("%d × 1-goroutine events/s", workers),
			Ratio: decMulti / (float64(workers) * decRate)},
		Figure{Name: fmt.Sprintf("events matched per pass (of %d)", len(lines)), Value: float64(matched), Unit: "events"},
		Figure{Name: "ECS corpus mean event size", Value: float64(size) / float64(max(len(lines), 1)), Unit: "B"})

	logf("E6: longest Enrich call while a %d-indicator snapshot is rebuilt and swapped", p.stallN)
	sw, builds, err := swapStall(ctx, k, e, dec, lines, p.stallN, lists, logf)
	if err != nil {
		return nil, err
	}
	figs = append(figs,
		Figure{Name: fmt.Sprintf("E6 longest Enrich call during %d rebuild+swap of %d indicators", builds, p.stallN),
			Value: us(sw.worst), Unit: "µs", Target: "≤ 50,000 µs (50 ms)"},
		Figure{Name: "  the same, events that matched nothing", Value: us(sw.worstMiss), Unit: "µs", Target: "≤ 50,000 µs (50 ms)"},
		Figure{Name: "  longest GC stop-the-world pause meanwhile", Value: us(sw.gcPause), Unit: "µs"})
	if p.rebuild && p.stallN < p.n {
		logf("longest Enrich call during a full kb.Rebuild of all %d indicators (store scan and build)", p.n)
		sw, err := duringEnrich(ctx, e, dec, lines, func() error { return k.Rebuild(ctx) })
		if err != nil {
			return nil, err
		}
		figs = append(figs,
			Figure{Name: fmt.Sprintf("longest Enrich call during kb.Rebuild of all %d", p.n), Value: us(sw.worst), Unit: "µs"},
			Figure{Name: "  the same, events that matched nothing", Value: us(sw.worstMiss), Unit: "µs"},
			Figure{Name: "  longest GC stop-the-world pause meanwhile", Value: us(sw.gcPause), Unit: "µs"})
	}
	return figs, nil
}

// liveHeap returns the live heap after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// heapByType builds one snapshot per type group from the set and reports the live heap each
// adds and the Stats estimate, per indicator.
func heapByType(set *indicatorSet, logf func(string, ...any)) ([]Figure, error) {
	groups := []struct {
		name   string
		types  []intel.Type
		target string
	}{
		{"IPs and CIDRs", []intel.Type{intel.IPv4, intel.IPv6, intel.CIDR}, "≤ 100 B"},
		{"SHA-256", []intel.Type{intel.SHA256}, "≤ 100 B"},
		{"domains", []intel.Type{intel.Domain}, "≤ 120 B"},
		{"URLs", []intel.Type{intel.URL}, "≤ 120 B"},
		{"emails", []intel.Type{intel.Email}, "≤ 120 B"},
	}
	var figs []Figure
	for _, g := range groups {
		var entries []match.Entry
		for i, o := range set.all {
			if slices.Contains(g.types, o.Type) {
				entries = append(entries, match.Entry{ID: int64(i + 1), Observable: o})
			}
		}
		if len(entries) == 0 {
			continue
		}
		before := liveHeap()
		b := match.NewBuilder()
		for _, e := range entries {
			if err := b.Add(e); err != nil {
				return nil, err
			}
		}
		snap := b.Build()
		after := liveHeap()
		st := snap.Stats()
		runtime.KeepAlive(snap)
		runtime.KeepAlive(entries) // live in both measurements: only the index counts
		per := float64(after-before) / float64(len(entries))
		logf("  %s: %d indicators, %.0f B each measured, %.0f B by Stats", g.name, len(entries), per,
			float64(st.Bytes)/float64(len(entries)))
		figs = append(figs,
			Figure{Name: fmt.Sprintf("E5 heap per indicator, %s (%d, measured)", g.name, len(entries)), Value: per, Unit: "B", Target: g.target},
			Figure{Name: fmt.Sprintf("E5 heap per indicator, %s (Snapshot.Stats)", g.name), Value: float64(st.Bytes) / float64(len(entries)), Unit: "B", Target: g.target})
	}
	return figs, nil
}

// median returns the median of rs, which it sorts.
func median(rs []float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	slices.Sort(rs)
	return rs[len(rs)/2]
}

// loadAverage returns the 1-, 5- and 15-minute load averages (Linux), or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// baselineRate decodes every line with encoding/json into an ecsEvent and returns events/s.
func baselineRate(lines [][]byte) (float64, error) {
	start := time.Now()
	var sink int
	for i, l := range lines {
		var ev ecsEvent
		if err := json.Unmarshal(l, &ev); err != nil {
			return 0, fmt.Errorf("baseline: event %d: %w", i+1, err)
		}
		sink += len(ev.Source.IP)
	}
	took := time.Since(start)
	if sink == 0 && len(lines) > 0 {
		return 0, errors.New("baseline: no source.ip decoded")
	}
	return float64(len(lines)) / took.Seconds(), nil
}

// decodeRate decodes every line with dec and returns events/s.
func decodeRate(dec *enrich.Decoder, lines [][]byte) (float64, error) {
	var ev enrich.Event
	start := time.Now()
	fields := 0
	for i, l := range lines {
		if err := dec.Decode(l, &ev); err != nil {
			return 0, fmt.Errorf("decoding event %d: %w", i+1, err)
		}
		fields += len(ev.Fields)
	}
	took := time.Since(start)
	if fields == 0 && len(lines) > 0 {
		return 0, errors.New("the decoder found no observables")
	}
	return float64(len(lines)) / took.Seconds(), nil
}

// decodeRateParallel decodes each part on a goroutine of its own and returns the events/s over all.
func decodeRateParallel(dec *enrich.Decoder, parts [][][]byte) (float64, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	start := time.Now()
	for i, p := range parts {
		wg.Go(func() {
			var ev enrich.Event
			for j, l := range p {
				if err := dec.Decode(l, &ev); err != nil {
					errs[i] = fmt.Errorf("decoding event %d of part %d: %w", j+1, i+1, err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return float64(total) / took.Seconds(), nil
}

// enrichRate enriches each part on a goroutine of its own, with a worker each, and returns the
// events/s over all and the number of matched events.
func enrichRate(ctx context.Context, e *enrich.Enricher, dec *enrich.Decoder, parts [][][]byte) (float64, int, error) {
	var wg sync.WaitGroup
	matched := make([]int, len(parts))
	errs := make([]error, len(parts))
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	start := time.Now()
	for i, p := range parts {
		wg.Go(func() {
			w := e.NewWorker(dec)
			for j, l := range p {
				r, err := w.Enrich(ctx, l)
				if err != nil {
					errs[i] = fmt.Errorf("enriching event %d of part %d: %w", j+1, i+1, err)
					return
				}
				if r.Matched {
					matched[i]++
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	m := 0
	for _, x := range matched {
		m += x
	}
	return float64(total) / took.Seconds(), m, nil
}

// swapStall rebuilds a snapshot of the first stallN indicators of the store (match.Builder, as
// kb's rebuild does, with the same warninglists) and swaps it into k's engine, three times, while
// another goroutine enriches; it returns the longest single Enrich calls. The original snapshot is
// swapped back at the end.
func swapStall(ctx context.Context, k *kb.KB, e *enrich.Enricher, dec *enrich.Decoder, lines [][]byte, stallN int,
	lists *match.WarninglistSet, logf func(string, ...any)) (stall, int, error) {
	errStop := errors.New("enough")
	entries := make([]match.Entry, 0, stallN)
	err := k.Store().ScanIndicators(ctx, func(in intel.Indicator) error {
		entries = append(entries, match.EntryFromIndicator(in))
		if len(entries) >= stallN {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return stall{}, 0, err
	}
	orig := k.Snapshot()
	defer k.Engine().Swap(orig)
	const builds = 3
	worst, err := duringEnrich(ctx, e, dec, lines, func() error {
		for range builds {
			t0 := time.Now()
			b := match.NewBuilder()
			for _, en := range entries {
				b.Add(en) //nolint:errcheck // counted in Stats.Rejected
			}
			b.SetWarninglists(lists)
			k.Engine().Swap(b.Build())
			logf("  built and swapped %d indicators in %s", len(entries), time.Since(t0).Round(time.Millisecond))
		}
		return nil
	})
	return worst, builds, err
}

// stall is the longest single Enrich call seen while other work ran: over all events, and over
// those that matched nothing (which read nothing from the store); and the longest stop-the-world
// pause of the garbage collector meanwhile.
type stall struct{ worst, worstMiss, gcPause time.Duration }

// duringEnrich runs work while another goroutine enriches the lines round and round, and returns
// the longest single Enrich calls seen until work returned.
func duringEnrich(ctx context.Context, e *enrich.Enricher, dec *enrich.Decoder, lines [][]byte, work func() error) (stall, error) {
	if len(lines) == 0 {
		return stall{}, work()
	}
	stop := make(chan struct{})
	var worst, worstMiss time.Duration
	var enrichErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		w := e.NewWorker(dec)
		for i := 0; ; i++ {
			if i%64 == 0 {
				select {
				case <-stop:
					return
				default:
				}
			}
			t0 := time.Now()
			r, err := w.Enrich(ctx, lines[i%len(lines)])
			d := time.Since(t0)
			worst = max(worst, d)
			if !r.Matched {
				worstMiss = max(worstMiss, d)
			}
			if err != nil {
				enrichErr = err
				return
			}
		}
	})
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc0 := ms.NumGC
	err := work()
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	var pause time.Duration
	for i := gc0; i < ms.NumGC && i < gc0+uint32(len(ms.PauseNs)); i++ {
		pause = max(pause, time.Duration(ms.PauseNs[i%uint32(len(ms.PauseNs))]))
	}
	return stall{worst: worst, worstMiss: worstMiss, gcPause: pause}, errors.Join(err, enrichErr)
}
