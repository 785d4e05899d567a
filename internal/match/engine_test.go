package match_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/match"
)

const (
	md5Hex    = "d41d8cd98f00b204e9800998ecf8427e"
	sha1Hex   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
	sha256Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sha512Hex = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" +
		"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)

func ob(t intel.Type, v string) intel.Observable { return intel.Observable{Type: t, Value: v} }

// testEntries are the indicators of the table tests; the ID is the index plus one.
var testEntries = []intel.Observable{
	ob(intel.IPv4, "198.51.100.7"),                    // 1
	ob(intel.CIDR, "198.51.100.0/24"),                 // 2
	ob(intel.CIDR, "198.51.0.0/16"),                   // 3
	ob(intel.CIDR, "10.0.0.0/8"),                      // 4
	ob(intel.IPv6, "2001:db8::1"),                     // 5
	ob(intel.CIDR, "2001:db8::/32"),                   // 6
	ob(intel.Domain, "evil.com"),                      // 7
	ob(intel.Domain, "a.evil.com"),                    // 8
	ob(intel.Domain, "blogspot.com"),                  // 9: a private public suffix
	ob(intel.Domain, "evil.blogspot.com"),             // 10
	ob(intel.URL, "https://evil.com/a.php"),           // 11
	ob(intel.Email, "bad@mail.example.org"),           // 12
	ob(intel.MD5, md5Hex),                             // 13
	ob(intel.SHA1, sha1Hex),                           // 14
	ob(intel.SHA256, sha256Hex),                       // 15
	ob(intel.SHA512, sha512Hex),                       // 16
	ob(intel.JA3, "e7d705a3286e19ea42f587b344ee6865"), // 17
	ob(intel.ASN, "AS64500"),                          // 18
	ob(intel.CVE, "CVE-2024-3094"),                    // 19
	ob(intel.Account, "administrator"),                // 20
	ob(intel.Domain, "phish.co.uk"),                   // 21
	ob(intel.Domain, "mail.example.org"),              // 22
}

func testSnapshot(t testing.TB) *match.Snapshot {
	b := match.NewBuilder()
	for i, o := range testEntries {
		var f match.Flags
		if i+1 == 4 {
			f = match.FlagWarninglisted
		}
		if err := b.Add(match.Entry{ID: int64(i + 1), Observable: o, Flags: f}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Build()
}

// show renders matches as "id kind type:value" for comparisons.
func show(ms []match.Match) []string {
	out := []string{}
	for _, m := range ms {
		s := fmt.Sprintf("%d %s %s", m.ID, m.Kind, m.Observable())
		if m.Flags&match.FlagWarninglisted != 0 {
			s += " wl"
		}
		out = append(out, s)
	}
	return out
}

func TestSnapshotMatch(t *testing.T) {
	s := testSnapshot(t)
	tests := []struct {
		q    intel.Observable
		want []string
	}{
		{ob(intel.IPv4, "198.51.100.7"), []string{"1 exact ipv4:198.51.100.7", "2 cidr cidr:198.51.100.0/24", "3 cidr cidr:198.51.0.0/16"}},
		{ob(intel.IPv4, "198.51.100.8"), []string{"2 cidr cidr:198.51.100.0/24", "3 cidr cidr:198.51.0.0/16"}},
		{ob(intel.IPv4, "10.1.2.3"), []string{"4 cidr cidr:10.0.0.0/8 wl"}},
		{ob(intel.IPv4, "192.0.2.1"), nil},
		// IPv4-mapped IPv6 is matched as IPv4.
		{ob(intel.IPv6, "::ffff:198.51.100.7"), []string{"1 exact ipv4:198.51.100.7", "2 cidr cidr:198.51.100.0/24", "3 cidr cidr:198.51.0.0/16"}},
		{ob(intel.CIDR, "198.51.100.0/24"), []string{"2 exact cidr:198.51.100.0/24", "3 cidr cidr:198.51.0.0/16"}},
		{ob(intel.CIDR, "198.51.100.128/25"), []string{"2 cidr cidr:198.51.100.0/24", "3 cidr cidr:198.51.0.0/16"}},
		{ob(intel.CIDR, "::ffff:198.51.100.0/120"), []string{"2 exact cidr:198.51.100.0/24", "3 cidr cidr:198.51.0.0/16"}},
		{ob(intel.CIDR, "198.0.0.0/8"), nil},
		{ob(intel.IPv6, "2001:db8::1"), []string{"5 exact ipv6:2001:db8::1", "6 cidr cidr:2001:db8::/32"}},
		{ob(intel.IPv6, "2001:db8:1::"), []string{"6 cidr cidr:2001:db8::/32"}},
		{ob(intel.IPv6, "2001:db9::1"), nil},
		{ob(intel.Domain, "evil.com"), []string{"7 exact domain:evil.com"}},
		{ob(intel.Domain, "a.evil.com"), []string{"8 exact domain:a.evil.com", "7 parent-domain domain:evil.com"}},
		{ob(intel.Domain, "x.y.a.evil.com"), []string{"8 parent-domain domain:a.evil.com", "7 parent-domain domain:evil.com"}},
		{ob(intel.Domain, "notevil.com"), nil},
		{ob(intel.Domain, "com"), nil},
		// Parents stop at the registrable domain: blogspot.com is a public suffix.
		{ob(intel.Domain, "x.evil.blogspot.com"), []string{"10 parent-domain domain:evil.blogspot.com"}},
		{ob(intel.Domain, "good.blogspot.com"), nil},
		{ob(intel.Domain, "blogspot.com"), []string{"9 exact domain:blogspot.com"}},
		{ob(intel.Domain, "www.phish.co.uk"), []string{"21 parent-domain domain:phish.co.uk"}},
		{ob(intel.Domain, "other.co.uk"), nil},
		// A URL: itself, then its host and the host's parents.
		{ob(intel.URL, "https://evil.com/a.php"), []string{"11 exact url:https://evil.com/a.php", "7 parent-domain domain:evil.com"}},
		{ob(intel.URL, "http://user@www.a.evil.com:8080/x?q=1"), []string{"8 parent-domain domain:a.evil.com", "7 parent-domain domain:evil.com"}},
		{ob(intel.URL, "https://evil.blogspot.com/"), []string{"10 parent-domain domain:evil.blogspot.com"}},
		{ob(intel.URL, "http://198.51.100.7/x"), nil},
		{ob(intel.URL, "http://[2001:db8::1]/x"), nil},
		// An email address: itself, then its domain and the domain's parents.
		{ob(intel.Email, "bad@mail.example.org"), []string{"12 exact email:bad@mail.example.org", "22 parent-domain domain:mail.example.org"}},
		{ob(intel.Email, "ceo@x.mail.example.org"), []string{"22 parent-domain domain:mail.example.org"}},
		{ob(intel.Email, "ceo@example.org"), nil},
		{ob(intel.MD5, md5Hex), []string{"13 exact md5:" + md5Hex}},
		{ob(intel.MD5, strings.ToUpper(md5Hex)), []string{"13 exact md5:" + strings.ToUpper(md5Hex)}},
		{ob(intel.JA3, md5Hex), nil}, // same digits, other type
		{ob(intel.SHA1, sha1Hex), []string{"14 exact sha1:" + sha1Hex}},
		{ob(intel.SHA256, sha256Hex), []string{"15 exact sha256:" + sha256Hex}},
		{ob(intel.SHA256, sha256Hex[:63]+"0"), nil},
		{ob(intel.SHA512, sha512Hex), []string{"16 exact sha512:" + sha512Hex}},
		{ob(intel.SHA512, "00"+sha512Hex[2:]), nil},
		{ob(intel.JA3, "e7d705a3286e19ea42f587b344ee6865"), []string{"17 exact ja3:e7d705a3286e19ea42f587b344ee6865"}},
		{ob(intel.ASN, "AS64500"), []string{"18 exact asn:AS64500"}},
		{ob(intel.ASN, "AS64501"), nil},
		{ob(intel.CVE, "CVE-2024-3094"), []string{"19 exact cve:CVE-2024-3094"}},
		{ob(intel.Account, "administrator"), []string{"20 exact account:administrator"}},
		{ob(intel.Account, "admin"), nil},
		// Values that do not parse match nothing.
		{ob(intel.IPv4, "nope"), nil},
		{ob(intel.CIDR, "10.0.0.0/99"), nil},
		{ob(intel.SHA256, "zz"), nil},
		{ob(intel.MD5, strings.Repeat("g", 32)), nil},
		{ob(intel.URL, ""), nil},
		{ob(intel.Domain, ""), nil},
		{ob("bogus", "x"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.q.String(), func(t *testing.T) {
			got := show(s.Match(tc.q, nil))
			if tc.want == nil {
				tc.want = []string{}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Match(%s)\n got %q\nwant %q", tc.q, got, tc.want)
			}
		})
	}
}

// TestSnapshotCIDRLengths puts a network of every length around one address, v4 and v6, and
// expects all of them, longest first.
func TestSnapshotCIDRLengths(t *testing.T) {
	for _, addr := range []string{"203.0.113.77", "2001:db8:abcd:12::77"} {
		a := netip.MustParseAddr(addr)
		b := match.NewBuilder()
		for bits := 1; bits <= a.BitLen(); bits++ {
			o := ob(intel.CIDR, netip.PrefixFrom(a, bits).Masked().String())
			if bits == a.BitLen() {
				o = ob(intel.IPv4, addr)
				if a.Is6() {
					o.Type = intel.IPv6
				}
			}
			if err := b.Add(match.Entry{ID: int64(bits), Observable: o}); err != nil {
				t.Fatal(err)
			}
		}
		s := b.Build()
		got := s.MatchAddr(a, nil)
		if len(got) != a.BitLen() {
			t.Fatalf("%s: %d matches, want %d", addr, len(got), a.BitLen())
		}
		for i, m := range got {
			bits := a.BitLen() - i
			wantKind := match.MatchCIDR
			if bits == a.BitLen() {
				wantKind = match.MatchExact
			}
			if m.ID != int64(bits) || m.Kind != wantKind || m.Prefix.Bits() != bits {
				t.Errorf("%s: match %d = %+v, want id %d kind %s", addr, i, m, bits, wantKind)
			}
		}
		// A network looked up: itself and the shorter ones.
		q := netip.PrefixFrom(a, 20).Masked()
		if got := s.Match(ob(intel.CIDR, q.String()), nil); len(got) != 20 || got[0].Kind != match.MatchExact {
			t.Errorf("%s: %d matches (first %+v), want 20, the first exact", q, len(got), got[0])
		}
	}
}

func TestSnapshotMatchDoesNotAllocate(t *testing.T) {
	s := testSnapshot(t)
	dst := make([]match.Match, 0, 8)
	queries := []intel.Observable{
		ob(intel.IPv4, "192.0.2.1"), ob(intel.Domain, "x.y.a.evil.com"), ob(intel.SHA256, sha256Hex),
		ob(intel.URL, "https://evil.com/a.php"), ob(intel.Email, "bad@mail.example.org"), ob(intel.Domain, "miss.example.net"),
		ob(intel.IPv4, "198.51.100.7"), ob(intel.CIDR, "198.51.100.0/25"),
	}
	for _, q := range queries {
		if n := testing.AllocsPerRun(100, func() { dst = s.Match(q, dst[:0]) }); n != 0 {
			t.Errorf("Match(%s) allocates %v times", q, n)
		}
	}
}

func TestBuilderRejects(t *testing.T) {
	b := match.NewBuilder()
	bad := []match.Entry{
		{ID: 1, Observable: ob(intel.IPv4, "1.2.3")},
		{ID: 2, Observable: ob(intel.CIDR, "1.2.3.0/33")},
		{ID: 3, Observable: ob(intel.SHA256, "abc")},
		{ID: 4, Observable: ob(intel.SHA512, sha256Hex)},
		{ID: 5, Observable: ob(intel.Domain, "")},
		{ID: 6, Observable: ob("bogus", "x")},
		{ID: -1, Observable: ob(intel.Domain, "evil.com")},
	}
	for _, e := range bad {
		if err := b.Add(e); err == nil {
			t.Errorf("Add(%+v) succeeded", e)
		}
	}
	if err := b.Add(match.Entry{ID: 9, Observable: ob(intel.Domain, "evil.com")}); err != nil {
		t.Fatal(err)
	}
	st := b.Build().Stats()
	if st.Rejected != len(bad) || st.Indicators != 1 || st.ByType[intel.Domain] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSnapshotSharedKey(t *testing.T) {
	b := match.NewBuilder()
	for id := int64(1); id <= 3; id++ {
		for _, o := range []intel.Observable{ob(intel.IPv4, "192.0.2.1"), ob(intel.Domain, "evil.com"), ob(intel.SHA1, sha1Hex)} {
			if err := b.Add(match.Entry{ID: id, Observable: o}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := b.Build()
	for _, q := range []intel.Observable{ob(intel.IPv4, "192.0.2.1"), ob(intel.Domain, "evil.com"), ob(intel.SHA1, sha1Hex)} {
		if got := ids(s.Match(q, nil)); !slices.Equal(got, []int64{1, 2, 3}) {
			t.Errorf("Match(%s) ids %v, want [1 2 3]", q, got)
		}
	}
	// Removing the first keeps the others, before and after a fold.
	s2 := s.With(nil, []int64{1})
	s3 := foldSnapshot(s2)
	for _, sn := range []*match.Snapshot{s2, s3} {
		for _, q := range []intel.Observable{ob(intel.IPv4, "192.0.2.1"), ob(intel.Domain, "evil.com"), ob(intel.SHA1, sha1Hex)} {
			if got := ids(sn.Match(q, nil)); !slices.Equal(got, []int64{2, 3}) {
				t.Errorf("after removal Match(%s) ids %v, want [2 3]", q, got)
			}
		}
	}
}

func ids(ms []match.Match) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	slices.Sort(out)
	return out
}

// foldSnapshot forces a fold by adding enough filler entries (IDs from 1e9) to pass DeltaMin.
func foldSnapshot(s *match.Snapshot) *match.Snapshot {
	add := make([]match.Entry, match.DeltaMin)
	for i := range add {
		add[i] = match.Entry{ID: int64(1e9 + i), Observable: ob(intel.Account, fmt.Sprintf("filler%d", i))}
	}
	s = s.With(add, nil)
	if st := s.Stats(); st.Pending != 0 {
		panic(fmt.Sprintf("not folded: %+v", st))
	}
	return s
}

func TestSnapshotWith(t *testing.T) {
	base := testSnapshot(t)
	add := []match.Entry{
		{ID: 100, Observable: ob(intel.Domain, "new-evil.net")},
		{ID: 101, Observable: ob(intel.CIDR, "192.0.2.0/24")},
		{ID: 7, Observable: ob(intel.Domain, "evil.com"), Flags: match.FlagWarninglisted}, // flags changed
		{ID: 8, Observable: ob(intel.Domain, "b.evil.com")},                               // value changed
	}
	remove := []int64{2, 15, 11}
	s := base.With(add, remove)
	folded := foldSnapshot(s)
	tests := []struct {
		q    intel.Observable
		want []string
	}{
		{ob(intel.Domain, "x.new-evil.net"), []string{"100 parent-domain domain:new-evil.net"}},
		{ob(intel.IPv4, "192.0.2.9"), []string{"101 cidr cidr:192.0.2.0/24"}},
		{ob(intel.Domain, "evil.com"), []string{"7 exact domain:evil.com wl"}},
		{ob(intel.Domain, "x.a.evil.com"), []string{"7 parent-domain domain:evil.com wl"}},
		{ob(intel.Domain, "x.b.evil.com"), []string{"7 parent-domain domain:evil.com wl", "8 parent-domain domain:b.evil.com"}},
		{ob(intel.IPv4, "198.51.100.7"), []string{"1 exact ipv4:198.51.100.7", "3 cidr cidr:198.51.0.0/16"}},
		{ob(intel.SHA256, sha256Hex), nil},
		{ob(intel.URL, "https://evil.com/a.php"), []string{"7 parent-domain domain:evil.com wl"}},
		{ob(intel.ASN, "AS64500"), []string{"18 exact asn:AS64500"}},
	}
	for _, tc := range tests {
		for name, sn := range map[string]*match.Snapshot{"delta": s, "folded": folded} {
			got := show(sn.Match(tc.q, nil))
			slices.Sort(got)
			want := slices.Clone(tc.want)
			if want == nil {
				want = []string{}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: Match(%s)\n got %q\nwant %q", name, tc.q, got, want)
			}
		}
	}
	// The original is untouched.
	if got := show(base.Match(ob(intel.SHA256, sha256Hex), nil)); len(got) != 1 {
		t.Errorf("base changed: %q", got)
	}
	if got := show(base.Match(ob(intel.Domain, "x.new-evil.net"), nil)); len(got) != 0 {
		t.Errorf("base changed: %q", got)
	}
	st := folded.Stats()
	if want := len(testEntries) - 3 + 2 + match.DeltaMin; st.Indicators != want || st.Removed != 0 || st.Pending != 0 {
		t.Errorf("folded stats: %d indicators, %d removed, %d pending; want %d, 0, 0", st.Indicators, st.Removed, st.Pending, want)
	}
	if st.ByType[intel.CIDR] != 4 || st.ByType[intel.SHA256] != 0 || st.ByType[intel.Domain] != 7 {
		t.Errorf("folded counts by type: %v", st.ByType)
	}
}

func TestSnapshotWarninglistsAndAssets(t *testing.T) {
	ws, err := match.NewWarninglistSet(
		&match.Warninglist{Name: "cdn", Type: "cidr", Entries: []string{"198.51.100.0/24"}},
		&match.Warninglist{Name: "top", Type: "hostname", Entries: []string{"example.org"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	b := match.NewBuilder()
	b.SetWarninglists(ws)
	b.SetAssets(match.AssetValues([]intel.Asset{
		{ID: 1, Kind: "network", Values: []string{"192.0.2.0/24", "2001:db8::/48"}},
		{ID: 2, Kind: "host", Values: []string{"192.0.2.10", "web.corp.example"}},
		{ID: 3, Kind: "domain", Values: []string{"corp-example.com"}},
		{ID: 4, Kind: "person", Values: []string{"ceo@corp-example.com", "jdoe", "cpe:2.3:a:x:y:1"}},
	}))
	s := b.Build()
	if got := s.Warninglisted(ob(intel.IPv4, "198.51.100.1")); len(got) != 1 || got[0].List != "cdn" {
		t.Errorf("Warninglisted = %+v", got)
	}
	if got := s.Warninglisted(ob(intel.URL, "https://www.example.org/")); len(got) != 1 || got[0].List != "top" {
		t.Errorf("Warninglisted(url) = %+v", got)
	}
	if got := s.Warninglisted(ob(intel.IPv4, "192.0.2.1")); got != nil {
		t.Errorf("Warninglisted = %+v", got)
	}
	tests := []struct {
		q    intel.Observable
		want []string
	}{
		{ob(intel.IPv4, "192.0.2.10"), []string{"2 exact ipv4:192.0.2.10", "1 cidr cidr:192.0.2.0/24"}},
		{ob(intel.IPv6, "::ffff:192.0.2.99"), []string{"1 cidr cidr:192.0.2.0/24"}},
		{ob(intel.IPv6, "2001:db8::5"), []string{"1 cidr cidr:2001:db8::/48"}},
		{ob(intel.CIDR, "192.0.2.0/25"), []string{"1 cidr cidr:192.0.2.0/24"}},
		{ob(intel.Domain, "vpn.corp-example.com"), []string{"3 parent-domain domain:corp-example.com"}},
		{ob(intel.Domain, "corp-example.com"), []string{"3 exact domain:corp-example.com"}},
		{ob(intel.URL, "https://login.corp-example.com/x"), []string{"3 parent-domain domain:corp-example.com"}},
		{ob(intel.URL, "http://192.0.2.10/admin"), []string{"2 exact ipv4:192.0.2.10", "1 cidr cidr:192.0.2.0/24"}},
		{ob(intel.Email, "ceo@corp-example.com"), []string{"4 exact email:ceo@corp-example.com", "3 parent-domain domain:corp-example.com"}},
		{ob(intel.Account, "jdoe"), []string{"4 exact account:jdoe"}},
		{ob(intel.IPv4, "203.0.113.1"), []string{}},
		{ob(intel.Domain, "example.com"), []string{}},
	}
	for _, tc := range tests {
		var got []string
		for _, h := range s.Assets(tc.q, nil) {
			got = append(got, fmt.Sprintf("%d %s %s", h.ID, h.Kind, h.Observable))
		}
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Assets(%s)\n got %q\nwant %q", tc.q, got, tc.want)
		}
	}
	st := s.Stats()
	if st.Assets != 7 || st.WarninglistEntries != 2 {
		t.Errorf("stats %+v", st)
	}
	// Indicators change without losing the lists and assets; lists change alone.
	s2 := s.With([]match.Entry{{ID: 1, Observable: ob(intel.IPv4, "203.0.113.1")}}, nil).WithWarninglists(nil)
	if s2.Warninglisted(ob(intel.IPv4, "198.51.100.1")) != nil || len(s2.Assets(ob(intel.IPv4, "192.0.2.10"), nil)) != 2 {
		t.Error("WithWarninglists lost the assets or kept the lists")
	}
	if s.Warninglists() != ws {
		t.Error("original snapshot changed")
	}
}

// TestEngineConcurrentSwap runs readers against an engine while a writer updates and swaps it;
// run with -race. Every reader must always see the indicator that is in every snapshot.
func TestEngineConcurrentSwap(t *testing.T) {
	e := match.NewEngine(testSnapshot(t))
	var stop atomic.Bool
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []match.Match
			for !stop.Load() {
				dst = e.Match(ob(intel.Domain, "x.a.evil.com"), dst[:0])
				if len(dst) == 0 || dst[len(dst)-1].ID != 7 {
					t.Errorf("reader saw %v", show(dst))
					return
				}
				dst = e.Snapshot().MatchAddr(netip.MustParseAddr("198.51.100.7"), dst[:0])
				if len(dst) == 0 {
					t.Error("reader lost 198.51.100.7")
					return
				}
				lookups.Add(1)
			}
		}()
	}
	for i := 0; i < 300; i++ {
		id := int64(1000 + i)
		if i%50 == 49 {
			e.Swap(testSnapshot(t))
			continue
		}
		e.Update([]match.Entry{{ID: id, Observable: ob(intel.IPv4, fmt.Sprintf("203.0.%d.%d", i/256, i%256))}}, []int64{id - 1})
		if i%7 == 0 {
			foldSnapshot(e.Snapshot()) // concurrent folds off to the side
		}
	}
	stop.Store(true)
	wg.Wait()
	if lookups.Load() == 0 {
		t.Error("readers did not run")
	}
}

func TestMatchKindString(t *testing.T) {
	for k, want := range map[match.MatchKind]string{match.MatchExact: "exact", match.MatchCIDR: "cidr", match.MatchParentDomain: "parent-domain", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q", k, k.String())
		}
	}
}

func TestSnapshotStatsBeforeFold(t *testing.T) {
	base := testSnapshot(t)
	s := base.With([]match.Entry{{ID: 500, Observable: ob(intel.Domain, "added.example")}}, []int64{1, 2})
	st := s.Stats()
	if want := len(testEntries) + 1 - 2; st.Indicators != want || st.Pending != 1 || st.Removed != 3 {
		t.Errorf("stats %+v, want %d indicators, 1 pending, 3 tombstones", st, want)
	}
	if st.Bytes <= 0 {
		t.Errorf("no byte estimate: %+v", st)
	}
}
