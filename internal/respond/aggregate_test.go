package respond_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/respond"
)

func ent(v string, score int) respond.Entry {
	o, err := intel.Detect(v)
	if err != nil {
		panic(err)
	}
	return respond.Entry{Observable: o, Score: score, ID: int64(len(v)), Sources: []string{"s-" + v}}
}

func values(es []respond.Entry) string {
	var vs []string
	for _, e := range es {
		vs = append(vs, e.Observable.Value)
	}
	return strings.Join(vs, " ")
}

func TestAggregate(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []string
		want string // values, in output order
	}{
		{"adjacent pair", []string{"192.0.2.0", "192.0.2.1"}, "192.0.2.0/31"},
		{"not siblings", []string{"192.0.2.1", "192.0.2.2"}, "192.0.2.1 192.0.2.2"},
		{"four to /30", []string{"192.0.2.3", "192.0.2.1", "192.0.2.2", "192.0.2.0"}, "192.0.2.0/30"},
		{"hole kept out", []string{"192.0.2.0", "192.0.2.1", "192.0.2.3"}, "192.0.2.0/31 192.0.2.3"},
		{"contained", []string{"198.51.100.0/24", "198.51.100.7", "198.51.100.128/25"}, "198.51.100.0/24"},
		{"halves of networks", []string{"203.0.113.0/25", "203.0.113.128/25", "203.0.112.0/24"}, "203.0.112.0/23"},
		{"cascade", []string{"10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/25", "10.0.1.0/24"}, "10.0.0.0/23"},
		{"ipv6", []string{"2001:db8::", "2001:db8::1", "2001:db8:1::/48"}, "2001:db8::/127 2001:db8:1::/48"},
		{"families apart", []string{"0.0.0.0", "::1"}, "0.0.0.0 ::1"},
		{"others pass", []string{"evil.example.com", "192.0.2.0", "192.0.2.1"}, "192.0.2.0/31 evil.example.com"},
		{"one", []string{"192.0.2.9"}, "192.0.2.9"},
		{"none", nil, ""},
	} {
		var in []respond.Entry
		for _, v := range c.in {
			in = append(in, ent(v, 50))
		}
		if got := values(respond.Aggregate(in)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// A merged entry carries the best score, the most restrictive TLP, the widest times and every
// source; an entry that absorbed others keeps its identity.
func TestAggregateMerge(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b, c := ent("192.0.2.0", 40), ent("192.0.2.1", 90), ent("198.51.100.0/24", 30)
	a.TLP, b.TLP = intel.TLPClear, intel.TLPAmber
	a.FirstSeen, a.LastSeen, b.FirstSeen, b.LastSeen = t0, t0.Add(time.Hour), t0.Add(-time.Hour), t0
	b.ThreatType, b.Malware = "c2", "Pikabot"
	d := ent("198.51.100.9", 70)
	out := respond.Aggregate([]respond.Entry{a, b, c, d})
	if len(out) != 2 {
		t.Fatalf("%d entries: %q", len(out), values(out))
	}
	m := out[0]
	if m.Observable != (intel.Observable{Type: intel.CIDR, Value: "192.0.2.0/31"}) || m.ID != 0 || m.Score != 90 || m.TLP != intel.TLPAmber ||
		!m.FirstSeen.Equal(t0.Add(-time.Hour)) || !m.LastSeen.Equal(t0.Add(time.Hour)) || m.ThreatType != "c2" || m.Malware != "Pikabot" ||
		!slices.Equal(m.Sources, []string{"s-192.0.2.1", "s-192.0.2.0"}) {
		t.Errorf("merged %+v", m)
	}
	n := out[1]
	if n.Observable != c.Observable || n.ID != c.ID || n.Score != 70 || len(n.Sources) != 2 {
		t.Errorf("absorbing %+v", n)
	}
}

// Aggregation never covers an address no entry had, and covers every address one had.
func FuzzAggregate(f *testing.F) {
	f.Add([]byte{192, 0, 2, 0, 32, 192, 0, 2, 1, 32, 10, 0, 0, 0, 8})
	f.Add([]byte{1, 2, 3, 4, 30, 1, 2, 3, 5, 32, 1, 2, 3, 6, 31})
	f.Fuzz(func(t *testing.T, b []byte) {
		var in []respond.Entry
		var ps []netip.Prefix
		for ; len(b) >= 5 && len(in) < 64; b = b[5:] {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte(b[:4])), int(b[4]%33)).Masked()
			ps = append(ps, p)
			o := intel.Observable{Type: intel.CIDR, Value: p.String()}
			if p.IsSingleIP() {
				o = intel.Observable{Type: intel.IPv4, Value: p.Addr().String()}
			}
			in = append(in, respond.Entry{Observable: o, Score: int(b[4])})
		}
		out := respond.Aggregate(in)
		var got []netip.Prefix
		for _, e := range out {
			p, err := netip.ParsePrefix(e.Observable.Value)
			if err != nil {
				a := netip.MustParseAddr(e.Observable.Value)
				p = netip.PrefixFrom(a, 32)
			}
			got = append(got, p)
		}
		for i, p := range got {
			for j, q := range got {
				if i != j && p.Overlaps(q) {
					t.Fatalf("overlapping output %s %s", p, q)
				}
			}
		}
		if a, b := span(ps), span(got); !slices.Equal(a, b) {
			t.Fatalf("inputs cover %v, output %v", a, b)
		}
	})
}

// span returns the address ranges IPv4 prefixes cover, merged and sorted.
func span(ps []netip.Prefix) [][2]uint64 {
	var rs [][2]uint64
	for _, p := range ps {
		b := p.Masked().Addr().As4()
		lo := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		rs = append(rs, [2]uint64{lo, lo + 1<<(32-p.Bits()) - 1})
	}
	slices.SortFunc(rs, func(a, b [2]uint64) int { return int(int64(a[0]) - int64(b[0])) })
	var out [][2]uint64
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1]+1 {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}
